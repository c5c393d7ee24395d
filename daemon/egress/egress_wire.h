// [egress] on the wire to the gateway (proto/gateway.proto), both ways, in one place: the daemon
// writes an agent's grants and routes, the gateway reads them back. Routes carry their header
// templates and the names of the secrets they use; the values travel as descriptors and are
// filled in by the gateway (read_secrets), never by this code.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "gateway.pb.h"
#include "policy/policy.h"

namespace agentos::egress {

// The grants and limits of `e` into `out` (routes are added one by one: each needs its secrets).
void put_grants(const policy::Egress& e, gateway::Agent& out);
void put_route(const policy::EgressRoute& r, gateway::Agent& out);

// The rules back, every {secret:NAME} filled in by `secret`; a route one of whose secrets is
// missing (nullopt) is left out.
using SecretValue = std::function<std::optional<std::string>(const std::string& name)>;
[[nodiscard]] policy::Egress rules_of(const gateway::Agent& a, const SecretValue& secret);

}  // namespace agentos::egress
