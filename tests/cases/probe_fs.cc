// File actions for agentos-probe: each performs one kind of access, so a test can tell which
// kernel check refused it.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

#include "probe.h"

extern char** environ;

namespace probe {
namespace {

// Maps the file with PROT_EXEC directly, or readable first and made executable with mprotect.
int map_exec(const char* path, bool via_mprotect) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return result(-1);
  void* p = ::mmap(nullptr, 4096, via_mprotect ? PROT_READ : PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED) return result(-1);
  return result(via_mprotect ? ::mprotect(p, 4096, PROT_READ | PROT_EXEC) : 0);
}

// Copies an executable into a memfd and runs it from there: no path on any filesystem.
int memfd_exec(const char* src) {
  int in = ::open(src, O_RDONLY | O_CLOEXEC);
  int mem = static_cast<int>(::syscall(SYS_memfd_create, "probe", 0));
  if (in < 0 || mem < 0) return result(-1);
  char buf[65536];
  for (ssize_t n; (n = ::read(in, buf, sizeof buf)) > 0;)
    if (::write(mem, buf, static_cast<size_t>(n)) != n) return result(-1);
  char* argv[] = {const_cast<char*>("probe"), const_cast<char*>("hostname"), nullptr};
  ::fexecve(mem, argv, environ);
  return result(-1);
}

// execveat on an O_PATH descriptor: the file is named by no path at exec time.
int execveat_path(const char* path) {
  int fd = ::open(path, O_PATH | O_CLOEXEC);
  if (fd < 0) return result(-1);
  char* argv[] = {const_cast<char*>(path), const_cast<char*>("hostname"), nullptr};
  ::syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
  return result(-1);
}

// An O_PATH descriptor (which needs no read right) reopened for reading through /proc/self/fd.
int reopen(const char* path) {
  int fd = ::open(path, O_PATH | O_CLOEXEC);
  if (fd < 0) return result(-1);
  char proc[64];
  std::snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  int rd = ::open(proc, O_RDONLY | O_CLOEXEC);
  if (rd < 0) return result(-1);
  char c;
  return result(::read(rd, &c, 1));
}

// Reads PATH while something else swaps what it names, until it has met both of what PATH names
// (50 reads without NEEDLE, and 50 that saw NEEDLE or failed) or MAX attempts: the reader and the
// swapper run at speeds nobody controls, so the loop ends on what it saw, not on a count.
int read_loop(const char* path, int max, const char* needle) {
  int ok = 0, seen = 0, failed = 0, i = 0;
  std::map<std::string, int> errors;
  for (; i < max && (ok - seen < 50 || seen + failed < 50); ++i) {
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      ++failed;
      ++errors[strerrorname_np(errno)];
      continue;
    }
    char buf[256]{};
    if (::read(fd, buf, sizeof buf - 1) >= 0) {
      ++ok;
      seen += std::strstr(buf, needle) != nullptr;
    }
    ::close(fd);
  }
  std::printf("read %d of %d, saw %s %d times", ok, i, needle, seen);
  for (const auto& [e, count] : errors) std::printf(", %s %d", e.c_str(), count);
  std::printf("\n");
  return 0;
}

// A POSIX ACL equal to mode 0644, set as the system.posix_acl_access xattr: an xattr that every
// filesystem with ACLs takes (tmpfs before 6.6 has no user.* xattrs).
int set_acl(const char* path) {
  struct Entry {
    uint16_t tag, perm;
    uint32_t id;
  };
  struct {
    uint32_t version = 2;
    Entry e[3] = {{0x01, 6, ~0U}, {0x04, 4, ~0U}, {0x20, 4, ~0U}};  // user::rw- group::r-- other::r--
  } acl;
  return result(::setxattr(path, "system.posix_acl_access", &acl, sizeof acl, 0));
}

}  // namespace

void add_fs_actions(Actions& a, const Arg& arg) {
  a["mkdir"] = [=] { return result(::mkdir(arg(2), 0755)); };
  a["rmdir"] = [=] { return result(::rmdir(arg(2))); };
  a["unlink"] = [=] { return result(::unlink(arg(2))); };
  a["symlink"] = [=] { return result(::symlink(arg(2), arg(3))); };
  a["link"] = [=] { return result(::link(arg(2), arg(3))); };
  a["rename"] = [=] { return result(::rename(arg(2), arg(3))); };
  a["mknod-fifo"] = [=] { return result(::mkfifo(arg(2), 0644)); };
  a["truncate"] = [=] { return result(::truncate(arg(2), 0)); };
  a["chmod"] = [=] { return result(::chmod(arg(2), 0600)); };
  a["chown"] = [=] { return result(::chown(arg(2), ::getuid(), ::getgid())); };  // to itself
  a["setxattr"] = [=] { return result(::setxattr(arg(2), "user.agentos", "1", 1, 0)); };
  a["setacl"] = [=] { return set_acl(arg(2)); };
  a["rmxattr"] = [=] { return result(::removexattr(arg(2), "user.agentos")); };
  a["utime"] = [=] { return result(::utimensat(AT_FDCWD, arg(2), nullptr, 0)); };
  a["mmap-exec"] = [=] { return map_exec(arg(2), false); };
  a["mprotect-exec"] = [=] { return map_exec(arg(2), true); };
  a["memfd-exec"] = [=] { return memfd_exec(arg(2)); };
  a["execveat"] = [=] { return execveat_path(arg(2)); };
  a["reopen"] = [=] { return reopen(arg(2)); };
  a["read-loop"] = [=] { return read_loop(arg(2), std::atoi(arg(3)), arg(4)); };
}

}  // namespace probe
