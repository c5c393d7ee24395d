// Starting a sandbox: the daemon forks a monitor, the monitor clone3()s the sandbox into its
// cgroup and namespaces, and stays its parent to record the exit status, so the agent and its
// status outlive a daemon restart.
//
//   agentosd ──fork──▶ monitor (host, root) ──clone3──▶ sandbox init (pid 1) ──fork──▶ agent
#pragma once

#include <sys/types.h>

#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "sandbox/child_report.h"
#include "sandbox/launch_spec.h"

namespace agentos::sandbox {

struct Launched {
  pid_t monitor_pid = -1;
  UniqueFd monitor_pidfd;  // readable when the monitor exits, i.e. after the agent did
  pid_t init_pid = -1;  // host pid of the sandbox's pid 1
  UniqueFd broker_listener;  // the broker's socket, at the agent's kBrokerSocket
  std::vector<UniqueFd> gateway_listeners;  // with spec.gateway: inside the agent's netns
  int monitor_broker_fd = -1;  // the same sockets, as numbered in the monitor
  std::vector<int> monitor_listener_fds;
};

// A failed launch names the setup stage and errno; nothing of the agent keeps running.
struct LaunchFailure {
  Stage stage{};
  int err = 0;
  std::string detail;
  [[nodiscard]] std::string str() const;
};

// Blocks until the agent's first instruction is about to run (every layer in place) or setup
// failed. The caller owns the spec's fds and may close them once this returns.
[[nodiscard]] Result<Launched> launch(LaunchSpec& spec, LaunchFailure* failure);

// Decodes a wait status as recorded in spec.exit_path.
struct ExitStatus {
  int exit_code = 0;  // shell convention: 128+N when killed by signal N
  int signal = 0;
};
[[nodiscard]] ExitStatus decode_wait_status(int status);
[[nodiscard]] Result<ExitStatus> read_exit_file(const std::string& path);

}  // namespace agentos::sandbox
