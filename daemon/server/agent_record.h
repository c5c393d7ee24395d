// What the daemon knows about one agent, kept as <runtime>/agents/<id>.json so that a restarted
// daemon finds its agents again.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agentos.pb.h"
#include "common/result.h"
#include "policy/policy.h"
#include "sandbox/cgroup.h"

namespace agentos {

enum class AgentState { kRunning, kExited, kLost };

struct AgentRecord {
  std::string id;
  std::string name;
  uid_t owner_uid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary, as the agent holds them
  std::vector<std::string> command;
  std::string policy_path;
  // Started by name from the daemon's policy directory (or as a [serve] server): only then is
  // policy_path the daemon's own file, which consent ("always") and revoke may edit. A policy a
  // client sent names whatever path the client claimed.
  bool from_policy_dir = false;
  std::string policy_text;
  pid_t monitor_pid = -1;
  uint64_t monitor_start = 0;  // start time in clock ticks, to tell a reused pid apart
  pid_t init_pid = -1;
  std::string cgroup;
  uint64_t cgroup_id = 0;
  bool host_network = false;  // governed by the socket hooks while it runs
  std::string log_path;
  uint64_t started_unix = 0;
  uint64_t ended_unix = 0;  // when it exited, failed or was lost; 0 while it runs
  AgentState state = AgentState::kRunning;
  int exit_code = 0;
  int signal = 0;
  std::string reason;
  v1::AgentInfo::End ended = v1::AgentInfo::END_UNSPECIFIED;
  std::vector<sandbox::LimitState> limits;
  std::vector<std::string> namespaces;  // "user:[4026532301]", ...
  bool stop_requested = false;
  // The egress gateway's listening sockets, as descriptor numbers in the monitor, which holds
  // them while the agent runs: a restarted daemon takes copies (pidfd_getfd).
  std::vector<int> gateway_fds;
  int broker_fd = -1;  // the broker's listening socket, likewise
  int console_fd = -1;  // the daemon's end of the agent's console, likewise
  bool terminal = false;  // its stdio is its sandbox's own terminal (run -t)
  bool interactive = false;  // its stdin is the console's
  // A delegate's: its delegators' policies (outermost first), which its own is narrowed to; the
  // chain's agent names; the trace id every agent in the chain shares; the agent that asked.
  std::vector<std::string> delegator_policies;
  std::vector<std::string> chain;
  std::string trace;
  std::string delegated_by;
};

// The policy an agent runs under: its own, narrowed to its delegators' if it is a delegate.
[[nodiscard]] Result<policy::Policy> policy_of(const AgentRecord& r);

[[nodiscard]] std::string to_json(const AgentRecord& r);
[[nodiscard]] Result<AgentRecord> record_from_json(const std::string& text);

// Field 22 of /proc/PID/stat, or nothing if the process is gone.
[[nodiscard]] std::optional<uint64_t> process_start_time(pid_t pid);

}  // namespace agentos
