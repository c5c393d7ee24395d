// Changing a running agent's policy file on its owner's behalf (an "always" consent, a revoke):
// only a file in the policy directory, edited in place by text (policy/policy_edit.h), written
// atomically, reloaded, and applied to the running agents as `policy apply` would.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "server/agent_manager.h"
#include "server/policy_store.h"

namespace agentos {

using PolicyChange = std::function<Result<std::string>(std::string_view text, std::string_view path, std::string_view tool)>;

// What changed for running agents.
[[nodiscard]] Result<std::vector<v1::AgentChange>> edit_agent_policy(PolicyStore& store, AgentManager& agents,
                                                                     const AgentRecord& r, const PolicyChange& change,
                                                                     const std::string& tool);

}  // namespace agentos
