#include "sandbox/helper.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/landlock.h"
#include "sandbox/seccomp.h"

namespace agentos::sandbox {

Result<Helper> spawn_helper(const HelperSpec& spec) {
  if (spec.uid == 0) return error(spec.binary + ": a helper never runs as root");
  if (!spec.seccomp) return error(spec.binary + ": a helper needs a seccomp filter");
  if (spec.fds.size() > 16) return error(spec.binary + ": too many descriptors for a helper");

  // Everything the child needs is built before fork: after it, only async-signal-safe calls.
  std::vector<std::string> args = spec.args;
  args.insert(args.begin(), spec.binary);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  char path_env[] = "PATH=/usr/bin:/bin";
  char* envp[] = {path_env, nullptr};
  LandlockPlan plan;
  if (!spec.read_only.empty() && landlock_abi() > 0) {
    plan.abi = landlock_abi();
    plan.handled_fs = landlock_read_access() | landlock_write_access() | landlock_exec_access();
    struct stat st;
    for (const auto& p : spec.read_only)  // a tree this system lacks (/lib64) needs no rule
      if (::stat(p.c_str(), &st) == 0) plan.rules.push_back({p, landlock_read_access() | landlock_exec_access()});
  }
  UniqueFd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!devnull.valid()) return sys_error("open /dev/null");
  // Above every target number, so moving one into place never overwrites another still to move.
  std::vector<UniqueFd> staged;
  for (int fd : spec.fds) {
    staged.emplace_back(::fcntl(fd, F_DUPFD_CLOEXEC, 64));
    if (!staged.back().valid()) return sys_error("dup a helper's descriptor");
  }
  const int in = spec.stdin_fd >= 0 ? spec.stdin_fd : devnull.get();
  const int out = spec.stdout_fd >= 0 ? spec.stdout_fd : devnull.get();
  const uid_t uid = spec.uid;

  pid_t pid = ::fork();
  if (pid < 0) return sys_error("fork " + spec.binary);
  if (pid == 0) {
    sigset_t none;  // the daemon blocks the signals its signalfd reads; a helper starts with none
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (::dup2(in, 0) != 0 || ::dup2(out, 1) != 1) ::_exit(126);
    for (size_t i = 0; i < staged.size(); ++i)
      if (::dup2(staged[i].get(), 3 + static_cast<int>(i)) < 0) ::_exit(126);
    ::syscall(SYS_close_range, 3 + staged.size(), ~0U, 0);
    if (::setgroups(0, nullptr) != 0 || ::setresgid(uid, uid, uid) != 0 || ::setresuid(uid, uid, uid) != 0) ::_exit(126);
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ::_exit(126);
    const char* what = nullptr;
    int ruleset = -1;
    if (prepare_landlock(plan, &ruleset, &what) != 0 || enforce_landlock(ruleset, &what) != 0) ::_exit(126);
    if (install_filter(*spec.seccomp) != 0) ::_exit(126);
    ::execve(argv[0], argv.data(), envp);
    ::_exit(127);
  }
  Helper h;
  h.pid = pid;
  h.pidfd.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!h.pidfd.valid()) return sys_error("pidfd_open " + spec.binary);
  return h;
}

}  // namespace agentos::sandbox
