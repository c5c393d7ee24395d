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



// Opens the mount point `rel` (relative) beneath `root`, making what is missing on the way, and
// never following a symlink: a grant mounted earlier holds content an agent may change, so a link
// planted there must not carry a later mount, or a directory made by us, anywhere else. With
// `dir` false the last component is a file. Returns 0 and *out (O_PATH), or an errno.
int open_mount_point(int root, const char* rel, bool dir, int* out) {
  char buf[PATH_MAX];
  if (std::snprintf(buf, sizeof buf, "%s", rel) >= static_cast<int>(sizeof buf)) return ENAMETOOLONG;
  int cur = ::openat(root, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (cur < 0) return errno;
  char* part = buf;
  while (*part == '/') ++part;
  while (*part) {
    char* slash = std::strchr(part, '/');
    bool last = !slash;
    if (slash) *slash = '\0';
    int next;
    if (!last || dir) {
      if (::mkdirat(cur, part, 0755) != 0 && errno != EEXIST && errno != EROFS) {
        int e = errno;
        ::close(cur);
        return e;
      }
      next = ::openat(cur, part, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);  // a link: ENOTDIR
    } else {
      int f = ::openat(cur, part, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (f >= 0) ::close(f);
      next = ::openat(cur, part, O_PATH | O_NOFOLLOW | O_CLOEXEC);
      struct stat st;
      if (next >= 0 && (::fstat(next, &st) != 0 || S_ISLNK(st.st_mode) || S_ISDIR(st.st_mode))) {
        ::close(next);
        next = -1;
        errno = ELOOP;
      }
    }
    int e = errno;
    ::close(cur);
    if (next < 0) return e;
    cur = next;
    if (last) break;
    part = slash + 1;
    while (*part == '/') ++part;
  }
  *out = cur;
  return 0;
}

int open_staged(const char* path, bool dir, int* out) {
  int root = ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) return errno;
  int e = open_mount_point(root, path, dir, out);
  ::close(root);
  return e;
}

// mkdir -p, never through a symlink.
int mkdirs(const char* path) {
  int fd;
  if (int e = open_staged(path, true, &fd)) return e;
  ::close(fd);
  return 0;
}

// A file a mount goes on: an empty one, unless an outer grant already provides it.
int touch(const char* path) {
  int fd;
  if (int e = open_staged(path, false, &fd)) return e;
  ::close(fd);
  return 0;
}

// The monitor cloned the grant's object and set the mount's attributes; this puts the clone at
// `target`, reached without following links.
int mount_grant(MountGrant& g, const char* target) {
  int at;
  if (int e = open_staged(target, g.is_dir, &at)) return e;
  int rc = move_mount_(g.tree_fd, "", at, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
  int e = errno;
  ::close(at);
  if (rc != 0) return e;
  ::close(g.tree_fd);
  g.tree_fd = -1;
  return 0;
}

// A symlink the agent's root shows, e.g. merged-/usr's /lib -> usr/lib.
int make_symlink(const Symlink& l) {
  char dir[PATH_MAX];
  if (std::snprintf(dir, sizeof dir, "%s", l.at.c_str()) >= static_cast<int>(sizeof dir)) return ENAMETOOLONG;
  char* slash = std::strrchr(dir, '/');
  if (!slash) return EINVAL;
  *slash = '\0';
  int fd;
  if (int e = open_staged(dir[0] ? dir : "/", true, &fd)) return e;
  int rc = ::symlinkat(l.to.c_str(), fd, slash + 1);
  int e = errno;
  ::close(fd);
  return rc == 0 || e == EEXIST || e == EROFS ? 0 : e;
}

constexpr const char* kDevNodes[] = {"null", "zero", "full", "random", "urandom", "tty"};

// "localhost" must resolve, to the agent's own loopback, also where no grant shows the host's
// /etc: libc would otherwise ask DNS first and stop at its answer (glibc's default without an
// nsswitch.conf), and the egress gateway's DNS stub knows only granted names. Where a grant shows
// the host's files, those are left as they are (they say the same).
int provide_etc_file(int dir, const char* name, const char* text, size_t len) {
  int fd = ::openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return errno == EEXIST || errno == EROFS ? 0 : errno;
  int e = ::write(fd, text, len) == static_cast<ssize_t>(len) ? 0 : EIO;
  ::close(fd);
  return e;
}

int provide_hosts(char* buf, size_t len) {
  static constexpr char kHosts[] = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";
  static constexpr char kNsswitch[] = "hosts: files dns\n";
  std::snprintf(buf, len, "%s/etc", kStagingRoot);
  int dir;
  if (int e = open_staged(buf, true, &dir)) return e == EROFS ? 0 : e;
  int e = provide_etc_file(dir, "hosts", kHosts, sizeof kHosts - 1);
  if (!e) e = provide_etc_file(dir, "nsswitch.conf", kNsswitch, sizeof kNsswitch - 1);
  ::close(dir);
  return e;
}

int build_dev(LaunchSpec& spec, char* buf, size_t len) {
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
  for (auto& d : spec.devices) {  // cloned by the monitor, device access kept
    if (int e = mount_grant(d, d.target.c_str())) return e;
  }
  const char* links[][2] = {{"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"},
                            {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"}};
  for (auto& l : links) {
    std::snprintf(buf, len, "%s/dev/%s", kStagingRoot, l[0]);
    if (::symlink(l[1], buf) != 0) return errno;
  }
  std::snprintf(buf, len, "%s/dev/shm", kStagingRoot);
  if (int e = mkdirs(buf)) return e;
  if (::mount("tmpfs", buf, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, spec.shm_options.c_str()) != 0) return errno;
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

  // The grants are clones the monitor made of the daemon's objects; only the bridge, the daemon's
  // own binary, is captured here, before the staging tmpfs covers anything.
  if (int e = capture_bridge(spec, what)) return e;

  *what = "staging tmpfs";
  if (::mount("tmpfs", kStagingRoot, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0) return errno;

  // The private /tmp goes in first, so that grants beneath /tmp land on top of it.
  *what = "/tmp";
  std::snprintf(buf, sizeof buf, "%s/tmp", kStagingRoot);
  if (int e = mkdirs(buf)) return e;
  if (::mount("tmpfs", buf, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, spec.tmp_options.c_str()) != 0) return errno;

  for (auto& g : spec.grants) {
    *what = g.source.c_str();
    if (int e = mount_grant(g, g.target.c_str())) return e;
  }
  for (auto& l : spec.symlinks) {
    *what = l.at.c_str();
    if (int e = make_symlink(l)) return e;
  }

  *what = "/etc/hosts";
  if (int e = provide_hosts(buf, sizeof buf)) return e;

  *what = "/proc";
  std::snprintf(buf, sizeof buf, "%s/proc", kStagingRoot);
  if (int e = mkdirs(buf)) return e;
  if (::mount("proc", buf, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) return errno;

  *what = "/dev";
  if (int e = build_dev(spec, buf, sizeof buf)) return e;
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
    // writable clones of the write grants (made by the monitor) put back on top.
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
  // Terminals of its own only: the host's /dev/pts holds its owner's other terminals.
  *what = "/dev/pts";
  if (::mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620") != 0 &&
      errno != ENOENT)
    return errno;
  return build_broker_dir(spec, "", broker, what);
}

}  // namespace agentos::sandbox
