// The broker: each agent's way to the platform's tools. Every agent gets a listening socket at
// /run/agentos/broker.sock in its own view; the daemon accepts on it, so the listener a connection
// came through is the caller's identity, and every message's sender is checked to be in that
// agent's cgroup (SCM_CREDENTIALS), so a connection passed to another process is useless to it.
//
// It speaks the Model Context Protocol (JSON-RPC 2.0, one message per line: initialize,
// tools/list, tools/call, ping), or, after a preface line, broker.proto (proto_session.h). Each call is decided against the agent's [tools] grants, counted
// against its quotas, waits for its owner's consent where the grant says `ask`, runs, and is
// recorded in the audit trail. What an agent can make the daemon hold is bounded per agent
// (Limits: connections, buffered bytes, time with part of a message, JSON depth); each limit it
// hits is reported once.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agentos.pb.h"
#include "broker/consent_view.h"
#include "broker/grants.h"
#include "broker/jsonrpc.h"
#include "broker/tool.h"
#include "common/bounded_json.h"
#include "common/event_loop.h"
#include "common/listeners.h"
#include "common/result.h"
#include "common/token_bucket.h"
#include "common/unique_fd.h"
#include "policy/policy.h"

namespace agentos::broker {

using Clock = std::chrono::steady_clock;

// One running agent, as the daemon describes it.
struct AgentInfo {
  Caller caller;
  std::string cgroup;  // as /proc/PID/cgroup names it ("/agentos/agents/<id>")
  std::optional<policy::Tools> tools;
};

// A call waiting for its owner's answer.
struct PendingCall {
  std::string id;  // what `agentctl approve ID` names
  std::string agent_id, agent_name;
  uid_t owner = 0;
  std::string tool;
  std::vector<ShownArgument> arguments;  // every one, as the owner is shown it (consent_view.h)
  std::string arguments_json;  // all of them, whole: exactly what the tool gets if approved
  uint64_t created_unix = 0;
  uint32_t timeout_s = 0;
};

enum class Scope { kOnce, kSession, kAlways };

// What one agent may hold of the daemon, and how deep its messages may nest (agentosd options).
struct Limits {
  size_t connections = 64;  // open at once (--broker-connections)
  // Bytes of its messages read but not yet whole, answers it has not read and detached results
  // it has not awaited, across its connections (--broker-buffer).
  size_t buffered = 8 << 20;
  std::chrono::seconds partial_timeout{30};  // part of a message held this long (--broker-partial-timeout)
  size_t json_depth = kJsonDepth;  // (--json-depth)
};

struct Hooks {
  // Every call and every refusal: agent, operation text, decision (allow, ask, deny).
  std::function<void(const Caller&, const std::string& operation, v1::Decision decision)> audit;
  std::function<void(const PendingCall&)> pending;  // a call now waits for consent
  // Writes an "always" answer into the agent's policy file.
  std::function<Status(const std::string& agent_id, const std::string& tool)> grant_always;
  // The agent hit one of its Limits: what happened, once per agent and limit.
  std::function<void(const Caller&, const std::string& what)> limit;
};

class Broker {
 public:
  static constexpr size_t kMaxLine = 1 << 20;  // one message, as read
  static constexpr size_t kMaxOutput = 4 << 20;  // answers a client has not read
  static constexpr int kBatch = 8;  // messages handled per wakeup of one connection: fairness

  Broker(EventLoop& loop, Listeners& listeners, std::vector<std::unique_ptr<Provider>> providers, Hooks hooks,
         Limits limits = {});
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  void attach(AgentInfo agent, UniqueFd listener);
  void update(const std::string& agent_id, std::optional<policy::Tools> tools);
  void detach(const std::string& agent_id);
  // Providers whose tools change (external MCP servers come and go) call this after a change.
  void refresh_tools();
  // The agent's grants and accounts as the broker holds them now (for providers).
  [[nodiscard]] std::optional<policy::Tools> tools_of(const std::string& agent_id) const;

  [[nodiscard]] std::vector<PendingCall> pending() const;
  // Approve or deny a waiting call. The caller's right to answer is checked by the API.
  [[nodiscard]] Status answer(const std::string& pending_id, bool approve, Scope scope, uid_t by);
  // Takes back a tool approved for the rest of a run ("session").
  void revoke(const std::string& agent_id, const std::string& tool);

  struct Quota {
    uint32_t calls_per_minute = 0;
    uint32_t concurrent = 0;
    TokenBucket rate;  // calls_per_minute, refilled continuously, a minute's worth saved up at most
    uint32_t in_flight = 0;
    uint64_t calls = 0, refused = 0;
  };
  [[nodiscard]] std::optional<Quota> quota(const std::string& agent_id) const;

 private:
  struct Agent;
  struct Conn;
  struct Waiting;

  enum LimitHit : unsigned { kConnectionsHit = 1, kBufferedHit = 2, kPartialHit = 4, kJsonHit = 8 };

  void accepted(const std::string& agent_id, UniqueFd fd);
  void report(const std::string& agent_id, LimitHit which, const std::string& what);
  [[nodiscard]] size_t buffered(const Agent& a) const;
  bool over_buffer(Conn& c);  // closes `c` when its agent holds more than its limit
  void close_partial(Clock::time_point now);  // every second
  void consent_timed_out(const std::string& call_id);
  void on_conn(int fd, uint32_t events);
  bool sender_allowed(Conn& c, pid_t pid);
  bool choose_protocol(Conn& c);
  bool has_message(Conn& c);
  std::optional<std::string> next_message(Conn& c);
  void handle(Conn& c, std::string_view line);
  void call_tool(Conn& c, const Json& id, const Json& params, Clock::time_point started);
  void finish_call(int fd, const Json& id, Agent& a, const std::string& tool, const Json& args, const std::string& how,
                   Clock::time_point started);
  void send(Conn& c, std::string line);  // a JSON-RPC line, in the connection's protocol
  void write_out(Conn& c, std::string bytes);
  void close_conn(int fd);
  [[nodiscard]] std::string describe_call(const std::string& tool, const Json& args) const;

  EventLoop& loop_;
  Listeners& listeners_;
  std::vector<std::unique_ptr<Provider>> providers_;
  std::map<std::string, Provider*> by_tool_;
  std::map<std::string, ArgRules> rules_;  // by tool
  std::vector<ToolSpec> specs_;
  Hooks hooks_;
  Limits limits_;
  std::map<std::string, std::unique_ptr<Agent>> agents_;
  std::map<int, std::unique_ptr<Conn>> conns_;
  std::map<std::string, std::unique_ptr<Waiting>> waiting_;
  EventLoop::Timer partial_sweep_;
};

}  // namespace agentos::broker
