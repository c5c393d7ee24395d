// The DNS server an agent with [egress] finds on its own loopback (127.0.0.1:53, where its
// resolv.conf points, and where glibc looks when there is none). A granted name gets a synthetic
// address (synthetic_names.h) where the gateway accepts; any other name gets NXDOMAIN. Nothing is
// forwarded: the gateway resolves the real name itself when the agent connects.
#pragma once

namespace agentos::egress {

class Gateway;
struct AgentEgress;

// Answers the queries waiting on `fd`, a UDP socket in the agent's network namespace.
void answer_dns(Gateway& gw, AgentEgress& agent, int fd);

}  // namespace agentos::egress
