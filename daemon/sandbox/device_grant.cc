#include "sandbox/device_grant.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

namespace agentos::sandbox {
namespace {

// Components from / on, none a symlink: what the policy names is what is opened. (Component by
// component, not openat2: under systemd's own seccomp filters openat2 is ENOSYS on Debian 12.)
int open_node(const std::string& path) {
  UniqueFd at(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  size_t from = 1;
  while (at.valid()) {
    size_t slash = path.find('/', from);
    std::string part = path.substr(from, slash == std::string::npos ? std::string::npos : slash - from);
    UniqueFd next(::openat(at.get(), part.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (slash == std::string::npos) return next.release();
    struct stat st{};
    if (next.valid() && ::fstat(next.get(), &st) == 0 && !S_ISDIR(st.st_mode)) {
      errno = S_ISLNK(st.st_mode) ? ELOOP : ENOTDIR;
      return -1;
    }
    at = std::move(next);
    from = slash + 1;
  }
  return -1;
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
      if (out.size() == kMaxDevices)
        return error("[devices] more than " + std::to_string(kMaxDevices) + " devices (" + pattern + "): name fewer");
      out.push_back({path, std::move(fd), st.st_rdev, st.st_dev, st.st_ino});
    }
    if (found == 0) return error("[devices] " + pattern + ": no character device matches it on this host");
  }
  return out;
}

}  // namespace agentos::sandbox
