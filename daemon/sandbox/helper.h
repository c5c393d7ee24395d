// The daemon's own helper programs (the egress gateway, the tool host) start here: a fork of the
// single-threaded daemon that drops to an unprivileged dynamic user with no supplementary groups,
// sets no_new_privs, installs the agents' seccomp filter and, where asked and the kernel offers
// Landlock, limits itself to reading a few trees; then execs the helper.
#pragma once

#include <linux/filter.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace agentos::sandbox {

struct HelperSpec {
  std::string binary;
  std::vector<std::string> args;  // after argv[0]
  uid_t uid = 0;  // the dynamic user; spawning as 0 is refused
  const std::vector<sock_filter>* seccomp = nullptr;  // required
  std::vector<int> fds;  // become descriptors 3, 4, ... in the helper
  int stdin_fd = -1, stdout_fd = -1;  // -1: /dev/null
  // If not empty: Landlock allows reading (and executing) these trees and nothing else, and
  // writing nowhere. Without Landlock in the kernel this is skipped (the uid still holds).
  std::vector<std::string> read_only;
};

struct Helper {
  pid_t pid = -1;
  UniqueFd pidfd;
};

[[nodiscard]] Result<Helper> spawn_helper(const HelperSpec& spec);

}  // namespace agentos::sandbox
