// Network grants as written in [network]: "tcp://10.1.2.0/24:5432", "udp://127.0.0.53:53",
// "tcp://[2001:db8::/32]:443".
#pragma once

#include <string_view>

#include "common/result.h"
#include "policy/policy.h"

namespace agentos::policy {

// Parses one rule. Refuses anything ambiguous: a missing port, a prefix with host bits set, an
// IPv6 address outside brackets. Without "/prefix" the rule names a single address.
[[nodiscard]] Result<NetRule> parse_net_rule(std::string_view text);

// Whether the rule's range lies within the loopback addresses (127.0.0.0/8, ::1).
[[nodiscard]] bool loopback(const NetRule& r);

}  // namespace agentos::policy
