// Capabilities inside the agent's user namespace: kept for setup, then all dropped.
#pragma once

namespace agentos::sandbox {

// Async-signal-safe; each returns 0 or an errno.
int raise_all_caps();  // effective := permitted
// Empties the bounding and ambient sets, locks the securebits so that uid 0 (were it ever
// reached) grants nothing, and clears effective, permitted and inheritable.
int drop_all_caps();

}  // namespace agentos::sandbox
