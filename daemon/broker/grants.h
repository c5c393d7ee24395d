// Whether an agent may call a tool with these arguments: granted outright, granted after its
// owner's consent, or refused, with the reason. Pure: the broker applies the answer.
#pragma once

#include <optional>
#include <set>
#include <string>

#include "broker/jsonrpc.h"
#include "policy/policy.h"

namespace agentos::broker {

enum class Verdict { kAllow, kAsk, kDeny };

struct Decision {
  Verdict verdict = Verdict::kDeny;
  std::string grant;  // the grant that decided ("kv", "email.send"), if any
  std::string reason;  // for kDeny
};

// `approved`: tools the owner allowed for this run of the agent ("session" answers).
[[nodiscard]] Decision decide(const std::optional<policy::Tools>& tools, const std::set<std::string>& approved,
                              const std::string& tool, const Json& args);

// Whether every value of each constrained argument matches one of its patterns; the reason if not.
[[nodiscard]] std::optional<std::string> violates(const std::vector<policy::ToolConstraint>& constraints, const Json& args);

}  // namespace agentos::broker
