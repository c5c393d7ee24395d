// The baseline seccomp filter every agent runs under.
#pragma once

#include <linux/filter.h>

#include <vector>

#include "common/result.h"

namespace agentos::sandbox {

// What the filter leaves to other layers. Under the fallback (no BPF LSM) both are false.
struct FilterOptions {
  // memfd_create without MFD_NOEXEC_SEAL fails with ENOSYS, as on kernels without memfds, unless
  // the LSM checks every exec: Landlock does not see an exec of a memfd.
  bool executable_memfds = false;
  // listen() fails with EPERM unless the LSM checks it: the cgroup hooks never see the port the
  // kernel picks for a socket that listens unbound. Only agents on the host's network need this.
  bool listen = true;
};

// Compiles the filter with libseccomp: native architecture only (other ABIs, i386 and x32 among
// them, kill the process), and EPERM for the classic escape routes listed in seccomp.cc.
[[nodiscard]] Result<std::vector<sock_filter>> build_baseline_filter(FilterOptions options = {});

// Child side, async-signal-safe. Needs no_new_privs. Returns 0 or an errno.
int install_filter(const std::vector<sock_filter>& prog);

}  // namespace agentos::sandbox
