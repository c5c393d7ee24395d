#include "egress/socks5.h"

#include <arpa/inet.h>

namespace agentos::egress {

SocksGreeting parse_socks_greeting(std::span<const uint8_t> d) {
  if (d.empty()) return {};
  if (d[0] != kSocksVersion) return {SocksStatus::kBad, 0, false};
  if (d.size() < 2) return {};
  size_t n = d[1];
  if (n == 0) return {SocksStatus::kBad, 0, false};
  if (d.size() < 2 + n) return {};
  bool no_auth = false;
  for (size_t i = 0; i < n; ++i) no_auth = no_auth || d[2 + i] == 0;
  return {SocksStatus::kDone, 2 + n, no_auth};
}

SocksRequest parse_socks_request(std::span<const uint8_t> d) {
  SocksRequest r;
  if (d.size() < 4) return r;
  if (d[0] != kSocksVersion || d[2] != 0) return {SocksStatus::kBad, 0, "", 0, kSocksFailure};
  if (d[1] != 1) return {SocksStatus::kBad, 0, "", 0, kSocksCommandUnsupported};  // BIND, UDP ASSOCIATE
  size_t addr_len = 0, at = 4;
  switch (d[3]) {
    case 1: addr_len = 4; break;
    case 4: addr_len = 16; break;
    case 3:
      if (d.size() < 5) return r;
      addr_len = d[4];
      at = 5;
      if (addr_len == 0) return {SocksStatus::kBad, 0, "", 0, kSocksAddressUnsupported};
      break;
    default: return {SocksStatus::kBad, 0, "", 0, kSocksAddressUnsupported};
  }
  if (d.size() < at + addr_len + 2) return r;
  if (d[3] == 3) {
    r.host.assign(reinterpret_cast<const char*>(&d[at]), addr_len);
  } else {
    char buf[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(d[3] == 1 ? AF_INET : AF_INET6, &d[at], buf, sizeof buf);
    r.host = buf;
  }
  r.port = static_cast<uint16_t>(d[at + addr_len] << 8 | d[at + addr_len + 1]);
  r.used = at + addr_len + 2;
  r.status = SocksStatus::kDone;
  return r;
}

std::array<uint8_t, 10> socks_reply(SocksReply code) { return {kSocksVersion, code, 0, 1, 0, 0, 0, 0, 0, 0}; }

}  // namespace agentos::egress
