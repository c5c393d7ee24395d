// Code that runs inside the new namespaces, between clone3 and the agent's execve. It allocates
// nothing and takes no locks; failures go to the monitor as a ChildReport.
#pragma once

#include "sandbox/launch_spec.h"

namespace agentos::sandbox {

[[noreturn]] void sandbox_child_main(LaunchSpec& spec, int sync_fd);

}  // namespace agentos::sandbox
