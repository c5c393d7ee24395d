// find_duplicate_names: agent names are unique across the policy directory, since each names a
// cgroup, a state directory and the agent in every command.
#include <map>

#include "policy/policy.h"
#include "policy/quote.h"

namespace agentos::policy {

std::vector<Diagnostic> find_duplicate_names(const std::vector<Policy>& policies) {
  std::vector<Diagnostic> out;
  std::map<std::string_view, const Location*> first;
  for (const Policy& p : policies) {
    auto [it, inserted] = first.emplace(p.name, &p.name_location);
    if (inserted) continue;
    const Location& at = *it->second;
    out.push_back({p.name_location,
                   "duplicate agent name " + quote_text(p.name) + " (first defined at " + at.file +
                       ":" + std::to_string(at.line) + ":" + std::to_string(at.column) + ")"});
  }
  return out;
}

}  // namespace agentos::policy
