// The agent's filesystem view: a private root holding only its grants, a fresh /proc, a
// minimal /dev and a private /tmp.
#pragma once

#include <cstddef>

#include "sandbox/launch_spec.h"

namespace agentos::sandbox {

// Child side, async-signal-safe; runs with the owner's uid and capabilities in the new user
// namespace, so host paths resolve with the owner's permissions. On failure returns an errno and
// points *what at the path or step that failed.
int build_root(LaunchSpec& spec, int* broker, const char** what);

// The host's view, for policies with [filesystem] view = "host": the host's tree with a fresh
// /proc for the agent's pid namespace. With read_only (the Landlock fallback) the tree is
// read-only but for the write grants, which stay writable (and noexec unless exec is granted).
int build_host_view(LaunchSpec& spec, bool read_only, int* broker, const char** what);

// The agent's kBrokerDir under `root` ("" once the root is final): a tmpfs with the broker's
// listening socket, which goes to *listener, and the MCP bridge. Call capture_bridge() first,
// before anything covers the host's tree.
int capture_bridge(LaunchSpec& spec, const char** what);
int build_broker_dir(LaunchSpec& spec, const char* root, int* listener, const char** what);

}  // namespace agentos::sandbox
