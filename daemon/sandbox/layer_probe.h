// Which confinement layers work on this machine, found by trying them, not by kernel version.
#pragma once

#include <linux/filter.h>

#include <string>
#include <vector>

#include "sandbox/cgroup.h"

namespace agentos::sandbox {

struct LayerState {
  std::string name;
  bool available = false;
  std::string detail;
};

struct ProbeResult {
  bool can_confine = false;  // every layer an agent needs works
  std::string reason;  // why not, when it cannot
  std::vector<LayerState> layers;
};

// Launches a throwaway sandbox whose command does not exist: reaching the execve proves that
// every layer before it (namespaces, mounts, identity, capabilities, seccomp) was put in place.
[[nodiscard]] ProbeResult probe_layers(const Cgroups& cgroups, const std::vector<sock_filter>& seccomp);

}  // namespace agentos::sandbox
