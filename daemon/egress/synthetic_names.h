// The addresses the gateway's DNS stub hands an agent, one per granted name it asked about, from a
// block of its own loopback where the gateway accepts on every granted port. A connection's local
// address then says which name it was meant for, so clients that ignore HTTP(S)_PROXY (Node's
// fetch, Go programs with a custom transport, plain sockets) reach the gateway unchanged.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "egress/address.h"

namespace agentos::egress {

inline constexpr uint32_t kSyntheticNet = 0x7f4d0000;  // 127.77.0.0/16, host order
inline constexpr uint32_t kSyntheticMask = 0xffff0000;
inline constexpr size_t kMaxSyntheticNames = 4096;  // per agent; each holds a name of ≤ 253 bytes

class SyntheticNames {
 public:
  explicit SyntheticNames(size_t capacity = kMaxSyntheticNames) : capacity_(capacity) {}

  // The name's address, the same each time it is asked; nullopt once `capacity` names hold one.
  // `fresh` says whether this call gave it out.
  [[nodiscard]] std::optional<Address> address_for(const std::string& name, bool* fresh = nullptr);
  // The name an address was given out for, or null.
  [[nodiscard]] const std::string* name_at(const Address& address) const;
  // Whether the address lies in the block the stub gives out from.
  [[nodiscard]] static bool synthetic(const Address& address);

 private:
  size_t capacity_;
  std::map<std::string, uint32_t> by_name_;  // host order
  std::vector<std::string> names_;  // names_[i] holds kSyntheticNet + 1 + i
};

}  // namespace agentos::egress
