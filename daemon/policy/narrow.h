// Delegation never widens: the policy a delegate runs under is its own, narrowed to what its
// delegator may do. Files, network, egress and tools alike keep only what both grant; limits, and
// a chain's depth and deadline, take the smaller of the two. Whom a delegate may hand tasks on to
// stays its own: what those do is narrowed to the delegate's narrowed grants in turn. Pure, so
// every rule is unit-tested.
#pragma once

#include "policy/policy.h"

namespace agentos::policy {

// `delegate`'s policy (its command, environment, name) with grants = delegate ∩ delegator.
[[nodiscard]] Policy narrow(const Policy& delegate, const Policy& delegator);

}  // namespace agentos::policy
