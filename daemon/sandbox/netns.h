// The agent's network namespace: loopback only, plus, for agents with [egress], the gateway's
// sockets on its loopback, which the gateway (outside) serves: the proxy, a DNS stub, and a
// listener on each port granted to a name.
#pragma once

#include <cstddef>
#include <cstdint>

namespace agentos::sandbox {

// Where an agent finds the egress gateway, inside its own network namespace.
inline constexpr uint16_t kGatewayPort = 3128;
// The gateway's DNS stub: where glibc looks when there is no resolv.conf, and where the one the
// sandbox shows points.
inline constexpr uint16_t kDnsStubPort = 53;
// Ports granted to names that get a listener of their own (the proxy serves any number).
inline constexpr size_t kMaxTransparentPorts = 16;
// The broker's socket, the proxy's two, the DNS stub's, and the granted ports'.
inline constexpr size_t kMaxSandboxSockets = 4 + kMaxTransparentPorts;

// Child side, async-signal-safe: brings lo up. Returns 0 or an errno.
int bring_up_loopback();

// Child side, async-signal-safe: a listening socket on the loopback address of `family` (AF_INET
// or AF_INET6) at kGatewayPort, in the calling process's network namespace. Returns the fd or
// -errno. A socket keeps the namespace it was made in, so whoever holds it outside the sandbox
// accepts the agent's connections there.
int gateway_listener(int family);

// Child side, async-signal-safe: the DNS stub's UDP socket at 127.0.0.1:kDnsStubPort. Returns the
// fd or -errno.
int dns_stub_socket();

// Child side, async-signal-safe: a listener on every IPv4 address of the namespace at `port`
// (127.77.x.y among them, where the stub's answers point). Returns the fd or -errno.
int transparent_listener(uint16_t port);

// Child side, async-signal-safe: a listener on the namespace's ::1 at `port`, for a port granted
// on the host's own ::1. Returns the fd or -errno.
int loopback6_listener(uint16_t port);

}  // namespace agentos::sandbox
