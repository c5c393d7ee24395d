#include "egress/synthetic_names.h"

#include <algorithm>

namespace agentos::egress {

std::optional<uint32_t> SyntheticNames::address_for(const std::string& name, bool* fresh) {
  if (fresh) *fresh = false;
  if (auto it = by_name_.find(name); it != by_name_.end()) return it->second;
  // .0 and .255.255 of the block stay unused.
  if (names_.size() >= std::min<size_t>(capacity_, ~kSyntheticMask - 1)) return std::nullopt;
  auto address = kSyntheticNet + 1 + static_cast<uint32_t>(names_.size());
  names_.push_back(name);
  by_name_.emplace(name, address);
  if (fresh) *fresh = true;
  return address;
}

const std::string* SyntheticNames::name_at(uint32_t address) const {
  if ((address & kSyntheticMask) != kSyntheticNet) return nullptr;
  uint32_t i = (address & ~kSyntheticMask) - 1;  // .0 wraps to a huge index
  return i < names_.size() ? &names_[i] : nullptr;
}

}  // namespace agentos::egress
