// Whether an agent may call a tool with these arguments: granted outright, granted after its
// owner's consent, or refused, with the reason. Pure: the broker applies the answer.
#pragma once

#include <optional>
#include <set>
#include <string>

#include "broker/arguments.h"
#include "broker/jsonrpc.h"
#include "policy/policy.h"

namespace agentos::broker {

enum class Verdict { kAllow, kAsk, kDeny };

struct Decision {
  Verdict verdict = Verdict::kDeny;
  std::string grant;  // the grant that decided ("kv", "email.send"), if any
  std::string reason;  // for kDeny
};

// `approved`: tools the owner allowed for this run of the agent ("session" answers). `args` are
// canonical (arguments.h); `rules` say which of them are URLs, matched part by part.
[[nodiscard]] Decision decide(const std::optional<policy::Tools>& tools, const std::set<std::string>& approved,
                              const std::string& tool, const Json& args, const ArgRules& rules);

// Whether each constrained argument is given and every value of it matches one of its patterns;
// the reason if not. A value is a string, or a non-empty flat list of strings.
[[nodiscard]] std::optional<std::string> violates(const std::vector<policy::ToolConstraint>& constraints, const Json& args,
                                                  const ArgRules& rules);

}  // namespace agentos::broker
