// Code that runs inside the new namespaces, between clone3 and the agent's execve. It allocates
// nothing and takes no locks; failures go to the monitor as a ChildReport.
#pragma once

#include <sys/resource.h>

#include "sandbox/launch_spec.h"

namespace agentos::sandbox {

// An agent's soft limit on open descriptors, whatever the daemon's own (which it raises).
inline constexpr rlim_t kAgentFdSoftLimit = 1024;

[[noreturn]] void sandbox_child_main(LaunchSpec& spec, int sync_fd);

}  // namespace agentos::sandbox
