#include "egress/decision.h"

#include <algorithm>

#include "policy/egress_rule.h"

namespace agentos::egress {
namespace {

bool range_granted(const policy::Egress& e, const Address& a, uint16_t port) {
  for (const auto& g : e.allow)
    if (g.range && g.port == port && in_range(a, *g.range)) return true;
  return false;
}

bool name_matches(const policy::EgressGrant& g, const std::string& name) {
  if (g.range) return false;
  return g.subdomains ? name.size() > g.name.size() + 1 && name.ends_with("." + g.name) : name == g.name;
}

}  // namespace

std::optional<Host> parse_host(std::string_view text) {
  if (text.starts_with('[') && text.ends_with(']')) text = text.substr(1, text.size() - 2);
  if (auto a = parse_address(text)) return Host{"", a};
  if (text.ends_with('.')) text.remove_suffix(1);
  auto name = policy::parse_dns_name(text);
  if (!name) return std::nullopt;
  return Host{std::move(*name), std::nullopt};
}

Verdict check_target(const policy::Egress& e, const Host& host, uint16_t port) {
  if (host.literal) {
    if (range_granted(e, *host.literal, port)) return {true, ""};
    return {false, host.literal->str() + " port " + std::to_string(port) + " is not granted (an address needs an [egress] allow range)"};
  }
  bool name_known = false;
  for (const auto& g : e.allow) {
    if (!name_matches(g, host.name)) continue;
    if (g.port == port) return {true, ""};
    name_known = true;
  }
  if (name_known) return {false, host.name + " is granted, but not port " + std::to_string(port)};
  return {false, host.name + " is not granted"};
}

bool name_granted(const policy::Egress& e, const std::string& name) {
  return std::any_of(e.allow.begin(), e.allow.end(), [&](const auto& g) { return name_matches(g, name); });
}

Verdict check_resolved(const policy::Egress& e, const Address& a, uint16_t port, std::optional<bool> host_own) {
  if (range_granted(e, a, port)) return {true, ""};
  const std::string what = "it resolves to " + a.str();
  if (Scope s = scope_of(a); s != Scope::kPublic) return {false, what + ", a " + scope_name(s) + " address, which is not granted"};
  if (!host_own) return {false, what + ", which may be this host's own (its addresses cannot be read now)"};
  if (*host_own) return {false, what + ", one of this host's own addresses, which is not granted"};
  return {true, ""};
}

}  // namespace agentos::egress
