// Copies an agent's output stream (LogChunk responses) to stdout, for run and logs.
#pragma once

#include <optional>

#include "agentctl/connection.h"
#include "agentctl/outcome.h"

namespace agentos::ctl {

// Reads responses until the final one, writing each chunk's bytes to `out_fd` as it arrives.
// Returns the AgentExit if the stream carried one.
Outcome<std::optional<agentos::v1::AgentExit>> copy_agent_output(Connection& conn, int out_fd);

}  // namespace agentos::ctl
