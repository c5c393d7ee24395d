// The addresses of the machine the gateway runs on, every interface and both families: a granted
// name that resolves to one of them would reach the host's own services (anything bound to
// 0.0.0.0 or ::), whatever scope the address has. Read with getifaddrs, and read again after the
// kernel announces a change (RTM_NEWADDR, RTM_DELADDR on a netlink socket). That socket is drained
// before each answer, so an address added a moment ago is already counted.
#pragma once

#include <optional>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "egress/address.h"

namespace agentos::egress {

class HostAddresses {
 public:
  // Fails only if the addresses cannot be read at all. Without the change notices (a kernel that
  // refuses the subscription) every answer reads them afresh.
  [[nodiscard]] static Result<HostAddresses> open();

  // Whether `a` is one of the host's addresses now; nullopt when they cannot be read, which the
  // caller treats as "it may be" (fail closed).
  [[nodiscard]] std::optional<bool> holds(const Address& a);

 private:
  HostAddresses() = default;
  void drain();
  [[nodiscard]] Status refresh();

  UniqueFd changes_;
  std::vector<Address> addresses_;
  bool stale_ = true;
};

}  // namespace agentos::egress
