// IP addresses as the gateway judges them: which ranges are not the public Internet, and whether
// a policy's address range holds one. An IPv4-mapped IPv6 address is judged as its IPv4 form.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "policy/policy.h"

namespace agentos::egress {

struct Address {
  int family = AF_INET;  // AF_INET or AF_INET6; never a v4-mapped AF_INET6
  std::array<uint8_t, 16> bytes{};  // network order; the first 4 for AF_INET

  [[nodiscard]] std::string str() const;  // "10.0.0.1", "2001:db8::1"
  [[nodiscard]] sockaddr_storage sockaddr(uint16_t port, socklen_t* len) const;
  bool operator==(const Address&) const = default;
};

// "10.0.0.1", "2001:db8::1", "::ffff:10.0.0.1" (becomes 10.0.0.1); nullopt if not an address.
[[nodiscard]] std::optional<Address> parse_address(std::string_view text);
[[nodiscard]] Address from_sockaddr(const sockaddr* sa);

// Where a socket is bound (getsockname): nullopt if that fails.
struct Endpoint {
  Address address;
  uint16_t port = 0;
};
[[nodiscard]] std::optional<Endpoint> local_endpoint(int fd);

// Where an address lies, for the rule that a granted name must resolve to the public Internet
// unless the range it resolves to is granted too (DNS rebinding, cloud metadata services).
enum class Scope : uint8_t {
  kPublic,
  kUnspecified,  // 0.0.0.0/8, ::
  kLoopback,  // 127.0.0.0/8, ::1
  kPrivate,  // RFC 1918: 10/8, 172.16/12, 192.168/16
  kSharedNat,  // 100.64.0.0/10 (carrier-grade NAT)
  kLinkLocal,  // 169.254.0.0/16 (metadata services among them), fe80::/10
  kUniqueLocal,  // fc00::/7
  kMulticast,  // 224.0.0.0/4, ff00::/8
  kDocumentation,  // 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32, 3fff::/20
  kReserved,  // 240.0.0.0/4 with broadcast; 192.0.0.0/24; 198.18.0.0/15; 192.88.99.0/24; IPv6
              // outside 2000::/3 (::/96 IPv4-compatible, 100::/64 discard, fec0::/10 site-local);
              // 2001::/23 (IETF protocols, Teredo among them); NAT64 and other translations of
              // IPv4 (64:ff9b::/96, 64:ff9b:1::/48, 2002::/16) whose IPv4 part is not judged
};
[[nodiscard]] Scope scope_of(const Address& a);
[[nodiscard]] const char* scope_name(Scope s);

// Whether `a` lies in the rule's range (its family, prefix; port and proto are not looked at).
[[nodiscard]] bool in_range(const Address& a, const policy::NetRule& range);

}  // namespace agentos::egress
