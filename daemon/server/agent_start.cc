// Starting an agent: the refusals first, then one owned step at a time (agent_manager.h).
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <ctime>
#include <sstream>

#include "common/log.h"
#include "common/random_id.h"
#include "enforce/grant_entry.h"
#include "policy/limit_values.h"
#include "policy/paths.h"
#include "sandbox/landlock.h"
#include "sandbox/launcher.h"
#include "sandbox/mount_table.h"
#include "server/agent_manager.h"
#include "server/agent_manager_detail.h"

namespace agentos {
namespace {

using agent_detail::fs_grants;
using agent_detail::read_all;

std::vector<std::string> namespaces_of(pid_t pid) {
  std::vector<std::string> out;
  for (const char* ns : {"cgroup", "ipc", "mnt", "net", "pid", "user", "uts"}) {
    char buf[64];
    std::string link = "/proc/" + std::to_string(pid) + "/ns/" + ns;
    ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
    if (n > 0) out.emplace_back(buf, static_cast<size_t>(n));
  }
  return out;
}

// The agent's log while its start is under way: a start that fails leaves none behind.
class LogFile {
 public:
  explicit LogFile(std::string path)
      : path_(std::move(path)), fd_(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600)) {}
  LogFile(const LogFile&) = delete;
  LogFile& operator=(const LogFile&) = delete;
  ~LogFile() {
    if (fd_.valid()) ::unlink(path_.c_str());
  }
  [[nodiscard]] bool valid() const { return fd_.valid(); }
  [[nodiscard]] int fd() const { return fd_.get(); }
  UniqueFd release() { return std::move(fd_); }

 private:
  std::string path_;
  UniqueFd fd_;
};

// Test builds only (AGENTOS_FAULT_INJECTION): the step AGENTOS_FAIL_START_AT names fails, once
// what came before it exists, so that the tests see each step's undo.
Status step_done([[maybe_unused]] std::string_view step) {
#ifdef AGENTOS_FAULT_INJECTION
  if (const char* at = std::getenv("AGENTOS_FAIL_START_AT"); at && step == at)
    return error("injected failure after the step \"" + std::string(step) + "\"");
#endif
  return {};
}

}  // namespace

Status AgentManager::prepare_data_dirs(const policy::Policy& p, uid_t uid, gid_t gid) const {
  // A root-owned agent runs as a fresh dynamic uid that owns nothing yet: create its writable
  // directories under <state>/agents, as systemd's StateDirectory= does. An agent owns what is
  // there from earlier runs and may have planted links in it, so everything goes through
  // directory descriptors and never follows a link.
  const std::string base = paths_.state_dir + "/agents";
  for (const auto& w : p.write) {
    if (w == base || !policy::path_covers(base, w)) continue;
    UniqueFd dir(::open(base.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir.valid()) return sys_error("open " + base);
    std::stringstream rest(w.substr(base.size() + 1));
    std::vector<std::string> parts;
    for (std::string part; std::getline(rest, part, '/');) parts.push_back(part);
    for (size_t i = 0; i < parts.size(); ++i) {
      bool last = i + 1 == parts.size();
      // Each new directory on the way is root's but traversable; only the last is the agent's.
      bool made = ::mkdirat(dir.get(), parts[i].c_str(), 0700) == 0;
      if (!made && errno != EEXIST) return sys_error("mkdir " + w);
      UniqueFd next(::openat(dir.get(), parts[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!next.valid()) return sys_error("state directory " + w + ": " + parts[i] + " is not a directory of its own");
      if (made && (::fchmod(next.get(), last ? 0700 : 0755) != 0 || (last && ::fchown(next.get(), uid, gid) != 0)))
        return sys_error("chown " + w);
      dir = std::move(next);
    }
  }
  return {};
}

// Refusals before anything is made: what this machine cannot confine is never started.
Status AgentManager::confinable(const policy::Policy& p) const {
  auto cannot = [](std::string what) { return error(ErrorKind::kCannotConfine, std::move(what)); };
  if (p.host_filesystem && !lsm_ && !(landlock_ && sandbox::landlock_abi() > 0))
    return cannot("agent \"" + p.name + "\" needs [filesystem] view = \"host\", which only BPF LSM or "
                  "Landlock can confine, and neither is available");
  if (p.host_filesystem && !lsm_ && !unix_)
    return cannot("agent \"" + p.name + "\" needs [filesystem] view = \"host\": there it would reach every Unix socket "
                  "its owner can (ssh-agent, D-Bus, ...), since Landlock does not govern connect(), and neither BPF LSM "
                  "nor the cgroup unix socket hooks (Linux 6.7) are available to");
  if (p.audit_mode && !lsm_)
    return cannot("agent \"" + p.name + "\" is in audit mode, which needs BPF LSM to log and allow file "
                  "accesses; it is unavailable here, and the fallback (Landlock) can only refuse");
  if (p.host_network && !net_)
    return cannot("agent \"" + p.name + "\" needs [network] namespace = \"host\", which needs the "
                  "cgroup-BPF socket hooks, and they are unavailable: " + net_missing_);
  if (p.host_network && !lsm_)
    for (const auto& r : p.bind)
      if (r.proto == policy::Proto::kTcp)
        return cannot("agent \"" + p.name + "\" has the TCP bind grant " + r.text + ", which needs BPF LSM to check "
                      "listen(); without it the cgroup hooks cannot see every port a socket listens on, so agents "
                      "on the host's network may not listen here");
  return {};
}

// The agent's grants in every guard that governs it, installed before its first instruction:
// it is governed by cgroup, and the cgroup exists now, empty.
Result<AgentManager::Grants> AgentManager::install_grants(const policy::Policy& p, const sandbox::LaunchSpec& spec,
                                                          uint64_t cg_id) {
  Grants g;
  auto take = [](auto entry, auto& slot) -> Status {
    if (!entry) return with_kind(entry.error(), ErrorKind::kCannotConfine);
    slot = std::move(*entry);
    return {};
  };
  Status s;
  if (lsm_) s = take(enforce::grant(*lsm_, cg_id, fs_grants(spec), p.host_network, p.audit_mode), g.files);
  if (s && p.host_network) s = take(enforce::grant(*net_, cg_id, p), g.sockets);
  if (s) s = step_done("sockets");
  if (s && p.host_filesystem && !lsm_) s = take(enforce::grant(*unix_, cg_id), g.unix_sockets);
  if (s && dev_) s = take(enforce::grant(*dev_, cg_id, spec.device_numbers), g.devices);
  if (s) s = step_done("devices");
  if (!s) return s.error();  // `g` takes back what was installed
  return g;
}

void AgentManager::Grants::release() {
  files.release();
  sockets.release();
  unix_sockets.release();
  devices.release();
}

// A start is a sequence of owned steps: a failure at any step returns, and the owners made so far
// (the cgroup, the map entries, the log) undo themselves. Only a launched agent releases them.
Result<const AgentRecord*> AgentManager::run(const policy::Policy& given, const Peer& owner,
                                             const DelegateStart* delegate, const ServerStdio* stdio,
                                             const ConsoleRequest* console) {
  policy::Policy p = given;
  if (delegate) {  // the parser keeps AGENTOS_* for the daemon: here it is the daemon
    if (delegate->task.size() > 64 * 1024) return error(ErrorKind::kInvalid, "a task is at most 64 KiB");
    p.env["AGENTOS_TASK"] = delegate->task;
    p.env["AGENTOS_TRACE"] = delegate->trace;
    p.env["AGENTOS_DELEGATED_BY"] = delegate->delegated_by;
  }
  if (p.serve && !stdio)
    return error(ErrorKind::kInvalid, "agent \"" + p.name + "\" is an MCP server ([serve]): the daemon starts it from "
                 "the policy directory, and agents use its tools through the broker");
  for (const auto& [id, a] : agents_)
    if (!delegate && a.record.name == p.name && a.record.owner_uid == owner.uid && a.record.state == AgentState::kRunning)
      return error(ErrorKind::kExists, "agent \"" + p.name + "\" is already running as " + id);
  if (auto s = confinable(p); !s) return s.error();

  uid_t uid = owner.uid;
  gid_t gid = owner.gid;
  std::vector<gid_t> groups = owner.groups;
  if (owner.uid == 0) {
    auto dyn = users_.uid_for(p.name);
    if (!dyn) return dyn.error();
    uid = gid = *dyn;
    groups.clear();
    if (auto s = prepare_data_dirs(p, uid, gid); !s) return with_kind(s.error(), ErrorKind::kInvalid);
  }
  // Keep only groups the agent may hold; gid_map lines are capped by the kernel at 340.
  if (groups.size() > 300) groups.resize(300);

  std::string id;
  do id = random_hex(6);  // 48 bits, but an ended agent's record is kept under its id
  while (agents_.contains(id));
  for (AgentService* s : services_)
    if (auto admitted = s->admit(id, p, owner.uid); !admitted) return admitted.error();
  if (auto s = step_done("admit"); !s) return s.error();
  auto spec = sandbox::make_launch_spec(p, id, uid, gid, groups);
  if (!spec) return with_kind(spec.error(), ErrorKind::kCannotConfine);
  if (delegate && delegate->delegator)
    if (auto within = sandbox::objects_within(*spec, *delegate->delegator); !within)
      return error(ErrorKind::kInvalid, "agent \"" + p.name + "\" as a delegate: " + within.error().str());
  if (!bridge_.empty() && ::access(bridge_.c_str(), X_OK) == 0) sandbox::add_bridge(*spec, bridge_);
  if (!lsm_) {
    // Landlock judges paths: refuse what it would grant that the object rule would not.
    std::vector<std::string> paths;
    for (const auto& [path, right] : spec->fs_rights) paths.push_back(path);
    if (auto b = sandbox::bind_mount_beneath(read_all("/proc/self/mountinfo"), paths))
      return error(ErrorKind::kCannotConfine,
                   "agent \"" + p.name + "\": " + b->mount_point + " is a bind mount of " + b->source + " inside the grant " +
                       b->grant + "; Landlock, the file layer here without BPF LSM, would grant it by its path though its "
                       "files live elsewhere, so the agent is not started");
  }

  std::vector<sandbox::LimitState> limits;
  policy::Limits bounds = p.limits;  // every agent is bounded, whatever its policy says
  if (!bounds.pids) bounds.pids = policy::kDefaultPids;
  auto cg = cgroups_.create(id, bounds, &limits);
  if (!cg) return cg.error();
  auto cg_id = enforce::cgroup_id(cg->fd());
  if (!cg_id) return cg_id.error();
  if (auto s = step_done("cgroup"); !s) return s.error();
  auto grants = install_grants(p, *spec, *cg_id);
  if (!grants) return grants.error();

  LogFile log(paths_.log(id));
  UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!log.valid() || !devnull.valid()) return sys_error("open " + paths_.log(id));
  if (auto s = step_done("log"); !s) return s.error();

  // Landlock is the fallback: where the LSM governs files it is left out, so that file grants can
  // also be replaced live (a Landlock domain can only ever narrow).
  if (!landlock_ || lsm_) spec->landlock = {};
  spec->seccomp = p.host_network ? seccomp_.host_network : seccomp_.own_network;
  if (lsm_) spec->keep_fds = lsm_->link_fds();
  spec->stdout_fd = stdio ? stdio->fd : log.fd();
  spec->stdin_fd = stdio ? stdio->fd : devnull.get();
  spec->stderr_fd = log.fd();
  // Every agent but an MCP server (whose stdio is its protocol) has a console: its monitor relays
  // its output to the log and to an attached client, and the client's input to it.
  UniqueFd console_daemon, console_monitor;
  if (!stdio) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) != 0)
      return sys_error("console socketpair");
    console_daemon.reset(pair[0]);
    console_monitor.reset(pair[1]);
    if (auto s = step_done("console"); !s) return s.error();
    spec->relay = true;
    spec->log_fd = log.fd();
    spec->console_fd = console_monitor.get();
    spec->console_peer_fd = console_daemon.get();
    if (console) {
      spec->console_attached = console->attached;
      spec->interactive = console->interactive;
      spec->tty = console->tty;
      spec->rows = console->rows;
      spec->cols = console->cols;
      if (console->tty) spec->set_env("TERM", console->term.empty() ? "xterm" : console->term);
    }
  }
  spec->cgroup_fd = cg->fd();
  spec->exit_path = paths_.exit_file(id);

  sandbox::LaunchFailure failure;
  auto launched = sandbox::launch(*spec, &failure);
  std::string failed = launched ? "" : failure.str();
  if (auto s = launched ? step_done("launch") : Status{}; !s) failed = s.error().str();
  if (!failed.empty()) {
    // Whatever of it runs goes now: its grants are undone before its cgroup, and nothing may run
    // without them. Its monitor, if any, follows its sandbox's pid 1.
    cg->kill();
    if (launched) {
      pollfd gone{launched->monitor_pidfd.get(), POLLIN, 0};
      if (::poll(&gone, 1, 2000) != 1) ::kill(launched->monitor_pid, SIGKILL);  // our unreaped child
      ::waitpid(launched->monitor_pid, nullptr, 0);
      ::unlink(spec->exit_path.c_str());
    }
    log::warning("agent " + p.name + " did not start: " + failed,
                 {{"AGENT_NAME", p.name}, {"OWNER_UID", std::to_string(owner.uid)}});
    return error(ErrorKind::kCannotConfine, "cannot start agent \"" + p.name + "\": " + failed);
  }
  // It runs: from here its cgroup, grants and log are its own until it ends (finish()).
  cg->release();
  grants->release();
  limits.push_back({"tasks", true, "RLIMIT_NPROC = " + std::to_string(spec->max_tasks) +
                                       " processes and threads in the agent's own user namespace"});
  limits.push_back({"tmp", !p.host_filesystem,
                    p.host_filesystem ? "the host's /tmp (host view)" : "/tmp: tmpfs " + spec->tmp_options.substr(10)});
  limits.push_back({"shm", !p.host_filesystem,
                    p.host_filesystem ? "the host's /dev/shm (host view)" : "/dev/shm: tmpfs " + spec->shm_options.substr(10)});
  limits.push_back({"log", true, "the last " + std::to_string(log_max_) + " bytes of output are kept"});

  Agent a;
  a.log = log.release();
  a.console = std::move(console_daemon);
  AgentRecord& r = a.record;
  r.id = id;
  r.name = p.name;
  r.owner_uid = owner.uid;
  r.uid = uid;
  r.gid = gid;
  r.groups = groups;
  r.command = p.command;
  r.policy_path = p.source_path;
  r.from_policy_dir = p.from_policy_dir;
  r.policy_text = p.source_text;
  if (delegate) {
    r.delegator_policies = delegate->delegator_policies;
    r.chain = delegate->chain;
    r.trace = delegate->trace;
    r.delegated_by = delegate->delegated_by;
  }
  r.monitor_pid = launched->monitor_pid;
  r.monitor_start = process_start_time(launched->monitor_pid).value_or(0);
  r.init_pid = launched->init_pid;
  r.cgroup = cgroups_.path(id);
  r.cgroup_id = *cg_id;
  r.host_network = p.host_network;
  r.log_path = paths_.log(id);
  r.started_unix = static_cast<uint64_t>(std::time(nullptr));
  r.limits = std::move(limits);
  r.namespaces = namespaces_of(launched->init_pid);
  a.monitor_pidfd = std::move(launched->monitor_pidfd);
  r.gateway_fds = launched->monitor_listener_fds;
  r.broker_fd = launched->monitor_broker_fd;
  r.console_fd = a.console.valid() ? a.console.get() : -1;  // the monitor's copy has this number
  r.terminal = spec->tty;
  r.interactive = spec->interactive;
  AgentSockets sockets{std::move(launched->broker_listener), std::move(launched->gateway_listeners)};
  for (AgentService* s : services_) s->serve(r, p, sockets);
  save(r);
  log::info("agent " + p.name + " started", {{"AGENT_ID", id}, {"AGENT_NAME", p.name},
                                             {"OWNER_UID", std::to_string(owner.uid)},
                                             {"AGENT_UID", std::to_string(uid)}});
  auto [it, _] = agents_.emplace(id, std::move(a));
  by_cgroup_[it->second.record.cgroup_id] = id;
  watch(it->second);
  watch_console(it->second);
  for (AgentObserver* o : observers_) o->started(it->second.record);
  return &it->second.record;
}

}  // namespace agentos
