// [devices] grants: each pattern resolved once to the character device nodes it names, as
// objects (O_PATH, no symlink followed), for the mount, Landlock, BPF LSM and the cgroup device
// hook alike. Block devices are never granted: raw access to a disk passes every file grant by.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace agentos::sandbox {

// Each is a mount and a map entry: a pattern that matches hundreds (/dev/tty*) is refused.
inline constexpr size_t kMaxDevices = 64;

struct DeviceNode {
  std::string path;  // under /dev, where the sandbox shows it too
  UniqueFd fd;  // O_PATH
  dev_t rdev = 0;  // the device's number, which the cgroup hook allows
  uint64_t dev = 0, ino = 0;  // the node's own, for BPF LSM
};

// An exact path that is missing, a symlink or not a character device is an error naming it; a
// pattern ("/dev/dri/renderD*") takes the character devices it matches and must match one.
[[nodiscard]] Result<std::vector<DeviceNode>> resolve_devices(const std::vector<std::string>& patterns);

}  // namespace agentos::sandbox
