// The user namespace: the agent's uid/gid map to its owner's (identity map, never root).
#pragma once

#include <sys/types.h>

#include <vector>

#include "common/result.h"

namespace agentos::sandbox {

// Parent side: writes /proc/PID/{uid_map,gid_map} mapping uid, gid and groups onto themselves.
[[nodiscard]] Status write_id_maps(pid_t pid, uid_t uid, gid_t gid, const std::vector<gid_t>& groups);

// Child side, async-signal-safe: takes the owner's ids while keeping capabilities in the new user
// namespace, so that later mounts resolve host paths with the owner's file permissions.
// Returns 0 or an errno.
int become_owner(uid_t uid, gid_t gid, const gid_t* groups, size_t ngroups);

}  // namespace agentos::sandbox
