// An AgentChange (agentos.proto) as the line a person reads, in agentctl and in the daemon's log:
// "agent coder (a1b2c3): file grants replaced".
#pragma once

#include <string>

#include "agentos.pb.h"

namespace agentos {

[[nodiscard]] std::string agent_change_text(const v1::AgentChange& c);

// One change of a running agent's part, as the services report it.
[[nodiscard]] v1::AgentChange agent_change(const std::string& agent_id, const std::string& agent_name,
                                           v1::AgentChange::Part part, v1::AgentChange::Outcome outcome,
                                           const std::string& detail = "");

}  // namespace agentos
