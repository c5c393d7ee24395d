#include "sandbox/device_grant.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

namespace agentos::sandbox {
namespace {

// Components from / on, none a symlink: what the policy names is what is opened.
int open_node(const std::string& path) {
  open_how how{};
  how.flags = O_PATH | O_CLOEXEC | O_NOFOLLOW;
  how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(::syscall(SYS_openat2, AT_FDCWD, path.c_str(), &how, sizeof how));
}

std::vector<std::string> matches(const std::string& pattern) {
  auto slash = pattern.rfind('/');
  std::string dir = pattern.substr(0, slash), name = pattern.substr(slash + 1);
  if (name.find_first_of("*?[") == std::string::npos) return {pattern};
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    if (::fnmatch(name.c_str(), e.path().filename().c_str(), FNM_PERIOD) == 0) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

Result<std::vector<DeviceNode>> resolve_devices(const std::vector<std::string>& patterns) {
  std::vector<DeviceNode> out;
  for (const auto& pattern : patterns) {
    const bool exact = pattern.find_first_of("*?[") == std::string::npos;
    size_t found = 0;
    for (const auto& path : matches(pattern)) {
      UniqueFd fd(open_node(path));
      struct stat st{};
      bool ok = fd.valid() && ::fstat(fd.get(), &st) == 0;
      if (ok && S_ISLNK(st.st_mode)) {  // O_PATH | O_NOFOLLOW opened the link itself
        ok = false;
        errno = ELOOP;
      }
      if (!ok) {
        if (!exact && errno == ELOOP) continue;  // a pattern passes over the links beside the nodes
        return error("[devices] " + path + ": " + (errno == ELOOP ? "a symlink: name the device node itself"
                                                                   : errno == ENOENT ? "no such device on this host"
                                                                                     : std::string(strerror(errno))));
      }
      if (!S_ISCHR(st.st_mode)) {
        if (!exact) continue;
        std::string why =
            S_ISBLK(st.st_mode) ? " (block devices are never granted: raw access passes every file grant by)" : "";
        return error("[devices] " + path + " is not a character device" + why);
      }
      ++found;
      if (std::any_of(out.begin(), out.end(), [&](const DeviceNode& n) { return n.path == path; })) continue;
      out.push_back({path, std::move(fd), st.st_rdev, st.st_dev, st.st_ino});
    }
    if (found == 0) return error("[devices] " + pattern + ": no character device matches it on this host");
  }
  return out;
}

}  // namespace agentos::sandbox
