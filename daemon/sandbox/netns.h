// The agent's network namespace: loopback only, plus, for agents with [egress], the gateway's
// listening sockets on its loopback, which the gateway (outside) accepts on.
#pragma once

#include <cstdint>

namespace agentos::sandbox {

// Where an agent finds the egress gateway, inside its own network namespace.
inline constexpr uint16_t kGatewayPort = 3128;

// Child side, async-signal-safe: brings lo up. Returns 0 or an errno.
int bring_up_loopback();

// Child side, async-signal-safe: a listening socket on the loopback address of `family` (AF_INET
// or AF_INET6) at kGatewayPort, in the calling process's network namespace. Returns the fd or
// -errno. A socket keeps the namespace it was made in, so whoever holds it outside the sandbox
// accepts the agent's connections there.
int gateway_listener(int family);

}  // namespace agentos::sandbox
