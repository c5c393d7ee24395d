// [egress] of a policy: destination grants, routes and their limits (docs/policy.md).
#include <algorithm>
#include <map>

#include "policy/egress_rule.h"
#include "policy/limit_values.h"
#include "policy/quote.h"
#include "policy/walker.h"

namespace agentos::policy {

void Walker::egress(const toml::table& t) {
  check_keys(t, {"allow", "route", "max_connections", "bandwidth"}, "egress");
  Egress& e = out_.egress.emplace();
  if (out_.host_network)
    error(t, "[egress] works through the gateway in the agent's own network namespace; an agent on the host's "
             "network (network.namespace = \"host\") is held to its [network] connect grants instead");
  if (const toml::node* n = t.get("allow"))
    if (const toml::array* list = array_value(*n, "egress.allow")) {
      std::map<std::string, toml::source_position> seen;
      for (const toml::node& entry : *list) {
        std::optional<std::string> text = string_value(entry, "egress.allow entry");
        if (!text) continue;
        Result<EgressGrant> g = parse_egress_grant(*text);
        if (!g) {
          error(entry, "egress.allow: " + g.error().what);
          continue;
        }
        // Keyed by what the entry grants, so "10.0.0.1:80" and "10.0.0.1/32:80" collide.
        std::string key = g->subdomains ? "*." + g->name : g->name;
        if (g->range) key.append(reinterpret_cast<const char*>(g->range->addr.data()), 16) += static_cast<char>(g->range->prefix_len);
        key += ":" + std::to_string(g->port);
        if (auto [it, inserted] = seen.emplace(key, entry.source().begin); !inserted) {
          error(entry, "egress.allow: " + quote_text(*text) + " grants the same as the entry at " + position_text(it->second));
          continue;
        }
        // "localhost:PORT" is the host's own loopback, both families: two address grants (a name
        // grant would be refused, as every name that resolves to the host is).
        if (!g->range && !g->subdomains && g->name == "localhost") {
          for (const char* a : {"127.0.0.1", "[::1]"}) {
            Result<EgressGrant> loop = parse_egress_grant(std::string(a) + ":" + std::to_string(g->port));
            loop->text = *text;
            e.allow.push_back(std::move(*loop));
          }
          continue;
        }
        e.allow.push_back(std::move(*g));
      }
    }
  if (const toml::node* n = t.get("route")) routes(*n, e);
  std::vector<std::string> secrets;
  for (const auto& r : e.routes)
    for (const auto& name : r.secrets)
      if (std::find(secrets.begin(), secrets.end(), name) == secrets.end()) secrets.push_back(name);
  if (secrets.size() > kMaxSecretsPerAgent)
    error(t, "[egress] routes name " + std::to_string(secrets.size()) + " secrets; at most " +
                 std::to_string(kMaxSecretsPerAgent) + " may be used by one agent");
  if (const toml::node* n = t.get("max_connections")) {
    const toml::value<int64_t>* i = n->as_integer();
    if (!i || i->get() < 1 || i->get() > 65535)
      error(*n, "egress.max_connections must be an integer 1..65535");
    else
      e.max_connections = static_cast<uint32_t>(i->get());
  }
  if (const toml::node* n = t.get("bandwidth")) {
    if (std::optional<std::string> s = string_value(*n, "egress.bandwidth")) {
      if (Result<uint64_t> b = parse_size(*s)) e.bandwidth = *b;
      else error(*n, "egress.bandwidth (bytes per second, each way): " + b.error().what);
    }
  }
}

void Walker::routes(const toml::node& n, Egress& e) {
  const toml::array* list = n.as_array();
  if (!list || !list->is_array_of_tables()) {
    error(n, "egress.route must be an array of tables: [[egress.route]] with path, upstream and header");
    return;
  }
  std::map<std::string, toml::source_position> seen;
  for (const toml::node& entry : *list) {
    const toml::table& t = *entry.as_table();
    check_keys(t, {"path", "upstream", "header"}, "[egress.route]");
    EgressRoute r;
    r.where = {file_, t.source().begin.line, t.source().begin.column};
    const toml::node* path = t.get("path");
    const toml::node* upstream = t.get("upstream");
    if (!path || !upstream) {
      error(t, "an [[egress.route]] needs both path and upstream");
      continue;
    }
    if (std::optional<std::string> p = string_value(*path, "egress.route.path")) {
      if (Status s = check_route_path(*p); !s) error(*path, "egress.route.path: " + s.error().what);
      else if (auto [it, inserted] = seen.emplace(*p, path->source().begin); !inserted)
        error(*path, "egress.route.path: " + quote_text(*p) + " is already the route at " + position_text(it->second));
      r.path = std::move(*p);
    }
    if (std::optional<std::string> u = string_value(*upstream, "egress.route.upstream"))
      if (Status s = parse_upstream(*u, r); !s) error(*upstream, "egress.route.upstream: " + s.error().what);
    if (const toml::node* h = t.get("header")) {
      std::vector<const toml::node*> headers;
      if (const toml::array* a = h->as_array()) {
        for (const toml::node& x : *a) headers.push_back(&x);
      } else {
        headers.push_back(h);
      }
      for (const toml::node* x : headers) {
        std::optional<std::string> text = string_value(*x, "egress.route.header");
        if (!text) continue;
        auto header = parse_header_template(*text, r.secrets);
        if (!header) error(*x, "egress.route.header: " + header.error().what);
        else r.headers.push_back(std::move(*header));
      }
    }
    e.routes.push_back(std::move(r));
  }
}

}  // namespace agentos::policy
