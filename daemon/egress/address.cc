#include "egress/address.h"

#include <arpa/inet.h>

#include <cstring>

namespace agentos::egress {
namespace {

constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

// Folds ::ffff:a.b.c.d into a.b.c.d, so a mapped address can never dodge an IPv4 verdict.
Address normalized(Address a) {
  if (a.family == AF_INET6 && std::memcmp(a.bytes.data(), kMapped, 12) == 0) {
    std::memmove(a.bytes.data(), a.bytes.data() + 12, 4);
    std::memset(a.bytes.data() + 4, 0, 12);
    a.family = AF_INET;
  }
  return a;
}

bool prefix_match(const uint8_t* a, const uint8_t* net, unsigned bits) {
  size_t whole = bits / 8;
  if (std::memcmp(a, net, whole) != 0) return false;
  unsigned rest = bits % 8;
  if (rest == 0) return true;
  auto mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return (a[whole] & mask) == (net[whole] & mask);
}

struct Range {
  uint8_t net[16];
  unsigned bits;
  Scope scope;
};

// The IANA special-purpose registries (RFC 6890 and later), less what is globally reachable
// (AS112, AMT): none of it is the public Internet a name may resolve into.
constexpr Range kV4[] = {
    {{0}, 8, Scope::kUnspecified},
    {{10}, 8, Scope::kPrivate},
    {{100, 64}, 10, Scope::kSharedNat},
    {{127}, 8, Scope::kLoopback},
    {{169, 254}, 16, Scope::kLinkLocal},
    {{172, 16}, 12, Scope::kPrivate},
    {{192, 0, 0}, 24, Scope::kReserved},  // IETF protocol assignments
    {{192, 0, 2}, 24, Scope::kDocumentation},  // TEST-NET-1
    {{192, 88, 99}, 24, Scope::kReserved},  // 6to4 relay anycast
    {{192, 168}, 16, Scope::kPrivate},
    {{198, 18}, 15, Scope::kReserved},  // benchmarking
    {{198, 51, 100}, 24, Scope::kDocumentation},  // TEST-NET-2
    {{203, 0, 113}, 24, Scope::kDocumentation},  // TEST-NET-3
    {{224}, 4, Scope::kMulticast},
    {{240}, 4, Scope::kReserved},
};
// Outside 2000::/3 everything is kReserved anyway (scope_of); these name what it is.
constexpr Range kV6[] = {
    {{0}, 128, Scope::kUnspecified},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, Scope::kLoopback},
    {{0}, 96, Scope::kReserved},  // IPv4-compatible (deprecated): ::a.b.c.d
    {{0, 0x64, 0xff, 0x9b}, 96, Scope::kReserved},  // NAT64
    {{0, 0x64, 0xff, 0x9b, 0, 1}, 48, Scope::kReserved},  // NAT64 for local use
    {{0x01}, 64, Scope::kReserved},  // discard-only
    {{0x20, 0x01}, 23, Scope::kReserved},  // IETF protocol assignments: Teredo (2001::/32), ...
    {{0x20, 0x01, 0x0d, 0xb8}, 32, Scope::kDocumentation},
    {{0x20, 0x02}, 16, Scope::kReserved},  // 6to4
    {{0x3f, 0xff}, 20, Scope::kDocumentation},
    {{0xfc}, 7, Scope::kUniqueLocal},
    {{0xfe, 0x80}, 10, Scope::kLinkLocal},
    {{0xfe, 0xc0}, 10, Scope::kReserved},  // site-local (deprecated)
    {{0xff}, 8, Scope::kMulticast},
};

}  // namespace

std::string Address::str() const {
  char buf[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(family, bytes.data(), buf, sizeof buf);
  return buf;
}

sockaddr_storage Address::sockaddr(uint16_t port, socklen_t* len) const {
  sockaddr_storage ss{};
  if (family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    std::memcpy(&a->sin_addr, bytes.data(), 4);
    *len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    std::memcpy(&a->sin6_addr, bytes.data(), 16);
    *len = sizeof *a;
  }
  return ss;
}

std::optional<Address> parse_address(std::string_view text) {
  if (text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  std::string z(text);
  Address a;
  if (::inet_pton(AF_INET, z.c_str(), a.bytes.data()) == 1) return a;
  a.family = AF_INET6;
  if (::inet_pton(AF_INET6, z.c_str(), a.bytes.data()) == 1) return normalized(a);
  return std::nullopt;
}

Address from_sockaddr(const struct sockaddr* sa) {
  Address a;
  if (sa->sa_family == AF_INET) {
    std::memcpy(a.bytes.data(), &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, 4);
  } else {
    a.family = AF_INET6;
    std::memcpy(a.bytes.data(), &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, 16);
  }
  return normalized(a);
}

std::optional<Endpoint> local_endpoint(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0 ||
      (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
    return std::nullopt;
  auto* sa = reinterpret_cast<const sockaddr*>(&ss);
  uint16_t port = ss.ss_family == AF_INET ? reinterpret_cast<const sockaddr_in*>(sa)->sin_port
                                          : reinterpret_cast<const sockaddr_in6*>(sa)->sin6_port;
  return Endpoint{from_sockaddr(sa), ntohs(port)};
}

Scope scope_of(const Address& in) {
  Address a = normalized(in);
  if (a.family == AF_INET) {
    if (a.bytes[0] == 255 && a.bytes[1] == 255 && a.bytes[2] == 255 && a.bytes[3] == 255) return Scope::kReserved;
    for (const Range& r : kV4)
      if (prefix_match(a.bytes.data(), r.net, r.bits)) return r.scope;
    return Scope::kPublic;
  }
  for (const Range& r : kV6)
    if (prefix_match(a.bytes.data(), r.net, r.bits)) return r.scope;
  // Only global unicast (2000::/3) is the public IPv6 Internet.
  return (a.bytes[0] & 0xE0) == 0x20 ? Scope::kPublic : Scope::kReserved;
}

const char* scope_name(Scope s) {
  switch (s) {
    case Scope::kPublic: return "public";
    case Scope::kUnspecified: return "unspecified";
    case Scope::kLoopback: return "loopback";
    case Scope::kPrivate: return "private (RFC 1918)";
    case Scope::kSharedNat: return "shared NAT (RFC 6598)";
    case Scope::kLinkLocal: return "link-local";
    case Scope::kUniqueLocal: return "unique local (fc00::/7)";
    case Scope::kMulticast: return "multicast";
    case Scope::kDocumentation: return "documentation";
    case Scope::kReserved: return "reserved";
  }
  return "?";
}

bool in_range(const Address& in, const policy::NetRule& range) {
  Address a = normalized(in);
  Address net;
  net.family = range.family;
  net.bytes = range.addr;
  net = normalized(net);  // a rule may be written as ::ffff:10.0.0.0/104
  unsigned bits = range.prefix_len;
  if (range.family == AF_INET6 && net.family == AF_INET) bits = bits >= 96 ? bits - 96 : 0;
  if (a.family != net.family) return false;
  return prefix_match(a.bytes.data(), net.bytes.data(), bits);
}

}  // namespace agentos::egress
