#include "sandbox/grant_object.h"

#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/magic.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "policy/paths.h"
#include "sandbox/mount_table.h"

namespace agentos::sandbox {
namespace {

constexpr int kMaxLinks = 40;  // as the kernel's own path walk

std::vector<std::string> components(const std::string& path) {
  std::vector<std::string> out;
  std::stringstream in(path);
  for (std::string part; std::getline(in, part, '/');)
    if (!part.empty()) out.push_back(part);
  return out;
}

std::string join(const std::vector<std::string>& parts) {
  std::string s;
  for (const auto& p : parts) s += "/" + p;
  return s.empty() ? "/" : s;
}

// Root owns the link and its directory, and no one else may replace the link (the directory is
// not writable by others, or is sticky and so protects root's entries).
bool trusted_link(const struct stat& link, const struct stat& dir) {
  return link.st_uid == 0 && dir.st_uid == 0 && (!(dir.st_mode & (S_IWGRP | S_IWOTH)) || (dir.st_mode & S_ISVTX));
}

std::string read_all(const char* path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

const char* pseudo_filesystem(int64_t f_type) {
  switch (static_cast<uint64_t>(f_type)) {
    case PROC_SUPER_MAGIC: return "procfs";
    case SYSFS_MAGIC: return "sysfs";
    case CGROUP_SUPER_MAGIC: return "cgroupfs";
    case CGROUP2_SUPER_MAGIC: return "cgroup2";
    case BPF_FS_MAGIC: return "bpffs";
    case DEBUGFS_MAGIC: return "debugfs";
    case TRACEFS_MAGIC: return "tracefs";
    case SECURITYFS_MAGIC: return "securityfs";
    case DEVPTS_SUPER_MAGIC: return "devpts";
    case NSFS_MAGIC: return "nsfs";
    case 0x62656570: return "configfs";
    case EFIVARFS_MAGIC: return "efivarfs";
    case PSTOREFS_MAGIC: return "pstore";
    case BINFMTFS_MAGIC: return "binfmt_misc";
    case 0x65735543: return "fusectl";
    case SELINUX_MAGIC: return "selinuxfs";
    case SMACK_MAGIC: return "smackfs";
    default: return nullptr;
  }
}

bool pseudo_filesystem_name(const std::string& fstype) {
  for (const char* name : {"proc", "sysfs", "cgroup", "cgroup2", "bpf", "debugfs", "tracefs", "securityfs", "devpts",
                           "devtmpfs", "nsfs", "configfs", "efivarfs", "pstore", "binfmt_misc", "fusectl", "selinuxfs",
                           "smackfs", "mqueue"})
    if (fstype == name) return true;
  return false;
}

Result<OwnerIdentity> OwnerIdentity::become(uid_t uid, gid_t gid, const std::vector<gid_t>& groups) {
  OwnerIdentity id;
  if (::geteuid() != 0) return id;  // a test running unprivileged resolves with its own rights
  int n = ::getgroups(0, nullptr);
  if (n < 0) return sys_error("getgroups");
  id.saved_.resize(static_cast<size_t>(n));
  if (::getgroups(n, id.saved_.data()) < 0) return sys_error("getgroups");
  if (::setgroups(groups.size(), groups.data()) != 0) return sys_error("setgroups");
  id.active_ = true;  // from here on the destructor restores
  ::setfsgid(gid);
  ::setfsuid(uid);
  // setfsuid reports no error: read both back (an invalid id returns the current one).
  if (static_cast<uid_t>(::setfsuid(static_cast<uid_t>(-1))) != uid ||
      static_cast<gid_t>(::setfsgid(static_cast<gid_t>(-1))) != gid)
    return error("cannot take the owner's filesystem identity");
  return id;
}

OwnerIdentity::~OwnerIdentity() {
  if (!active_) return;
  ::setfsuid(0);
  ::setfsgid(0);
  // A daemon left with an agent owner's identity would act as that owner from then on: stop.
  if (::setgroups(saved_.size(), saved_.data()) != 0 || ::setfsuid(static_cast<uid_t>(-1)) != 0) std::abort();
}

namespace {

// The walk itself: components without following untrusted links, the final fd and its real path.
Result<GrantObject> walk(const std::string& path) {
  GrantObject g;
  g.path = path;
  auto fail = [&](const std::string& why) { return error("filesystem grant " + path + ": " + why); };
  if (path.empty() || path[0] != '/') return fail("not an absolute path");
  UniqueFd dir(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return sys_error("open /");
  std::vector<std::string> todo = components(path), real;
  std::reverse(todo.begin(), todo.end());  // a stack: the next component last
  int links = 0;
  while (!todo.empty()) {
    std::string part = std::move(todo.back());
    todo.pop_back();
    if (part == ".") continue;
    if (part == "..") {  // only from a trusted link's text: the policy's own paths are normalized
      UniqueFd up(::openat(dir.get(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (!up.valid()) return Error{errno, "filesystem grant " + path + ": " + join(real) + "/.."};
      dir = std::move(up);
      if (!real.empty()) real.pop_back();
      continue;
    }
    UniqueFd next(::openat(dir.get(), part.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    std::string here = join(real) + (real.empty() ? "" : "/") + part;
    if (!next.valid()) return Error{errno, "filesystem grant " + path + " (" + here + ")"};
    struct stat st, dst;
    if (::fstat(next.get(), &st) != 0 || ::fstat(dir.get(), &dst) != 0) return sys_error("filesystem grant " + path);
    if (!S_ISLNK(st.st_mode)) {
      real.push_back(std::move(part));
      dir = std::move(next);
      continue;
    }
    char text[PATH_MAX];
    ssize_t n = ::readlinkat(next.get(), "", text, sizeof text - 1);
    if (n < 0) return sys_error("filesystem grant " + path + ": readlink " + here);
    std::string target(text, static_cast<size_t>(n));
    if (!trusted_link(st, dst))
      return fail(here + " is a symbolic link to " + target + " owned by uid " + std::to_string(st.st_uid) +
                  (st.st_uid == 0 ? " in a directory others may change" : "") +
                  "; links an agent could have made or could re-point are not followed, so grant its target instead");
    if (++links > kMaxLinks) return Error{ELOOP, "filesystem grant " + path};
    if (links == 1 && !g.first_link) g.first_link = {here, target};
    auto more = components(target);
    for (auto it = more.rbegin(); it != more.rend(); ++it) todo.push_back(*it);
    if (target.starts_with("/")) {
      dir.reset(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
      real.clear();
    }
  }
  g.real = join(real);
  struct stat st;
  if (::fstat(dir.get(), &st) != 0) return sys_error("filesystem grant " + path);
  g.dev = st.st_dev;
  g.ino = st.st_ino;
  g.is_dir = S_ISDIR(st.st_mode);
  g.fd = std::move(dir);
  return g;
}

}  // namespace

Result<GrantObject> resolve_grant(const std::string& path) {
  auto walked = walk(path);
  if (!walked) return walked.error();
  GrantObject& g = *walked;
  auto fail = [&](const std::string& why) { return error("filesystem grant " + path + ": " + why); };
  if (auto ok = policy::check_grant_path(g.real); !ok) return fail("resolves to " + g.real + ": " + ok.error().str());
  struct statfs fs;
  if (::fstatfs(g.fd.get(), &fs) != 0) return sys_error("filesystem grant " + path);
  if (const char* kind = pseudo_filesystem(fs.f_type)) return fail("resolves to " + g.real + ", on the kernel's " + kind);
  // devtmpfs is one superblock wherever it is mounted: its device is the host's /dev's.
  if (struct stat dev, root; ::stat("/dev", &dev) == 0 && ::stat("/", &root) == 0 && root.st_dev != dev.st_dev &&
                             g.dev == dev.st_dev)
    return fail("resolves to " + g.real + ", on the host's /dev");
  if (g.is_dir)
    if (auto m = pseudo_mount_beneath(read_all("/proc/self/mountinfo"), g.real))
      return fail(m->mount_point + " beneath it is a mount of the kernel's " + m->fstype);
  return std::move(g);
}

Result<bool> object_within(int fd, const std::string& real, bool is_dir, const std::vector<ObjectId>& outer) {
  auto found = [&](const struct stat& st) {
    return std::find(outer.begin(), outer.end(), ObjectId{st.st_dev, st.st_ino}) != outer.end();
  };
  struct stat st;
  if (::fstat(fd, &st) != 0) return sys_error("fstat " + real);
  if (found(st)) return true;
  UniqueFd cur;
  if (is_dir) {
    cur.reset(::openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
  } else {
    // A file has no "..": take the directory it was resolved in, and check the file is still its.
    std::string dir = real.substr(0, real.rfind('/'));
    auto parent = walk(dir.empty() ? "/" : dir);
    if (!parent) return parent.error();
    struct stat child;
    std::string name = real.substr(real.rfind('/') + 1);
    if (::fstatat(parent->fd.get(), name.c_str(), &child, AT_SYMLINK_NOFOLLOW) != 0 || child.st_dev != st.st_dev ||
        child.st_ino != st.st_ino)
      return error(real + " changed while it was checked");
    cur = std::move(parent->fd);
  }
  for (int depth = 0; cur.valid() && depth < PATH_MAX / 2; ++depth) {
    if (::fstat(cur.get(), &st) != 0) return sys_error("fstat");
    if (found(st)) return true;
    UniqueFd up(::openat(cur.get(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
    struct stat ust;
    if (!up.valid() || ::fstat(up.get(), &ust) != 0) return sys_error("walk up from " + real);
    if (ust.st_dev == st.st_dev && ust.st_ino == st.st_ino) return false;  // the root
    cur = std::move(up);
  }
  return false;
}

}  // namespace agentos::sandbox
