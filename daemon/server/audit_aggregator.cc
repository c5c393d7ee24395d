#include "server/audit_aggregator.h"

#include <algorithm>

namespace agentos {
namespace {

// Operations begin with what was attempted; the rest names its object.
std::string family_of(const std::string& operation) {
  size_t first = operation.find(' ');
  if (first == std::string::npos) return operation;
  return operation.substr(0, operation.find(' ', first + 1));
}

}  // namespace

std::optional<AuditAggregator::Refusal> AuditAggregator::add(const Refusal& r, Clock::time_point now) {
  Scope scope{r.agent_id, r.owner_uid, r.layer};
  if (auto it = open_.find(Key{scope, r.decision, false, r.operation}); it != open_.end()) {
    ++it->second.repeats;
    return std::nullopt;
  }
  std::string family = family_of(r.operation);
  auto& families = families_[scope];
  auto fam = families.find(family);
  bool fits = fam != families.end() ? fam->second < kKindsPerFamily : families.size() < kFamilies;
  if (fits) {
    ++families[family];
    open_.emplace(Key{scope, r.decision, false, r.operation}, Window{r, family, 0, now});
    return r;
  }
  Key fold{scope, r.decision, true, ""};
  if (auto it = open_.find(fold); it != open_.end()) {
    ++it->second.repeats;
    return std::nullopt;
  }
  Refusal first = r;
  first.operation += " [past the cap of kinds: the layer's other refusals in this window count as its repeats]";
  open_.emplace(fold, Window{first, "", 0, now});
  return first;
}

std::vector<AuditAggregator::Aggregate> AuditAggregator::close(Clock::time_point now) {
  std::vector<std::pair<Clock::time_point, Aggregate>> closed;
  for (auto it = open_.begin(); it != open_.end();) {
    Window& w = it->second;
    if (now != Clock::time_point::max() && now - w.opened < kWindow) {
      ++it;
      continue;
    }
    if (w.repeats) closed.push_back({w.opened, Aggregate{std::move(w.first), w.repeats}});
    if (!w.family.empty()) {
      const Scope& scope = std::get<0>(it->first);
      auto& families = families_[scope];
      if (--families[w.family] == 0) families.erase(w.family);
      if (families.empty()) families_.erase(scope);
    }
    it = open_.erase(it);
  }
  std::stable_sort(closed.begin(), closed.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<Aggregate> out;
  for (auto& [_, a] : closed) out.push_back(std::move(a));
  return out;
}

}  // namespace agentos
