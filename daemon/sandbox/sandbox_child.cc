#include "sandbox/sandbox_child.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/fd_passing.h"
#include "sandbox/caps.h"
#include "sandbox/child_report.h"
#include "sandbox/landlock.h"
#include "sandbox/mounts.h"
#include "sandbox/netns.h"
#include "sandbox/seccomp.h"
#include "sandbox/terminal.h"
#include "sandbox/userns.h"

namespace agentos::sandbox {
namespace {

[[noreturn]] void fail(int sync_fd, Stage stage, int err, const char* detail = "") {
  ChildReport r{stage, err, {}};
  std::strncpy(r.detail, detail, sizeof r.detail - 1);
  (void)!::send(sync_fd, &r, sizeof r, MSG_NOSIGNAL);
  ::_exit(127);
}

// Closes every descriptor from 3 on but `a` and `b` (-1 for none).
void close_other_fds(int a, int b) {
  int lo = a < b ? a : b, hi = a < b ? b : a;
  if (lo < 0) lo = hi;
  unsigned from = 3;
  for (int keep : {lo, hi}) {
    if (keep < 3 || static_cast<unsigned>(keep) < from) continue;
    if (static_cast<unsigned>(keep) > from) ::syscall(SYS_close_range, from, keep - 1, 0);
    from = static_cast<unsigned>(keep) + 1;
  }
  ::syscall(SYS_close_range, from, ~0U, 0);
}

// pid 1 of the agent's pid namespace: forwards signals to the agent, reaps orphans, and exits
// with the agent's status (128+N for signal N, as pid 1 cannot die of its own signal).
[[noreturn]] void run_init(pid_t agent) {
  sigset_t all;
  sigfillset(&all);
  for (;;) {
    siginfo_t info;
    int sig = ::sigwaitinfo(&all, &info);
    if (sig < 0) continue;
    if (sig != SIGCHLD) {
      ::kill(agent, sig);
      continue;
    }
    int status;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
      if (pid != agent) continue;
      ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    }
  }
}

// The sandbox's sockets, made here (in its own namespaces, where only it has rights) before the
// agent exists, and handed to the monitor, which holds them for the agent's lifetime: the
// broker's, in the agent's /run/agentos, and for [egress] the gateway's on its loopback (the
// proxy's two, the DNS stub's, one per port granted to a name).
void send_sockets(int sync_fd, int broker, const LaunchSpec& spec) {
  int fds[kMaxSandboxSockets];
  size_t n = 0;
  fds[n++] = broker;
  auto add = [&](int fd, const char* what) {
    if (fd < 0) fail(sync_fd, Stage::kGateway, -fd, what);
    fds[n++] = fd;
  };
  if (spec.gateway) {
    add(gateway_listener(AF_INET), "127.0.0.1");
    add(gateway_listener(AF_INET6), "[::1]");
    add(dns_stub_socket(), "the DNS stub, 127.0.0.1:53");
    for (size_t i = 0; i < spec.transparent_ports.size() && n < kMaxSandboxSockets; ++i)
      add(transparent_listener(spec.transparent_ports[i]), "a port granted in [egress]");
    for (size_t i = 0; i < spec.loopback6_ports.size() && n < kMaxSandboxSockets; ++i)
      add(loopback6_listener(spec.loopback6_ports[i]), "a port granted on the host's ::1 in [egress]");
  }
  ChildReport r{Stage::kSockets, 0, {}};
  if (send_with_fds(sync_fd, &r, sizeof r, fds, n) != sizeof r) fail(sync_fd, Stage::kSockets, errno, "send");
  for (size_t i = 0; i < n; ++i) ::close(fds[i]);
}

}  // namespace

void sandbox_child_main(LaunchSpec& spec, int sync_fd) {
  char go;
  if (::recv(sync_fd, &go, 1, 0) != 1) fail(sync_fd, Stage::kWaitForMaps, errno ? errno : EPIPE);

  if (int e = become_owner(spec.uid, spec.gid, spec.groups.data(), spec.groups.size()))
    fail(sync_fd, Stage::kIdentity, e);

  const char* what = "";
  int broker = -1;
  if (int e = spec.host_view ? build_host_view(spec, spec.landlock.abi > 0, &broker, &what) : build_root(spec, &broker, &what))
    fail(sync_fd, Stage::kMounts, e, what);
  if (::sethostname(spec.hostname.data(), spec.hostname.size()) != 0)
    fail(sync_fd, Stage::kHostname, errno);
  if (!spec.host_network)
    if (int e = bring_up_loopback()) fail(sync_fd, Stage::kLoopback, e);
  send_sockets(sync_fd, broker, spec);
  if (spec.tty) {
    // The agent's terminal: the monitor takes the master, the agent the slave.
    int master = -1, slave = -1;
    if (int e = make_terminal(spec.rows, spec.cols, &master, &slave, &what)) fail(sync_fd, Stage::kTerminal, e, what);
    ChildReport r{Stage::kTerminal, 0, {}};
    if (send_with_fds(sync_fd, &r, sizeof r, &master, 1) != sizeof r) fail(sync_fd, Stage::kTerminal, errno, "send");
    ::close(master);
    spec.stdin_fd = spec.stdout_fd = spec.stderr_fd = slave;
  }
  // Landlock's rules name the grant objects the daemon resolved: build them while those are open
  // (and once the terminal's devpts, which has a rule of its own, is in place).
  int ruleset = -1;
  if (int e = prepare_landlock(spec.landlock, &ruleset, &what)) fail(sync_fd, Stage::kLandlock, e, what);
  if (::chdir(spec.workdir.c_str()) != 0) fail(sync_fd, Stage::kWorkdir, errno, spec.workdir.c_str());

  // stdin is /dev/null, a pipe from the console or the sandbox's own terminal; output goes to the
  // monitor, which logs and relays it (an MCP server's: its protocol socket, and stderr to its
  // log). No terminal of the host's is ever inherited.
  if (::dup2(spec.stdin_fd, 0) < 0 || ::dup2(spec.stdout_fd, 1) < 0 ||
      ::dup2(spec.stderr_fd >= 0 ? spec.stderr_fd : spec.stdout_fd, 2) < 0)
    fail(sync_fd, Stage::kWorkdir, errno, "stdio");
  close_other_fds(sync_fd, ruleset);
  // The daemon raised its soft limit on descriptors (it holds a few per agent); the agent gets
  // the conventional 1024 back, as systemd gives services (select() cannot go past it), and may
  // raise it up to the hard limit itself.
  if (rlimit nofile; ::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur > kAgentFdSoftLimit) {
    nofile.rlim_cur = kAgentFdSoftLimit;
    ::setrlimit(RLIMIT_NOFILE, &nofile);
  }
  // Its processes and threads, counted in its own user namespace: a bound with or without a
  // cgroup pids controller.
  if (rlimit tasks{spec.max_tasks, spec.max_tasks}; spec.max_tasks && ::setrlimit(RLIMIT_NPROC, &tasks) != 0)
    fail(sync_fd, Stage::kCapabilities, errno, "RLIMIT_NPROC");
  if (::setsid() < 0) fail(sync_fd, Stage::kCapabilities, errno, "setsid");

  if (int e = drop_all_caps()) fail(sync_fd, Stage::kCapabilities, e);
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail(sync_fd, Stage::kNoNewPrivs, errno);
  if (int e = enforce_landlock(ruleset, &what)) fail(sync_fd, Stage::kLandlock, e, what);
  if (int e = install_filter(spec.seccomp)) fail(sync_fd, Stage::kSeccomp, e);

  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &all, nullptr);
  pid_t agent = ::fork();
  if (agent < 0) fail(sync_fd, Stage::kFork, errno);
  if (agent == 0) {
    // The agent starts as from a login shell: an ignored signal of the daemon's (SIGPIPE) would
    // survive exec and keep `yes | head` running forever.
    for (int s = 1; s < NSIG; ++s)
      if (s != SIGKILL && s != SIGSTOP) ::signal(s, SIG_DFL);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (spec.tty)
      if (int e = take_terminal(0)) fail(sync_fd, Stage::kTerminal, e, "TIOCSCTTY");
    ::execve(spec.argv[0], spec.argv.data(), spec.envp.data());
    fail(sync_fd, Stage::kExec, errno, spec.argv[0]);
  }
  ::close(sync_fd);
  run_init(agent);
}

}  // namespace agentos::sandbox
