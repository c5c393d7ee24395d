// libFuzzer entry: one UDP datagram an agent sends to the gateway's DNS stub, read and answered as
// dns_stub.cc does. Checked: the answer is a response to that query (its id, and its question
// echoed whole).
#include <algorithm>
#include <cstdint>

#include "egress/decision.h"
#include "egress/dns_message.h"
#include "egress/fuzz_egress.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agentos::egress;
  // The stub reads at most one byte more than a query may hold; longer ones arrive cut.
  DnsQuery q = parse_dns_query({data, std::min(size, kMaxDnsQuery + 1)});
  if (q.status == DnsQuery::Status::kDrop) return 0;
  auto host = parse_host(q.name);
  bool granted = q.status == DnsQuery::Status::kOk && host && !host->literal && name_granted(fuzz_egress(), host->name);
  std::string reply = dns_reply(q, granted ? kDnsNoError : kDnsNxDomain,
                                granted ? std::optional<std::array<uint8_t, 4>>({127, 77, 0, 1}) : std::nullopt, 60);
  if (reply.size() < 12 + q.question.size() || (reply[0] & 0xff) != q.id >> 8 || (reply[1] & 0xff) != (q.id & 0xff) ||
      !(reply[2] & 0x80) || reply.compare(12, q.question.size(), q.question) != 0)
    __builtin_trap();
  return 0;
}
