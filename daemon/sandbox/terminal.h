// The agent's pseudo-terminal (agentctl run -t): a devpts instance of the sandbox's own, mounted
// at its /dev/pts, so neither a terminal of the host's nor another sandbox's is ever there, and one
// pair made in it. The monitor holds the master; the agent gets the slave as its controlling
// terminal.
#pragma once

#include <cstdint>

namespace agentos::sandbox {

// Child side, async-signal-safe, in the final root (after pivot_root): mounts the instance and
// opens a pair sized rows x cols. Returns 0 or an errno, with *what set.
int make_terminal(uint16_t rows, uint16_t cols, int* master, int* slave, const char** what);

// In the agent itself, after fork: a session of its own with `fd` (its slave) as the
// controlling terminal, so ^C, ^Z and ^\ reach its foreground process group.
int take_terminal(int fd);

}  // namespace agentos::sandbox
