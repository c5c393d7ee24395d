#include "sandbox/seccomp.h"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <memory>

#include "common/unique_fd.h"

namespace agentos::sandbox {
namespace {

struct CtxDeleter {
  void operator()(scmp_filter_ctx c) const { seccomp_release(c); }
};
using Ctx = std::unique_ptr<void, CtxDeleter>;

// Denied with EPERM. Each either escapes the namespaces (mount, setns, nested user namespaces),
// reaches the kernel's attack surface that agents have no use for (bpf, keyctl, perf, io_uring
// whose opens and connects bypass later per-syscall checks), or touches other processes.
constexpr const char* kDenied[] = {
    "mount", "umount2", "pivot_root", "move_mount", "open_tree", "fsopen", "fsconfig", "fsmount",
    "fspick", "mount_setattr", "setns", "chroot",
    "bpf", "keyctl", "add_key", "request_key",
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    "perf_event_open", "userfaultfd",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "open_by_handle_at", "name_to_handle_at",
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    "swapon", "swapoff", "reboot", "syslog", "acct", "quotactl", "quotactl_fd",
    "iopl", "ioperm", "lookup_dcookie", "uselib", "vhangup", "nfsservctl",
};

Status deny(scmp_filter_ctx ctx, int nr, unsigned count = 0, const scmp_arg_cmp* cmp = nullptr) {
  int rc = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EPERM), nr, count, cmp);
  if (rc < 0) return Error{-rc, "seccomp_rule_add"};
  return {};
}

}  // namespace

Result<std::vector<sock_filter>> build_baseline_filter(FilterOptions options) {
  Ctx ctx(seccomp_init(SCMP_ACT_ALLOW));
  if (!ctx) return error("seccomp_init failed");
  // A syscall from another ABI (int 0x80, x32) would dodge every rule below.
  if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS); rc < 0)
    return Error{-rc, "seccomp_attr_set(BADARCH)"};
  // Every syscall of every agent runs this filter: a binary tree over the syscall numbers costs a
  // few comparisons where the default linear list costs one per rule.
  if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2); rc < 0)
    return Error{-rc, "seccomp_attr_set(CTL_OPTIMIZE)"};

  for (const char* name : kDenied) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) continue;  // not on this architecture
    if (auto s = deny(ctx.get(), nr); !s) return s.error();
  }

  // Nested user namespaces: clone/unshare with CLONE_NEWUSER. clone3 passes its flags in memory
  // that seccomp cannot read, so it gets ENOSYS and libc falls back to clone.
  scmp_arg_cmp newuser = SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER);
  for (const char* name : {"clone", "unshare"})
    if (auto s = deny(ctx.get(), seccomp_syscall_resolve_name(name), 1, &newuser); !s)
      return s.error();
  if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(ENOSYS), seccomp_syscall_resolve_name("clone3"), 0);
      rc < 0)
    return Error{-rc, "seccomp_rule_add(clone3)"};

  // Typing into a terminal the agent might share (TIOCSTI), or console tricks (TIOCLINUX).
  // The kernel reads the request as 32 bits, so compare only those.
  for (unsigned long req : {static_cast<unsigned long>(TIOCSTI), static_cast<unsigned long>(TIOCLINUX)}) {
    scmp_arg_cmp cmp = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, req);
    if (auto s = deny(ctx.get(), seccomp_syscall_resolve_name("ioctl"), 1, &cmp); !s) return s.error();
  }

  // Socket families: Unix, IPv4, IPv6, and routing netlink (read-only without capabilities, and
  // libc's getaddrinfo uses it). No packet, other netlink, vsock, alg, bluetooth... (the
  // cgroup-BPF socket hooks see only IPv4 and IPv6 sockets, so this is where the rest is held).
  // socketpair() makes sockets too: Unix ones only.
  const int sock = seccomp_syscall_resolve_name("socket");
  const int pair = seccomp_syscall_resolve_name("socketpair");
  for (int family = 0; family < AF_MAX; ++family) {
    scmp_arg_cmp cmp = SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffUL, static_cast<unsigned long>(family));
    if (family != AF_UNIX && family != AF_INET && family != AF_INET6 && family != AF_NETLINK)
      if (int rc = seccomp_rule_add_array(ctx.get(), SCMP_ACT_ERRNO(EPERM), sock, 1, &cmp); rc < 0)
        return Error{-rc, "seccomp_rule_add(socket)"};
    if (family != AF_UNIX)
      if (int rc = seccomp_rule_add_array(ctx.get(), SCMP_ACT_ERRNO(EPERM), pair, 1, &cmp); rc < 0)
        return Error{-rc, "seccomp_rule_add(socketpair)"};
  }
  // IPv4 and IPv6: TCP, UDP and ping (ICMP) sockets, no other protocol (UDP-Lite 136, SCTP 132,
  // MPTCP 262, L2TP 115, ...: kernel code agents have no use for). The protocol is compared over
  // all 64 bits, so garbage in the upper half is refused too.
  for (int family : {AF_INET, AF_INET6}) {
    scmp_arg_cmp other[] = {SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffUL, static_cast<unsigned long>(family)),
                            SCMP_A2(SCMP_CMP_GT, static_cast<unsigned long>(IPPROTO_ICMPV6))};
    if (int rc = seccomp_rule_add_array(ctx.get(), SCMP_ACT_ERRNO(EPROTONOSUPPORT), sock, 2, other); rc < 0)
      return Error{-rc, "seccomp_rule_add(socket protocol)"};
  }
  // NETLINK_ROUTE is 0, so "any other protocol" is "protocol > 0" over all 64 bits: garbage in the
  // upper half is refused too, never read past.
  static_assert(NETLINK_ROUTE == 0);
  scmp_arg_cmp netlink[] = {SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffUL, AF_NETLINK),
                            SCMP_A2(SCMP_CMP_GT, 0UL)};
  if (int rc = seccomp_rule_add_array(ctx.get(), SCMP_ACT_ERRNO(EPERM), sock, 2, netlink); rc < 0)
    return Error{-rc, "seccomp_rule_add(netlink)"};

  // READ_IMPLIES_EXEC would make every readable mapping executable, past the noexec mounts and
  // the LSM's mmap checks. libseccomp compares an argument once per rule, so: the bit set and some
  // other bit clear, one rule per other bit; only the query 0xffffffff (every bit set) passes.
  constexpr unsigned long kReadImpliesExec = 0x0400000;
  for (unsigned bit = 0; bit < 32; ++bit) {
    if ((1UL << bit) == kReadImpliesExec) continue;
    scmp_arg_cmp cmp = SCMP_A0(SCMP_CMP_MASKED_EQ, kReadImpliesExec | (1UL << bit), kReadImpliesExec);
    if (auto s = deny(ctx.get(), seccomp_syscall_resolve_name("personality"), 1, &cmp); !s) return s.error();
  }
  // Secret memory is hidden from the kernel's own checks and from the daemon; nothing needs it.
  int secret_nr = seccomp_syscall_resolve_name("memfd_secret");
#ifdef __NR_memfd_secret
  if (secret_nr == __NR_SCMP_ERROR) secret_nr = __NR_memfd_secret;  // newer than this libseccomp
#endif
  if (secret_nr != __NR_SCMP_ERROR)
    if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(ENOSYS), secret_nr, 0); rc < 0)
      return Error{-rc, "seccomp_rule_add(memfd_secret)"};

  if (!options.executable_memfds) {
    constexpr unsigned kMfdNoexecSeal = 0x8;  // MFD_NOEXEC_SEAL (Linux 6.3; newer than our headers)
    scmp_arg_cmp exec_allowed = SCMP_A1(SCMP_CMP_MASKED_EQ, kMfdNoexecSeal, 0);
    if (int rc = seccomp_rule_add_array(ctx.get(), SCMP_ACT_ERRNO(ENOSYS), seccomp_syscall_resolve_name("memfd_create"),
                                        1, &exec_allowed);
        rc < 0)
      return Error{-rc, "seccomp_rule_add(memfd_create)"};
  }

  if (!options.listen)
    if (auto s = deny(ctx.get(), seccomp_syscall_resolve_name("listen")); !s) return s.error();

  // libseccomp 2.5 exports only to an fd; read the program back from a memfd.
  UniqueFd mem(::memfd_create("agentos-seccomp", MFD_CLOEXEC));
  if (!mem.valid()) return sys_error("memfd_create");
  if (int rc = seccomp_export_bpf(ctx.get(), mem.get()); rc < 0) return Error{-rc, "seccomp_export_bpf"};
  off_t size = ::lseek(mem.get(), 0, SEEK_END);
  if (size <= 0 || size % sizeof(sock_filter) != 0) return error("seccomp_export_bpf: bad program size");
  std::vector<sock_filter> prog(static_cast<size_t>(size) / sizeof(sock_filter));
  if (::pread(mem.get(), prog.data(), static_cast<size_t>(size), 0) != size) return sys_error("pread");
  return prog;
}

int install_filter(const std::vector<sock_filter>& prog) {
  sock_fprog fprog{static_cast<unsigned short>(prog.size()), const_cast<sock_filter*>(prog.data())};
  return ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) == 0 ? 0 : errno;
}

}  // namespace agentos::sandbox
