// Starting a delegate for the broker's agent.delegate: the delegator's [delegate] grants, the
// chain's depth and cycles, and the delegate's policy narrowed to the delegator's, then the launch.
#pragma once

#include <string>

#include "broker/tools/delegation.h"
#include "server/agent_manager.h"
#include "server/policy_store.h"

namespace agentos {

[[nodiscard]] Result<broker::Delegation::Started> start_delegate(AgentManager& agents, const PolicyStore& policies,
                                                                 const broker::Caller& by, const std::string& target,
                                                                 const std::string& task);

// The last `max` bytes of an agent's output.
[[nodiscard]] std::string output_tail(const std::string& log_path, size_t max);

}  // namespace agentos
