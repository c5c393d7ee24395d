#include "sandbox/mounts.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace agentos::sandbox {
namespace {

// Raw syscalls: glibc's wrappers may be missing from older headers, and these allocate nothing.
int open_tree_(int dfd, const char* path, unsigned flags) {
  return static_cast<int>(::syscall(SYS_open_tree, dfd, path, flags));
}
int move_mount_(int from_dfd, const char* from, int to_dfd, const char* to, unsigned flags) {
  return static_cast<int>(::syscall(SYS_move_mount, from_dfd, from, to_dfd, to, flags));
}
int mount_setattr_(int dfd, const char* path, unsigned flags, mount_attr* attr) {
  return static_cast<int>(::syscall(SYS_mount_setattr, dfd, path, flags, attr, sizeof *attr));
}

// mkdir -p for a path inside the staging root, in place on a stack copy.
int mkdirs(const char* path) {
  char buf[PATH_MAX];
  if (std::snprintf(buf, sizeof buf, "%s", path) >= static_cast<int>(sizeof buf)) return ENAMETOOLONG;
  for (char* p = buf + 1; *p; ++p) {
    if (*p != '/') continue;
    *p = '\0';
    if (::mkdir(buf, 0755) != 0 && errno != EEXIST) return errno;
    *p = '/';
  }
  if (::mkdir(buf, 0755) != 0 && errno != EEXIST) return errno;
  return 0;
}

int parent_dirs(const char* path) {
  char buf[PATH_MAX];
  if (std::snprintf(buf, sizeof buf, "%s", path) >= static_cast<int>(sizeof buf)) return ENAMETOOLONG;
  char* slash = std::strrchr(buf, '/');
  if (!slash || slash == buf) return 0;
  *slash = '\0';
  return mkdirs(buf);
}

// A mount point for a file grant: an empty file, unless an outer grant already provides it.
int touch(const char* path) {
  if (int e = parent_dirs(path)) return e;
  int fd = ::open(path, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return errno == EEXIST || errno == EROFS ? 0 : errno;
  ::close(fd);
  return 0;
}

int mount_grant(MountGrant& g, const char* target) {
  int e = g.is_dir ? mkdirs(target) : touch(target);
  if (e == EROFS) e = 0;  // inside a read-only outer grant, the mount point already exists
  if (e) return e;
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (g.writable ? 0 : MOUNT_ATTR_RDONLY) |
                  (g.noexec ? MOUNT_ATTR_NOEXEC : 0);
  if (mount_setattr_(g.tree_fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr) != 0) return errno;
  if (move_mount_(g.tree_fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) != 0) return errno;
  ::close(g.tree_fd);
  g.tree_fd = -1;
  return 0;
}

constexpr const char* kDevNodes[] = {"null", "zero", "full", "random", "urandom"};

int build_dev(char* buf, size_t len) {
  std::snprintf(buf, len, "%s/dev", kStagingRoot);
  if (int e = mkdirs(buf)) return e;
  if (::mount("tmpfs", buf, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k") != 0) return errno;
  char host[32];
  for (const char* node : kDevNodes) {
    std::snprintf(buf, len, "%s/dev/%s", kStagingRoot, node);
    std::snprintf(host, sizeof host, "/dev/%s", node);
    if (int e = touch(buf)) return e;
    if (::mount(host, buf, nullptr, MS_BIND, nullptr) != 0) return errno;
  }
  const char* links[][2] = {{"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"},
                            {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"}};
  for (auto& l : links) {
    std::snprintf(buf, len, "%s/dev/%s", kStagingRoot, l[0]);
    if (::symlink(l[1], buf) != 0) return errno;
  }
  std::snprintf(buf, len, "%s/dev/shm", kStagingRoot);
  if (int e = mkdirs(buf)) return e;
  if (::mount("tmpfs", buf, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777") != 0) return errno;
  return 0;
}

// An agent with [egress] resolves names at the gateway's DNS stub on its own loopback, which is
// where glibc looks when there is no resolv.conf. Where the agent's view has one (a grant of /etc,
// the host view), it sees this one instead, read-only. A symlink there is left alone outside the
// host view: it points into the host's tree, which the agent does not see, so it dangles.
int provide_resolv_conf(const LaunchSpec& spec, const char* root, const char** what) {
  static char src[PATH_MAX], dst[PATH_MAX];
  static constexpr char kText[] = "# agentos: the egress gateway's DNS stub (see agentosd(8))\nnameserver 127.0.0.1\n";
  *what = "/etc/resolv.conf";
  std::snprintf(dst, sizeof dst, "%s/etc/resolv.conf", root);
  int target = ::open(dst, O_PATH | O_CLOEXEC | (spec.host_view ? 0 : O_NOFOLLOW));
  if (target < 0) return 0;
  struct stat st;
  if (::fstat(target, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(target);
    return 0;
  }
  // Written in the agent's own tmpfs, mounted from there, then unlinked: the mount keeps it.
  std::snprintf(src, sizeof src, "%s%s/resolv.conf", root, kBrokerDir);
  int e = 0, tree = -1;
  int fd = ::open(src, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  if (fd < 0 || ::write(fd, kText, sizeof kText - 1) != sizeof kText - 1) e = errno ? errno : EIO;
  if (fd >= 0) ::close(fd);
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC | MOUNT_ATTR_RDONLY;
  if (!e && (tree = open_tree_(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)) < 0) e = errno;
  if (!e && mount_setattr_(tree, "", AT_EMPTY_PATH, &attr) != 0) e = errno;
  if (!e && move_mount_(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0) e = errno;
  if (tree >= 0) ::close(tree);
  ::close(target);
  ::unlink(src);
  return e;
}

}  // namespace

int capture_bridge(LaunchSpec& spec, const char** what) {
  if (spec.bridge_source.empty()) return 0;
  *what = spec.bridge_source.c_str();
  spec.bridge_tree_fd = open_tree_(AT_FDCWD, spec.bridge_source.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  return spec.bridge_tree_fd < 0 ? errno : 0;
}

int build_broker_dir(LaunchSpec& spec, const char* root, int* listener, const char** what) {
  static char dir[PATH_MAX], path[PATH_MAX];
  std::snprintf(dir, sizeof dir, "%s%s", root, kBrokerDir);
  *what = kBrokerDir;
  if (int e = mkdirs(dir)) return e;
  if (::mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=64k") != 0) return errno;
  if (spec.gateway)
    if (int e = provide_resolv_conf(spec, root, what)) return e;
  if (spec.bridge_tree_fd >= 0) {
    *what = kBridgePath;
    std::snprintf(path, sizeof path, "%s%s", root, kBridgePath);
    if (int e = touch(path)) return e;
    mount_attr attr{};
    attr.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_RDONLY;
    if (mount_setattr_(spec.bridge_tree_fd, "", AT_EMPTY_PATH, &attr) != 0) return errno;
    if (move_mount_(spec.bridge_tree_fd, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) != 0) return errno;
    ::close(spec.bridge_tree_fd);
    spec.bridge_tree_fd = -1;
  }
  *what = kBrokerSocket;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s%s", root, kBrokerSocket);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  int on = 1;  // every message carries its sender's credentials (a passed connection is told apart)
  if (::setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0 ||
      ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 128) != 0) {
    int e = errno;
    ::close(fd);
    return e;
  }
  *listener = fd;
  return 0;
}

int build_root(LaunchSpec& spec, int* broker, const char** what) {
  static char buf[PATH_MAX];  // the child's own copy after clone; no allocation
  *what = "make / private";
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return errno;

  // Capture every grant before the staging tmpfs covers anything.
  if (int e = capture_bridge(spec, what)) return e;
  for (auto& g : spec.grants) {
    *what = g.source.c_str();
    g.tree_fd = open_tree_(AT_FDCWD, g.source.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
    if (g.tree_fd < 0) return errno;
  }

  *what = "staging tmpfs";
  if (::mount("tmpfs", kStagingRoot, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0) return errno;

  // The private /tmp goes in first, so that grants beneath /tmp land on top of it.
  *what = "/tmp";
  std::snprintf(buf, sizeof buf, "%s/tmp", kStagingRoot);
  if (int e = mkdirs(buf)) return e;
  if (::mount("tmpfs", buf, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777") != 0) return errno;

  for (auto& g : spec.grants) {
    *what = g.source.c_str();
    if (int e = mount_grant(g, g.target.c_str())) return e;
  }
  for (auto& l : spec.symlinks) {
    *what = l.at.c_str();
    if (int e = parent_dirs(l.at.c_str())) return e;
    if (::symlink(l.to.c_str(), l.at.c_str()) != 0 && errno != EEXIST) return errno;
  }

  *what = "/proc";
  std::snprintf(buf, sizeof buf, "%s/proc", kStagingRoot);
  if (int e = mkdirs(buf)) return e;
  if (::mount("proc", buf, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) return errno;

  *what = "/dev";
  if (int e = build_dev(buf, sizeof buf)) return e;
  if (int e = build_broker_dir(spec, kStagingRoot, broker, what)) return e;

  *what = "pivot_root";
  if (::chdir(kStagingRoot) != 0) return errno;
  // pivot_root(".", ".") stacks the old root under the new one; detaching "." then drops it.
  if (::syscall(SYS_pivot_root, ".", ".") != 0) return errno;
  if (::umount2(".", MNT_DETACH) != 0) return errno;
  if (::chdir("/") != 0) return errno;

  // Nothing but the grants, /tmp and /dev/shm is writable.
  *what = "read-only root";
  if (::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr) != 0)
    return errno;
  return 0;
}

int build_host_view(LaunchSpec& spec, bool read_only, int* broker, const char** what) {
  *what = "make / private";
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return errno;
  if (int e = capture_bridge(spec, what)) return e;
  if (read_only) {
    // Landlock does not govern chmod, chown, setxattr or utimes: a read-only tree does, with
    // writable clones of the write grants put back on top.
    for (auto& g : spec.grants) {
      if (!g.writable) continue;
      *what = g.source.c_str();
      g.tree_fd = open_tree_(AT_FDCWD, g.source.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
      if (g.tree_fd < 0) return errno;
    }
    *what = "read-only host tree";
    mount_attr ro{};
    ro.attr_set = MOUNT_ATTR_RDONLY;  // device nodes stay usable; Landlock decides which
    if (mount_setattr_(AT_FDCWD, "/", AT_RECURSIVE, &ro) != 0) return errno;
    for (auto& g : spec.grants) {
      if (!g.writable) continue;
      *what = g.source.c_str();
      if (int e = mount_grant(g, g.source.c_str())) return e;  // in place: no staging root here
    }
  }
  *what = "/proc";
  if (::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) return errno;
  return build_broker_dir(spec, "", broker, what);
}

}  // namespace agentos::sandbox
