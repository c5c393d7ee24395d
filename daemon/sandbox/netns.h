// The agent's network namespace: loopback only.
#pragma once

namespace agentos::sandbox {

// Child side, async-signal-safe: brings lo up. Returns 0 or an errno.
int bring_up_loopback();

}  // namespace agentos::sandbox
