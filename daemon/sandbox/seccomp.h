// The baseline seccomp filter every agent runs under.
#pragma once

#include <linux/filter.h>

#include <vector>

#include "common/result.h"

namespace agentos::sandbox {

// Compiles the filter with libseccomp: native architecture only (other ABIs, i386 and x32 among
// them, kill the process), and EPERM for the classic escape routes listed in seccomp.cc.
[[nodiscard]] Result<std::vector<sock_filter>> build_baseline_filter();

// Child side, async-signal-safe. Needs no_new_privs. Returns 0 or an errno.
int install_filter(const std::vector<sock_filter>& prog);

}  // namespace agentos::sandbox
