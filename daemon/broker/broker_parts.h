// What the broker's files share (broker.h): its per-agent, per-connection and per-waiting-call
// state, and small helpers. Not for use outside daemon/broker.
#pragma once

#include <chrono>
#include <fstream>
#include <memory>
#include <set>
#include <string>

#include "broker/broker.h"
#include "broker/proto_session.h"

namespace agentos::broker {
namespace detail {

// What the audit trail keeps of a call's arguments: enough to match two calls, nothing to read.
inline std::string digest(const Json& args) {
  return sha256_hex(args.dump(-1, ' ', false, Json::error_handler_t::replace)).substr(0, 16);
}

inline Json tool_content(const ToolResult& r) {
  return Json{{"content", Json::array({{{"type", "text"}, {"text", r.value.dump(-1, ' ', false, Json::error_handler_t::replace)}}})},
              {"structuredContent", r.value},
              {"isError", r.error}};
}

inline Json refusal(const std::string& why) {
  return Json{{"content", Json::array({{{"type", "text"}, {"text", "agentos: " + why}}})}, {"isError", true}};
}

// The process's cgroup v2 path, as /proc/PID/cgroup gives it in our cgroup namespace.
inline std::string cgroup_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("0::")) return line.substr(3);
  return "";
}

inline long long us_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t).count();
}

}  // namespace detail

struct Broker::Agent {
  AgentInfo info;
  UniqueFd listener;
  std::set<std::string> approved;  // "session" answers, for this run
  Quota quota;
  std::set<int> conns;
  unsigned reported = 0;  // LimitHit bits: each limit is reported once per run
};

struct Broker::Conn {
  UniqueFd fd;
  uint64_t serial = 0;
  std::string agent_id;
  pid_t peer = 0;  // who connected (SO_PEERCRED)
  std::set<pid_t> verified;  // senders seen in the agent's cgroup
  std::string in, out;
  Clock::time_point partial_since;  // when `in` last began a message
  bool closing = false;  // close once `out` is sent
  bool scheduled = false;  // more lines wait in `in`: handled after other connections' turn
  bool protocol_chosen = false;
  std::unique_ptr<ProtoSession> proto;  // set when the connection speaks broker.proto
  uint32_t events = 0;
  EventLoop::Watch watch;
};

struct Broker::Waiting {
  PendingCall call;
  int fd = -1;
  uint64_t serial = 0;
  Json request_id;
  Json args;
  Clock::time_point started;
  EventLoop::Timer deadline;  // tools.consent_timeout
};

}  // namespace agentos::broker
