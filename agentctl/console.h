// The client's side of an agent's console (run attached, attach): the agent's stdout and stderr to
// ours, kept apart; with `interactive`, our stdin to its stdin, its end closing the agent's; with
// `terminal`, our terminal in raw mode (restored on every way out), its size followed (SIGWINCH),
// and the detach keys, Ctrl-P Ctrl-Q, leaving the agent running. Without a terminal, SIGINT,
// SIGTERM and SIGHUP sent to us are passed to the agent as signals.
#pragma once

#include <optional>

#include "agentctl/connection.h"
#include "agentctl/outcome.h"

namespace agentos::ctl {

struct ConsoleOptions {
  bool interactive = false;
  bool terminal = false;  // ours is put in raw mode: what we read is what the agent's terminal gets
};

struct ConsoleEnd {
  std::optional<agentos::v1::AgentExit> exit;  // the agent ended
  bool detached = false;  // we left it running (the detach keys, or another client took over)
};

// Runs until the stream ends; the connection has had its run or attach reply already.
Outcome<ConsoleEnd> run_console(Connection& conn, ConsoleOptions opts);

// The terminal's size, if fd is one.
[[nodiscard]] std::optional<agentos::v1::Winsize> terminal_size(int fd);

// Why standard input cannot be used as asked, or nothing: -t needs a terminal, and without -i
// (or -t) data piped in would be dropped, so a pipe or a file is a usage error.
[[nodiscard]] std::optional<std::string> stdin_misuse(bool interactive, bool terminal);

}  // namespace agentos::ctl
