#include "egress/egress_wire.h"

#include <cstring>

#include "policy/egress_rule.h"

namespace agentos::egress {

void put_grants(const policy::Egress& e, gateway::Agent& out) {
  for (const auto& g : e.allow) {
    gateway::Grant* w = out.add_allow();
    w->set_name(g.name);
    w->set_subdomains(g.subdomains);
    w->set_port(g.port);
    if (g.range) {
      w->set_family(static_cast<uint32_t>(g.range->family));
      w->set_address(std::string(reinterpret_cast<const char*>(g.range->addr.data()), g.range->addr.size()));
      w->set_prefix_len(g.range->prefix_len);
    }
  }
  out.set_max_connections(e.max_connections);
  out.set_bandwidth(e.bandwidth.value_or(0));
}

void put_route(const policy::EgressRoute& r, gateway::Agent& out) {
  gateway::Route* w = out.add_routes();
  w->set_path(r.path);
  w->set_tls(r.tls);
  w->set_host(r.host);
  w->set_port(r.port);
  w->set_base_path(r.base_path);
  for (const auto& [name, value] : r.headers) {
    gateway::Header* h = w->add_headers();
    h->set_name(name);
    h->set_value(value);
  }
}

policy::Egress rules_of(const gateway::Agent& a, const SecretValue& secret) {
  policy::Egress e;
  for (const auto& g : a.allow()) {
    policy::EgressGrant out;
    out.name = g.name();
    out.subdomains = g.subdomains();
    out.port = static_cast<uint16_t>(g.port());
    if (g.name().empty() && g.address().size() == 16) {
      policy::NetRule r;
      r.family = static_cast<int>(g.family());
      std::memcpy(r.addr.data(), g.address().data(), 16);
      r.prefix_len = static_cast<uint8_t>(g.prefix_len());
      r.port = out.port;
      out.range = r;
    }
    e.allow.push_back(std::move(out));
  }
  for (const auto& r : a.routes()) {
    policy::EgressRoute out;
    out.path = r.path();
    out.tls = r.tls();
    out.host = r.host();
    out.port = static_cast<uint16_t>(r.port());
    out.base_path = r.base_path();
    bool complete = true;
    for (const auto& h : r.headers())
      out.headers.emplace_back(h.name(), policy::fill_secrets(h.value(), [&](const std::string& name) {
                                 auto value = secret(name);
                                 complete = complete && value.has_value();
                                 return value.value_or("");
                               }));
    if (complete) e.routes.push_back(std::move(out));
  }
  // The policy's defaults, where the sender left a field unset.
  if (a.max_connections()) e.max_connections = a.max_connections();
  if (a.bandwidth()) e.bandwidth = a.bandwidth();
  return e;
}

}  // namespace agentos::egress
