#include "egress/dns_message.h"

#include <ares.h>

#include <algorithm>
#include <cctype>

namespace agentos::egress {
namespace {

constexpr size_t kHeader = 12;

uint16_t u16(std::span<const uint8_t> m, size_t at) { return static_cast<uint16_t>(m[at] << 8 | m[at + 1]); }

void put16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xff));
}

}  // namespace

DnsQuery parse_dns_query(std::span<const uint8_t> msg) {
  DnsQuery q;
  if (msg.size() < kHeader || (msg[2] & 0x80)) return q;  // kDrop: never answer a response
  q.id = u16(msg, 0);
  q.recursion_desired = msg[2] & 0x01;
  if (((msg[2] >> 3) & 0x0f) != 0) {
    q.status = DnsQuery::Status::kNotImplemented;
    return q;
  }
  q.status = DnsQuery::Status::kFormatError;
  // One question, nothing answered or delegated; additional records (EDNS) are ignored.
  if (u16(msg, 4) != 1 || u16(msg, 6) != 0 || u16(msg, 8) != 0 || msg.size() > kMaxDnsQuery) return q;
  char* name = nullptr;
  long used = 0;
  if (ares_expand_name(msg.data() + kHeader, msg.data(), static_cast<int>(msg.size()), &name, &used) != ARES_SUCCESS)
    return q;
  q.name = name;
  ares_free_string(name);
  size_t end = kHeader + static_cast<size_t>(used);
  if (used <= 0 || end + 4 > msg.size()) return q;
  std::transform(q.name.begin(), q.name.end(), q.name.begin(), [](unsigned char c) { return std::tolower(c); });
  q.type = u16(msg, end);
  q.klass = u16(msg, end + 2);
  q.question.assign(reinterpret_cast<const char*>(msg.data()) + kHeader, end + 4 - kHeader);
  q.status = DnsQuery::Status::kOk;
  return q;
}

std::string dns_reply(const DnsQuery& q, uint8_t rcode, std::optional<std::array<uint8_t, 4>> a, uint32_t ttl) {
  bool echo = !q.question.empty();
  std::string out;
  put16(out, q.id);
  out.push_back(static_cast<char>(0x80 | (q.recursion_desired ? 0x01 : 0)));  // a response, opcode QUERY
  out.push_back(static_cast<char>(0x80 | (rcode & 0x0f)));  // recursion available
  put16(out, echo ? 1 : 0);
  put16(out, echo && a ? 1 : 0);
  put16(out, 0);
  put16(out, 0);
  if (!echo) return out;
  out += q.question;
  if (!a) return out;
  put16(out, 0xc000 | kHeader);  // the name: a pointer to the question's
  put16(out, kDnsTypeA);
  put16(out, kDnsClassIn);
  put16(out, static_cast<uint16_t>(ttl >> 16));
  put16(out, static_cast<uint16_t>(ttl & 0xffff));
  put16(out, 4);
  out.append(reinterpret_cast<const char*>(a->data()), 4);
  return out;
}

}  // namespace agentos::egress
