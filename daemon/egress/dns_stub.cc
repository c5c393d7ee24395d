#include "egress/dns_stub.h"

#include <sys/socket.h>

#include <algorithm>

#include "egress/decision.h"
#include "egress/dns_message.h"
#include "egress/gateway.h"

namespace agentos::egress {
namespace {

// A synthetic address is good for as long as the gateway runs; a short TTL limits what a cache
// holds across a gateway restart, which forgets them.
constexpr uint32_t kTtl = 60;
constexpr int kQueriesPerTurn = 64;

std::string type_name(uint16_t type) {
  switch (type) {
    case kDnsTypeA: return "A";
    case kDnsTypeAAAA: return "AAAA";
    default: return "type " + std::to_string(type);
  }
}

void record(Gateway& gw, const AgentEgress& agent, const std::string& name, const std::string& address,
            const std::string& reason) {
  gateway::Record r;
  r.set_agent_id(agent.id);
  r.set_protocol(gateway::PROTOCOL_DNS);
  r.set_host(name.substr(0, 255));
  r.set_address(address);
  r.set_allowed(reason.empty());
  r.set_reason(reason);
  gw.record(r);
}

std::string answer(Gateway& gw, AgentEgress& agent, const DnsQuery& q) {
  switch (q.status) {
    case DnsQuery::Status::kDrop: return {};
    case DnsQuery::Status::kFormatError: return dns_reply(q, kDnsFormErr);
    case DnsQuery::Status::kNotImplemented: return dns_reply(q, kDnsNotImp);
    case DnsQuery::Status::kOk: break;
  }
  auto host = parse_host(q.name);
  if (!host || host->literal || !name_granted(agent.rules, host->name)) {
    record(gw, agent, q.name, "", "no [egress] grant names it (" + type_name(q.type) + " query)");
    return dns_reply(q, kDnsNxDomain);
  }
  // A granted name has an IPv4 address and nothing else: an AAAA (or any other) query gets an
  // empty answer, and clients fall back to the A record.
  if (q.klass != kDnsClassIn || q.type != kDnsTypeA) return dns_reply(q, kDnsNoError);
  bool fresh = false;
  auto address = agent.names.address_for(host->name, &fresh);
  if (!address) {
    record(gw, agent, host->name, "", "the agent has asked for " + std::to_string(kMaxSyntheticNames) + " names already");
    return dns_reply(q, kDnsServFail);
  }
  if (fresh) record(gw, agent, host->name, address->str(), "");  // the first answer is the decision; later ones repeat it
  std::array<uint8_t, 4> v4;
  std::copy_n(address->bytes.begin(), 4, v4.begin());
  return dns_reply(q, kDnsNoError, v4, kTtl);
}

}  // namespace

void answer_dns(Gateway& gw, AgentEgress& agent, int fd) {
  for (int i = 0; i < kQueriesPerTurn; ++i) {
    uint8_t buf[kMaxDnsQuery + 1];
    sockaddr_storage from{};
    socklen_t len = sizeof from;
    ssize_t n = ::recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return;
    std::string reply = answer(gw, agent, parse_dns_query({buf, static_cast<size_t>(n)}));
    if (!reply.empty())
      (void)::sendto(fd, reply.data(), reply.size(), MSG_DONTWAIT | MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&from), len);
  }
}

}  // namespace agentos::egress
