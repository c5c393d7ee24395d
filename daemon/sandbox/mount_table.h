// The host's mount table, as the Landlock fallback needs it. Landlock judges a path; BPF LSM judges
// the object reached. They agree except on a bind mount of a subdirectory placed beneath a grant:
// by path its files are inside the grant, though they live elsewhere. Where Landlock is the file
// layer, such an agent is refused rather than run with that difference.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace agentos::sandbox {

struct BindBeneath {
  std::string grant;  // the grant it is beneath
  std::string mount_point;
  std::string source;  // the subdirectory shown there, within its filesystem
};

// The first bind mount of a subdirectory strictly beneath one of `grants` (real paths), in
// /proc/self/mountinfo form (`mountinfo` is its text).
[[nodiscard]] std::optional<BindBeneath> bind_mount_beneath(const std::string& mountinfo,
                                                            const std::vector<std::string>& grants);

// A kernel pseudo-filesystem (procfs, sysfs, devtmpfs, ...) mounted strictly beneath `dir`: a
// grant of `dir` is cloned with its submounts, so it would show that one too.
struct PseudoMount {
  std::string mount_point;
  std::string fstype;
};
[[nodiscard]] std::optional<PseudoMount> pseudo_mount_beneath(const std::string& mountinfo, const std::string& dir);

}  // namespace agentos::sandbox
