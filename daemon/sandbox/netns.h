// The agent's network namespace: loopback only, plus, for agents with [egress], the gateway's
// listening sockets on its loopback, which the gateway (outside) accepts on.
#pragma once

#include <cstdint>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace agentos::sandbox {

// Where an agent finds the egress gateway, inside its own network namespace.
inline constexpr uint16_t kGatewayPort = 3128;

// Child side, async-signal-safe: brings lo up. Returns 0 or an errno.
int bring_up_loopback();

// Enters the network namespace `ns_fd`, brings its lo up, listens on 127.0.0.1 and [::1] at
// kGatewayPort there, and returns to the caller's own namespace. A socket keeps the namespace it
// was made in, so whoever holds these accepts the agent's connections from outside it.
[[nodiscard]] Result<std::vector<UniqueFd>> gateway_listeners(int ns_fd);

}  // namespace agentos::sandbox
