// What the agent manager's files share: small helpers over /proc and the launch spec.
#pragma once

#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "enforce/lsm_guard.h"
#include "sandbox/launch_spec.h"

namespace agentos::agent_detail {

inline std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// The launcher's resolved file grants, as the LSM's maps hold them.
inline std::vector<enforce::FsGrant> fs_grants(const sandbox::LaunchSpec& spec) {
  std::vector<enforce::FsGrant> out;
  for (const auto& [path, r] : spec.fs_rights) out.push_back({path, r.dev, r.ino, r.rights});
  return out;
}

}  // namespace agentos::agent_detail
