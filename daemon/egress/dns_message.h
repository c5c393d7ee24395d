// DNS messages as the gateway's stub resolver reads and writes them: one question in, an answer
// the gateway makes up itself out. The stub never forwards a query, so an agent has no raw DNS to
// the outside (no tunnelling data through query names to a server someone else runs).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace agentos::egress {

inline constexpr uint16_t kDnsTypeA = 1, kDnsTypeAAAA = 28, kDnsClassIn = 1;
inline constexpr uint8_t kDnsNoError = 0, kDnsFormErr = 1, kDnsServFail = 2, kDnsNxDomain = 3,
                         kDnsNotImp = 4, kDnsRefused = 5;
// Ample for a query of one name (255 bytes) and an EDNS record; anything longer is cut and refused.
inline constexpr size_t kMaxDnsQuery = 1024;

struct DnsQuery {
  enum class Status : uint8_t {
    kOk,
    kDrop,  // not a query (too short for a header, or a response): no reply at all
    kFormatError,  // a query header, but the rest is not one question
    kNotImplemented,  // an opcode other than QUERY
  };
  Status status = Status::kDrop;
  uint16_t id = 0;
  bool recursion_desired = false;
  std::string name;  // as c-ares reads it, lower-cased, no trailing dot ("" for the root)
  uint16_t type = 0;
  uint16_t klass = 0;
  std::string question;  // the question section as sent, echoed back in the reply
};

[[nodiscard]] DnsQuery parse_dns_query(std::span<const uint8_t> msg);

// The reply to `q`: `rcode`, and with `a` one A record for the question's name.
[[nodiscard]] std::string dns_reply(const DnsQuery& q, uint8_t rcode,
                                    std::optional<std::array<uint8_t, 4>> a = std::nullopt, uint32_t ttl = 0);

}  // namespace agentos::egress
