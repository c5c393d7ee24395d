#include "sandbox/userns.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "common/unique_fd.h"
#include "sandbox/caps.h"

namespace agentos::sandbox {
namespace {

Status write_file(const std::string& path, const std::string& text) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return sys_error("open " + path);
  // The kernel wants each map in a single write.
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    return sys_error("write " + path);
  return {};
}

}  // namespace

Status write_id_maps(pid_t pid, uid_t uid, gid_t gid, const std::vector<gid_t>& groups) {
  std::string proc = "/proc/" + std::to_string(pid);
  if (auto s = write_file(proc + "/uid_map", std::to_string(uid) + " " + std::to_string(uid) + " 1\n");
      !s)
    return s;
  std::vector<gid_t> gids = groups;
  gids.push_back(gid);
  std::sort(gids.begin(), gids.end());
  gids.erase(std::unique(gids.begin(), gids.end()), gids.end());
  std::string map;
  for (gid_t g : gids) map += std::to_string(g) + " " + std::to_string(g) + " 1\n";
  return write_file(proc + "/gid_map", map);
}

int become_owner(uid_t uid, gid_t gid, const gid_t* groups, size_t ngroups) {
  if (::setgroups(ngroups, groups) != 0) return errno;
  if (::setresgid(gid, gid, gid) != 0) return errno;
  // Keep the permitted set across the uid change; the effective set is restored below.
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return errno;
  if (::setresuid(uid, uid, uid) != 0) return errno;
  if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) return errno;
  return raise_all_caps();
}

}  // namespace agentos::sandbox
