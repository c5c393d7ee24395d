// SOCKS5 (RFC 1928), the CONNECT command only, without authentication: the agent's identity is
// the listener it reached, never anything it says.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace agentos::egress {

inline constexpr uint8_t kSocksVersion = 5;

enum class SocksStatus : uint8_t { kNeedMore, kBad, kDone };

// The greeting: version, then the methods offered. Done only if "no authentication" is one.
struct SocksGreeting {
  SocksStatus status = SocksStatus::kNeedMore;
  size_t used = 0;  // bytes consumed when kDone
  bool no_auth = false;
};
[[nodiscard]] SocksGreeting parse_socks_greeting(std::span<const uint8_t> data);

// Reply codes (RFC 1928 section 6).
enum SocksReply : uint8_t {
  kSocksOk = 0,
  kSocksFailure = 1,
  kSocksNotAllowed = 2,
  kSocksHostUnreachable = 4,
  kSocksRefused = 5,
  kSocksCommandUnsupported = 7,
  kSocksAddressUnsupported = 8,
};

// The request. With kBad, `reply` says which error to send before closing.
struct SocksRequest {
  SocksStatus status = SocksStatus::kNeedMore;
  size_t used = 0;
  std::string host;  // a domain name as sent, or an address in text form
  uint16_t port = 0;
  SocksReply reply = kSocksFailure;
};
[[nodiscard]] SocksRequest parse_socks_request(std::span<const uint8_t> data);

// A reply with an unspecified bound address (the agent has no use for the gateway's).
[[nodiscard]] std::array<uint8_t, 10> socks_reply(SocksReply code);

}  // namespace agentos::egress
