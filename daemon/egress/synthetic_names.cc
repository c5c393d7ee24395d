#include "egress/synthetic_names.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace agentos::egress {
namespace {

Address ipv4(uint32_t host_order) {
  Address a;
  uint32_t net = htonl(host_order);
  std::memcpy(a.bytes.data(), &net, 4);
  return a;
}

uint32_t host_order(const Address& a) {
  uint32_t net;
  std::memcpy(&net, a.bytes.data(), 4);
  return ntohl(net);
}

}  // namespace

std::optional<Address> SyntheticNames::address_for(const std::string& name, bool* fresh) {
  if (fresh) *fresh = false;
  if (auto it = by_name_.find(name); it != by_name_.end()) return ipv4(it->second);
  // .0 and .255.255 of the block stay unused.
  if (names_.size() >= std::min<size_t>(capacity_, ~kSyntheticMask - 1)) return std::nullopt;
  auto address = kSyntheticNet + 1 + static_cast<uint32_t>(names_.size());
  names_.push_back(name);
  by_name_.emplace(name, address);
  if (fresh) *fresh = true;
  return ipv4(address);
}

const std::string* SyntheticNames::name_at(const Address& a) const {
  if (!synthetic(a)) return nullptr;
  uint32_t i = (host_order(a) & ~kSyntheticMask) - 1;  // .0 wraps to a huge index
  return i < names_.size() ? &names_[i] : nullptr;
}

bool SyntheticNames::synthetic(const Address& a) {
  return a.family == AF_INET && (host_order(a) & kSyntheticMask) == kSyntheticNet;
}

}  // namespace agentos::egress
