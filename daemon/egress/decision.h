// What an agent may reach through the gateway, decided in two steps: the name it asks for
// (before any DNS), then each address that name resolves to (before any connect).
#pragma once

#include <string>
#include <string_view>

#include "egress/address.h"
#include "policy/policy.h"

namespace agentos::egress {

struct Verdict {
  bool allowed = false;
  std::string reason;  // why not, for the agent's error and the audit trail; empty when allowed
};

// The host as the agent wrote it (a name, or an address literal), lower-cased and without a
// trailing dot; nullopt if it is neither a DNS name nor an address.
struct Host {
  std::string name;  // empty for a literal
  std::optional<Address> literal;
  [[nodiscard]] std::string str() const { return literal ? literal->str() : name; }
};
[[nodiscard]] std::optional<Host> parse_host(std::string_view text);

// Step one: a name needs a grant of that name (or a "*." grant of a parent) with this port; a
// literal address needs a range grant holding it, with this port.
[[nodiscard]] Verdict check_target(const policy::Egress& e, const Host& host, uint16_t port);

// Whether some grant names `name` (lower case, as parse_host gives it), on any port: what the
// gateway's DNS stub answers for.
[[nodiscard]] bool name_granted(const policy::Egress& e, const std::string& name);

// Step two, for each address a granted name resolved to: one inside a range granted for this port
// is allowed; any other must be public (not loopback, RFC 1918, link-local, ULA, documentation,
// ...) and not one of the host's own (`host_own`; nullopt when that cannot be told, which counts
// as its own). This is what stops a granted name from being pointed at 127.0.0.1, at
// 169.254.169.254 or at the host's public address (DNS rebinding). A name grant never grants an
// address; only a range does.
[[nodiscard]] Verdict check_resolved(const policy::Egress& e, const Address& a, uint16_t port,
                                     std::optional<bool> host_own);

}  // namespace agentos::egress
