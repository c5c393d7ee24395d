// The monitor's half of an agent's stdio: it reads what the agent writes (two pipes, or the
// master of the pseudo-terminal the sandbox made), appends it to the agent's log, and, while a
// client is attached, sends it over the console (console.h), stdout and stderr kept apart; what
// the client types goes the other way, to the agent's stdin pipe or terminal. A client slower
// than the agent slows the agent, as a terminal would; with none attached, the log takes it all.
#pragma once

#include <sys/types.h>

namespace agentos::sandbox {

struct RelayFds {
  int out = -1;  // stdout's pipe (read end), or the terminal's master
  int err = -1;  // stderr's pipe (read end); -1 with a terminal
  int in = -1;  // stdin's pipe (write end), or the terminal's master again; -1: stdin is /dev/null
  bool terminal = false;
  int console = -1;  // the monitor's end of the console
  int log = -1;  // the agent's log (O_APPEND)
  bool attached = false;  // a client waits for output from the first byte
};

// Runs until the sandbox's init (`child`) has exited and its output is drained; returns its wait
// status. `signals` is a signalfd for SIGCHLD, SIGTERM, SIGINT and SIGHUP: the last three are
// passed to the sandbox as SIGTERM (agentctl stop).
[[nodiscard]] int run_relay(pid_t child, int signals, RelayFds fds);

}  // namespace agentos::sandbox
