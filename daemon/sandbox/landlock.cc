#include "sandbox/landlock.h"

#include <fcntl.h>
#include <linux/landlock.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

// Debian 12's uapi headers stop at ABI 2; the kernel's ABI is stable, so name the rest here.
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)  // ABI 3
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)  // ABI 5
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)  // ABI 6
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)
#endif

namespace agentos::sandbox {
namespace {

// struct landlock_ruleset_attr as of ABI 6; the kernel reads only the size we pass.
struct RulesetAttr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;
  uint64_t scoped;
};

constexpr uint64_t kFileOnly = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
                               LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |
                               LANDLOCK_ACCESS_FS_IOCTL_DEV;

uint64_t handled_at(int abi) {
  if (abi < 1) return 0;
  uint64_t all = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;  // ABI 1: bits 0..12
  if (abi >= 2) all |= LANDLOCK_ACCESS_FS_REFER;
  if (abi >= 3) all |= LANDLOCK_ACCESS_FS_TRUNCATE;
  if (abi >= 5) all |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
  return all;
}

uint64_t supported(uint64_t access) { return access & handled_at(landlock_abi()); }

}  // namespace

int landlock_abi() {
  static const int abi = [] {
    long v = ::syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
    return v < 0 ? 0 : static_cast<int>(v);
  }();
  return abi;
}

uint64_t landlock_read_access() {
  return supported(LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR);
}

uint64_t landlock_exec_access() { return landlock_read_access() | supported(LANDLOCK_ACCESS_FS_EXECUTE); }

uint64_t landlock_write_access() {
  return landlock_read_access() |
         supported(LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |
                   LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_DIR |
                   LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SYM |
                   LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |
                   LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_TRUNCATE);
}

uint64_t landlock_device_access() {
  return supported(LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |
                   LANDLOCK_ACCESS_FS_IOCTL_DEV);
}

void add_sandbox_rules(LandlockPlan& plan, bool host_view) {
  plan.abi = landlock_abi();
  plan.handled_fs = handled_at(plan.abi);
  // Signals and abstract sockets stay inside the agent's domain (ABI 6).
  plan.scoped = plan.abi >= 6 ? LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL : 0;
  plan.rules.push_back({"/proc", landlock_read_access()});  // the agent's own, in both views
  const uint64_t device = landlock_device_access();
  for (const char* node : {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"})
    plan.rules.push_back({node, device});
  // The agent's own terminals (devpts of its own, with `run -t`): absent otherwise.
  plan.rules.push_back({"/dev/pts", device, -1, true});
  if (host_view) return;
  // Listing directories; what exists at all is the mount namespace's decision.
  plan.rules.push_back({"/", supported(LANDLOCK_ACCESS_FS_READ_DIR)});
  // The sandbox's own /etc/hosts and nsswitch.conf, where no grant shows the host's (mounts.cc).
  for (const char* file : {"/etc/hosts", "/etc/nsswitch.conf"})
    plan.rules.push_back({file, supported(LANDLOCK_ACCESS_FS_READ_FILE), -1, true});
  // Private scratch space: writable, but nothing written there may be executed.
  plan.rules.push_back({"/tmp", landlock_write_access()});
  plan.rules.push_back({"/dev/shm", landlock_write_access()});
}

int prepare_landlock(const LandlockPlan& plan, int* ruleset, const char** what) {
  *ruleset = -1;
  if (plan.abi < 1) return 0;
  RulesetAttr attr{plan.handled_fs, 0, plan.scoped};
  size_t size = plan.abi >= 6 ? sizeof attr : plan.abi >= 4 ? 2 * sizeof(uint64_t) : sizeof(uint64_t);
  *what = "landlock_create_ruleset";
  int rs = static_cast<int>(::syscall(SYS_landlock_create_ruleset, &attr, size, 0));
  if (rs < 0) return errno;
  for (const auto& r : plan.rules) {
    *what = r.path.c_str();
    int fd = r.fd >= 0 ? r.fd : ::open(r.path.c_str(), O_PATH | O_CLOEXEC);
    if (fd < 0 && r.optional && errno == ENOENT) continue;
    if (fd < 0) {
      int e = errno;
      ::close(rs);
      return e;
    }
    struct stat st;
    landlock_path_beneath_attr rule{r.access, fd};
    if (::fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode)) rule.allowed_access &= kFileOnly;
    long rc = rule.allowed_access ? ::syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) : 0;
    int e = errno;
    if (fd != r.fd) ::close(fd);
    if (rc != 0) {
      ::close(rs);
      return e;
    }
  }
  *ruleset = rs;
  return 0;
}

int enforce_landlock(int ruleset, const char** what) {
  if (ruleset < 0) return 0;
  *what = "landlock_restrict_self";
  long rc = ::syscall(SYS_landlock_restrict_self, ruleset, 0);
  int e = errno;
  ::close(ruleset);
  return rc == 0 ? 0 : e;
}

}  // namespace agentos::sandbox
