#include "sandbox/launcher.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "common/fd_passing.h"
#include "common/unique_fd.h"
#include "sandbox/netns.h"
#include "sandbox/relay.h"
#include "sandbox/sandbox_child.h"
#include "sandbox/userns.h"

namespace agentos::sandbox {
namespace {

constexpr int kLaunchTimeoutMs = 30'000;
constexpr size_t kMaxReportFds = kMaxSandboxSockets;

// What the monitor tells the daemon once the agent runs or setup failed.
struct LaunchReport {
  int32_t ok;
  int32_t init_pid;
  ChildReport child;
  int32_t listener_fds[kMaxSandboxSockets];  // the broker's socket, then the gateway's, as numbered in the monitor; -1 after the last
};

LaunchReport make_report(bool ok, pid_t init_pid, const ChildReport& child) {
  LaunchReport r{ok, init_pid, child, {}};
  std::fill(std::begin(r.listener_fds), std::end(r.listener_fds), -1);
  return r;
}

[[noreturn]] void report_and_exit(int fd, const LaunchReport& r) {
  (void)!::send(fd, &r, sizeof r, MSG_NOSIGNAL);
  ::_exit(r.ok ? 0 : 1);
}

[[noreturn]] void monitor_fail(int fd, Stage stage, int err, const char* detail) {
  LaunchReport r = make_report(false, -1, {stage, err, {}});
  std::strncpy(r.child.detail, detail, sizeof r.child.detail - 1);
  report_and_exit(fd, r);
}

// The monitor is a fork of the single-threaded daemon, so it may allocate.
void close_all_except(std::vector<int> keep) {
  std::erase_if(keep, [](int fd) { return fd < 0; });
  std::sort(keep.begin(), keep.end());
  size_t n = keep.size();
  unsigned from = 3;
  for (size_t i = 0; i < n; ++i) {
    if (static_cast<unsigned>(keep[i]) < from) continue;
    if (static_cast<unsigned>(keep[i]) > from) ::syscall(SYS_close_range, from, keep[i] - 1, 0);
    from = static_cast<unsigned>(keep[i]) + 1;
  }
  ::syscall(SYS_close_range, from, ~0U, 0);
}

void write_exit_file(const std::string& path, int status) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  char buf[32];
  int n = std::snprintf(buf, sizeof buf, "%d\n", status);
  bool ok = ::write(fd, buf, n) == n && ::fsync(fd) == 0;
  ::close(fd);
  if (ok) ::rename(tmp.c_str(), path.c_str());
}

// The mounts the sandbox will show, cloned here from the daemon's grant objects while the monitor
// still sees the host's mount namespace (a clone made inside the sandbox's own namespace could
// only come from a path). Private root: every grant; host view: the write grants that go back on
// top of the read-only tree (only where Landlock is the file layer; under the LSM nothing is
// remounted). Returns 0, or an errno with *what set.
int clone_grants(LaunchSpec& spec, const char** what) {
  for (auto& g : spec.grants) {
    if (spec.host_view && !(spec.landlock.abi > 0 && g.writable)) continue;
    *what = g.source.c_str();
    g.tree_fd = static_cast<int>(::syscall(SYS_open_tree, g.object_fd, "",
                                           AT_EMPTY_PATH | OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE));
    if (g.tree_fd < 0) return errno;
    mount_attr attr{};
    attr.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (g.writable ? 0 : MOUNT_ATTR_RDONLY) |
                    (g.noexec ? MOUNT_ATTR_NOEXEC : 0);
    // A clone of a shared mount (systemd makes / shared) is the host's peer: what the sandbox
    // mounts on it (its resolv.conf, a nested grant) would appear on the host. Private, it is not.
    attr.propagation = MS_PRIVATE;
    if (::syscall(SYS_mount_setattr, g.tree_fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) != 0) return errno;
  }
  // A granted device node: the one mount that keeps device access (the host view has its own).
  for (auto& d : spec.devices) {
    if (spec.host_view) continue;
    *what = d.source.c_str();
    d.tree_fd = static_cast<int>(::syscall(SYS_open_tree, d.object_fd, "", AT_EMPTY_PATH | OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
    if (d.tree_fd < 0) return errno;
    mount_attr attr{};
    attr.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC;
    attr.attr_clr = MOUNT_ATTR_NODEV;
    attr.propagation = MS_PRIVATE;
    if (::syscall(SYS_mount_setattr, d.tree_fd, "", AT_EMPTY_PATH, &attr, sizeof attr) != 0) return errno;
  }
  return 0;
}

// The monitor: a fork of the single-threaded daemon, so allocation is still safe here.
[[noreturn]] void run_monitor(LaunchSpec& spec, int report_fd) {
  ::setsid();
  ::prctl(PR_SET_NAME, "agentos-monitor", 0, 0, 0);
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, s);
  ::sigprocmask(SIG_SETMASK, &set, nullptr);
  std::vector<int> keep = spec.keep_fds;
  keep.insert(keep.end(), {report_fd, spec.stdout_fd, spec.stdin_fd, spec.stderr_fd, spec.cgroup_fd, spec.log_fd,
                          spec.console_fd, spec.console_peer_fd});
  for (const auto& o : spec.objects) keep.push_back(o.get());
  close_all_except(std::move(keep));
  if (const char* what = ""; int e = clone_grants(spec, &what)) monitor_fail(report_fd, Stage::kMounts, e, what);
  // The agent's stdio, relayed by this monitor (relay.h): pipes, unless the sandbox makes a terminal.
  RelayFds relay{-1, -1, -1, spec.tty, spec.console_fd, spec.log_fd, false};
  int child_ends[3] = {-1, -1, -1};
  if (spec.relay && !spec.tty) {
    int out[2], err[2], in[2] = {-1, -1};
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0 || (spec.interactive && ::pipe2(in, O_CLOEXEC) != 0))
      monitor_fail(report_fd, Stage::kWaitForMaps, errno, "pipes for the agent's stdio");
    relay.out = out[0], relay.err = err[0], relay.in = in[1];
    spec.stdout_fd = child_ends[0] = out[1];
    spec.stderr_fd = child_ends[1] = err[1];
    if (in[0] >= 0) spec.stdin_fd = child_ends[2] = in[0];
  }

  int sync[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync) != 0)
    monitor_fail(report_fd, Stage::kWaitForMaps, errno, "socketpair");

  clone_args args{};
  args.flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS |
               CLONE_NEWCGROUP | CLONE_INTO_CGROUP | (spec.host_network ? 0 : CLONE_NEWNET);
  args.exit_signal = SIGCHLD;
  args.cgroup = static_cast<uint64_t>(spec.cgroup_fd);
  // The child starts inside its cgroup, so every cgroup-keyed layer holds from its first instruction.
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0) monitor_fail(report_fd, Stage::kWaitForMaps, errno, "clone3");
  if (pid == 0) {
    ::close(sync[0]);
    ::close(report_fd);
    sandbox_child_main(spec, sync[1]);
  }
  ::close(sync[1]);
  for (int fd : child_ends)
    if (fd >= 0) ::close(fd);  // the agent's ends: a pipe's reader sees its end when the agent's go
  auto child = static_cast<pid_t>(pid);
  // The sandbox has its own copies of the grants; the monitor outlives them all.
  for (auto* mounts : {&spec.grants, &spec.devices})
    for (auto& g : *mounts)
      if (g.tree_fd >= 0) ::close(std::exchange(g.tree_fd, -1));
  for (auto& o : spec.objects) o.reset();

  if (auto s = write_id_maps(child, spec.uid, spec.gid, spec.groups); !s) {
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    monitor_fail(report_fd, Stage::kWaitForMaps, s.error().err, s.error().what.c_str());
  }
  char go = 1;
  if (::send(sync[0], &go, 1, MSG_NOSIGNAL) != 1) monitor_fail(report_fd, Stage::kWaitForMaps, errno, "sync");

  // The child's end closes on its execve (CLOEXEC): end of stream means the agent runs. Before
  // that, it sends its listening sockets (the broker's, and the gateway's for [egress]), which the
  // monitor holds from then on: the daemon gets copies now, and a restarted daemon takes copies
  // again (pidfd_getfd).
  ChildReport cr{};
  std::vector<UniqueFd> listeners;
  ssize_t n;
  for (;;) {
    int fds[kMaxReportFds];
    size_t nfds = 0;
    do n = recv_with_fds(sync[0], &cr, sizeof cr, fds, kMaxReportFds, &nfds);
    while (n < 0 && errno == EINTR);
    bool listeners_msg = n == sizeof cr && cr.stage == Stage::kSockets && cr.err == 0;
    bool terminal_msg = n == sizeof cr && cr.stage == Stage::kTerminal && cr.err == 0 && nfds == 1;
    for (size_t i = 0; i < nfds; ++i) {
      if (listeners_msg) listeners.emplace_back(fds[i]);
      else if (terminal_msg) relay.out = relay.in = fds[i];  // the agent's terminal, its master
      else ::close(fds[i]);
    }
    if (!listeners_msg && !terminal_msg) break;
  }
  ::close(sync[0]);
  if (n != 0) {
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    if (n != sizeof cr) cr = {Stage::kExec, n < 0 ? errno : EPROTO, {}};
    report_and_exit(report_fd, make_report(false, -1, cr));
  }
  LaunchReport ok = make_report(true, child, {});
  int fds[kMaxSandboxSockets];
  size_t nfds = std::min(listeners.size(), kMaxSandboxSockets);
  for (size_t i = 0; i < nfds; ++i) fds[i] = ok.listener_fds[i] = listeners[i].get();
  (void)send_with_fds(report_fd, &ok, sizeof ok, fds, nfds);
  ::close(report_fd);
  for (auto& l : listeners) (void)l.release();  // held for the agent's lifetime

  if (spec.relay) {
    UniqueFd signals(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
    relay.attached = spec.console_attached;
    write_exit_file(spec.exit_path, run_relay(child, signals.get(), relay));
    ::_exit(0);
  }
  for (;;) {
    siginfo_t info;
    int sig = ::sigwaitinfo(&set, &info);
    if (sig == SIGCHLD) {
      int status;
      if (::waitpid(child, &status, WNOHANG) == child) {
        write_exit_file(spec.exit_path, status);
        ::_exit(0);
      }
    } else if (sig > 0) {
      ::kill(child, sig);  // SIGTERM, SIGINT or SIGHUP: init forwards it to the agent
    }
  }
}

}  // namespace

std::string LaunchFailure::str() const {
  std::string s = std::string(stage_name(stage)) + " failed";
  if (!detail.empty()) s += " (" + detail + ")";
  if (err) s += ": " + std::string(std::strerror(err));
  return s;
}

Result<Launched> launch(LaunchSpec& spec, LaunchFailure* failure) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) return sys_error("socketpair");
  UniqueFd report(pair[0]);
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(pair[1]);
    return sys_error("fork");
  }
  if (pid == 0) run_monitor(spec, pair[1]);
  ::close(pair[1]);

  Launched out;
  out.monitor_pid = pid;
  // Not yet reaped, so the pid cannot have been reused.
  out.monitor_pidfd.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));

  pollfd pfd{report.get(), POLLIN, 0};
  int rc;
  do rc = ::poll(&pfd, 1, kLaunchTimeoutMs);
  while (rc < 0 && errno == EINTR);
  LaunchReport r{};
  int fds[kMaxReportFds];
  size_t nfds = 0;
  ssize_t n = rc > 0 ? recv_with_fds(report.get(), &r, sizeof r, fds, kMaxReportFds, &nfds, MSG_DONTWAIT) : -1;
  for (size_t i = 0; i < nfds; ++i) {
    if (i == 0) out.broker_listener.reset(fds[i]);  // the broker's comes first
    else out.gateway_listeners.emplace_back(fds[i]);
  }
  if (n != sizeof r || !r.ok) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    if (n == sizeof r) {
      *failure = {r.child.stage, r.child.err, std::string(r.child.detail, strnlen(r.child.detail, sizeof r.child.detail))};
    } else {
      *failure = {Stage::kWaitForMaps, rc == 0 ? ETIMEDOUT : EPROTO, "no report from the monitor"};
    }
    return error(failure->str());
  }
  out.init_pid = r.init_pid;
  out.monitor_broker_fd = r.listener_fds[0];
  for (size_t i = 1; i < kMaxSandboxSockets && r.listener_fds[i] >= 0; ++i) out.monitor_listener_fds.push_back(r.listener_fds[i]);
  return out;
}

ExitStatus decode_wait_status(int status) {
  if (WIFSIGNALED(status)) return {128 + WTERMSIG(status), WTERMSIG(status)};
  int code = WEXITSTATUS(status);
  // pid 1 reports the agent's death by signal N as 128+N.
  return {code, code > 128 && code < 128 + 65 ? code - 128 : 0};
}

Result<ExitStatus> read_exit_file(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "re");
  if (!f) return sys_error(path);
  int status = 0;
  int got = std::fscanf(f, "%d", &status);
  std::fclose(f);
  if (got != 1) return error(path + ": malformed");
  return decode_wait_status(status);
}

}  // namespace agentos::sandbox
