#include "server/agent_manager.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <linux/falloc.h>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/atomic_file.h"
#include "policy/limit_values.h"
#include "policy/paths.h"
#include "common/random_id.h"
#include "sandbox/landlock.h"
#include "sandbox/launcher.h"
#include "sandbox/mount_table.h"
#include "common/log.h"

namespace agentos {
namespace {

namespace fs = std::filesystem;

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

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

std::vector<enforce::FsGrant> fs_grants(const sandbox::LaunchSpec& spec) {
  std::vector<enforce::FsGrant> out;
  for (const auto& [path, r] : spec.fs_rights) out.push_back({path, r.dev, r.ino, r.rights});
  return out;
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

Result<const AgentRecord*> AgentManager::run(const policy::Policy& given, const Peer& owner, RunError* why,
                                             const DelegateStart* delegate, const ServerStdio* stdio,
                                             const ConsoleRequest* console) {
  *why = RunError::kInvalid;
  policy::Policy p = given;
  if (delegate) {  // the parser keeps AGENTOS_* for the daemon: here it is the daemon
    if (delegate->task.size() > 64 * 1024) return error("a task is at most 64 KiB");
    p.env["AGENTOS_TASK"] = delegate->task;
    p.env["AGENTOS_TRACE"] = delegate->trace;
    p.env["AGENTOS_DELEGATED_BY"] = delegate->delegated_by;
  }
  if (p.serve && !stdio)
    return error("agent \"" + p.name + "\" is an MCP server ([serve]): the daemon starts it from the policy "
                 "directory, and agents use its tools through the broker");
  for (const auto& [id, a] : agents_)
    if (!delegate && a.record.name == p.name && a.record.owner_uid == owner.uid && a.record.state == AgentState::kRunning) {
      *why = RunError::kExists;
      return error("agent \"" + p.name + "\" is already running as " + id);
    }

  uid_t uid = owner.uid;
  gid_t gid = owner.gid;
  std::vector<gid_t> groups = owner.groups;
  if (owner.uid == 0) {
    auto dyn = users_.uid_for(p.name);
    if (!dyn) return dyn.error();
    uid = gid = *dyn;
    groups.clear();
    if (auto s = prepare_data_dirs(p, uid, gid); !s) return s.error();
  }
  if (p.host_filesystem && !lsm_ && !(landlock_ && sandbox::landlock_abi() > 0)) {
    *why = RunError::kCannotConfine;
    return error("agent \"" + p.name + "\" needs [filesystem] view = \"host\", which only BPF LSM or "
                 "Landlock can confine, and neither is available");
  }
  if (p.host_filesystem && !lsm_ && !unix_) {
    *why = RunError::kCannotConfine;
    return error("agent \"" + p.name + "\" needs [filesystem] view = \"host\": there it would reach every Unix socket "
                 "its owner can (ssh-agent, D-Bus, ...), since Landlock does not govern connect(), and neither BPF LSM "
                 "nor the cgroup unix socket hooks (Linux 6.7) are available to");
  }
  if (p.audit_mode && !lsm_) {
    *why = RunError::kCannotConfine;
    return error("agent \"" + p.name + "\" is in audit mode, which needs BPF LSM to log and allow file "
                 "accesses; it is unavailable here, and the fallback (Landlock) can only refuse");
  }
  if (p.host_network && !net_) {
    *why = RunError::kCannotConfine;
    return error("agent \"" + p.name + "\" needs [network] namespace = \"host\", which needs the "
                 "cgroup-BPF socket hooks, and they are unavailable: " + net_missing_);
  }
  if (p.host_network && !lsm_)
    for (const auto& r : p.bind)
      if (r.proto == policy::Proto::kTcp) {
        *why = RunError::kCannotConfine;
        return error("agent \"" + p.name + "\" has the TCP bind grant " + r.text + ", which needs BPF LSM to check "
                     "listen(); without it the cgroup hooks cannot see every port a socket listens on, so agents "
                     "on the host's network may not listen here");
      }
  // Keep only groups the agent may hold; gid_map lines are capped by the kernel at 340.
  if (groups.size() > 300) groups.resize(300);

  std::string id = random_hex(6);
  std::optional<EgressGateway::Described> egress;
  if (p.egress) {
    *why = RunError::kCannotConfine;
    if (!egress_) return error("agent \"" + p.name + "\" has [egress], but the egress gateway is unavailable: " + egress_missing_);
    auto described = egress_->describe(id, p, owner.uid);
    *why = RunError::kInvalid;
    if (!described) return error("agent \"" + p.name + "\": " + described.error().str());
    egress = std::move(*described);
  }
  std::vector<sandbox::LimitState> limits;
  *why = RunError::kInternal;
  policy::Limits bounds = p.limits;  // every agent is bounded, whatever its policy says
  if (!bounds.pids) bounds.pids = policy::kDefaultPids;
  auto cg = cgroups_.create(id, bounds, &limits);
  if (!cg) return cg.error();

  *why = RunError::kCannotConfine;
  auto spec = sandbox::make_launch_spec(p, id, uid, gid, groups);
  if (!spec) {
    (void)cgroups_.remove(id);
    return spec.error();
  }

  if (delegate && delegate->delegator)
    if (auto within = sandbox::objects_within(*spec, *delegate->delegator); !within) {
      (void)cgroups_.remove(id);
      *why = RunError::kInvalid;
      return error("agent \"" + p.name + "\" as a delegate: " + within.error().str());
    }
  if (!bridge_.empty() && ::access(bridge_.c_str(), X_OK) == 0) sandbox::add_bridge(*spec, bridge_);

  if (!lsm_) {
    // Landlock judges paths: refuse what it would grant that the object rule would not.
    std::vector<std::string> paths;
    for (const auto& [path, right] : spec->fs_rights) paths.push_back(path);
    if (auto b = sandbox::bind_mount_beneath(read_all("/proc/self/mountinfo"), paths)) {
      (void)cgroups_.remove(id);
      return error("agent \"" + p.name + "\": " + b->mount_point + " is a bind mount of " + b->source +
                   " inside the grant " + b->grant + "; Landlock, the file layer here without BPF LSM, would grant it "
                   "by its path though its files live elsewhere, so the agent is not started");
    }
  }

  // The kernel holds the agent's grants before its first instruction: it is governed by cgroup,
  // and the cgroup exists now, empty.
  auto cg_id = enforce::cgroup_id(cg->get());
  if (!cg_id) {
    (void)cgroups_.remove(id);
    return cg_id.error();
  }
  const bool govern_unix = p.host_filesystem && !lsm_;
  auto undo_enforce = [&] {
    if (lsm_) lsm_->remove(*cg_id);
    if (p.host_network) net_->remove(*cg_id);
    if (govern_unix) unix_->remove(*cg_id);
    if (dev_) dev_->remove(*cg_id);
  };
  Status enforced;
  if (lsm_) {
    enforced = lsm_->add(*cg_id, fs_grants(*spec), p.host_network, p.audit_mode);
  }
  if (enforced && p.host_network) enforced = net_->add(*cg_id, p);
  if (enforced && govern_unix) enforced = unix_->add(*cg_id);
  if (enforced && dev_) enforced = dev_->add(*cg_id, spec->device_numbers);
  if (!enforced) {
    undo_enforce();
    (void)cgroups_.remove(id);
    return enforced.error();
  }

  UniqueFd log(::open(paths_.log(id).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600));
  UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!log.valid() || !devnull.valid()) {
    auto e = sys_error("open " + paths_.log(id));
    undo_enforce();
    (void)cgroups_.remove(id);
    return e;
  }

  // Landlock is the fallback: where the LSM governs files it is left out, so that file grants can
  // also be replaced live (a Landlock domain can only ever narrow).
  if (!landlock_ || lsm_) spec->landlock = {};
  spec->seccomp = p.host_network ? seccomp_.host_network : seccomp_.own_network;
  if (lsm_) spec->keep_fds = lsm_->link_fds();
  spec->stdout_fd = stdio ? stdio->fd : log.get();
  spec->stdin_fd = stdio ? stdio->fd : devnull.get();
  spec->stderr_fd = log.get();
  // Every agent but an MCP server (whose stdio is its protocol) has a console: its monitor relays
  // its output to the log and to an attached client, and the client's input to it.
  UniqueFd console_daemon, console_monitor;
  if (!stdio) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) != 0) {
      auto e = sys_error("console socketpair");
      undo_enforce();
      (void)cgroups_.remove(id);
      return e;
    }
    console_daemon.reset(pair[0]);
    console_monitor.reset(pair[1]);
    spec->relay = true;
    spec->log_fd = log.get();
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
  spec->cgroup_fd = cg->get();
  spec->exit_path = paths_.exit_file(id);

  sandbox::LaunchFailure failure;
  auto launched = sandbox::launch(*spec, &failure);
  if (!launched) {
    undo_enforce();
    (void)cgroups_.remove(id);
    ::unlink(paths_.log(id).c_str());
    log::warning("agent " + p.name + " did not start: " + failure.str(),
                 {{"AGENT_NAME", p.name}, {"OWNER_UID", std::to_string(owner.uid)}});
    return error("cannot start agent \"" + p.name + "\": " + failure.str());
  }
  *why = RunError::kNone;
  limits.push_back({"tasks", true, "RLIMIT_NPROC = " + std::to_string(spec->max_tasks) +
                                       " processes and threads in the agent's own user namespace"});
  limits.push_back({"tmp", !p.host_filesystem,
                    p.host_filesystem ? "the host's /tmp (host view)" : "/tmp: tmpfs " + spec->tmp_options.substr(10)});
  limits.push_back({"shm", !p.host_filesystem,
                    p.host_filesystem ? "the host's /dev/shm (host view)" : "/dev/shm: tmpfs " + spec->shm_options.substr(10)});
  limits.push_back({"log", true, "the last " + std::to_string(log_max_) + " bytes of output are kept"});

  Agent a;
  a.log = std::move(log);
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
  r.console_fd = console_daemon.valid() ? console_daemon.get() : -1;  // the monitor's copy has this number
  r.terminal = spec->tty;
  r.interactive = spec->interactive;
  attach_broker(r, p, std::move(launched->broker_listener));
  if (egress) egress_->attach(std::move(*egress), std::move(launched->gateway_listeners));
  save(r);
  log::info("agent " + p.name + " started", {{"AGENT_ID", id}, {"AGENT_NAME", p.name},
                                             {"OWNER_UID", std::to_string(owner.uid)},
                                             {"AGENT_UID", std::to_string(uid)}});
  auto [it, _] = agents_.emplace(id, std::move(a));
  by_cgroup_[it->second.record.cgroup_id] = id;
  watch(it->second);
  watch_console(it->second);
  if (on_start) on_start(it->second.record);
  return &it->second.record;
}

void AgentManager::watch(Agent& a) {
  std::string id = a.record.id;
  if (!a.monitor_pidfd.valid()) return;
  auto s = loop_.add(a.monitor_pidfd.get(), EPOLLIN, [this, id](uint32_t) { finish(id); });
  if (!s) log::error("cannot watch agent " + id + ": " + s.error().str());
}

void AgentManager::finish(const std::string& id) {
  auto it = agents_.find(id);
  if (it == agents_.end()) return;
  // The monitor sent the last of the output before it exited: pass it on before the exit.
  it->second.console_held = false;
  read_console(id);
  Agent& a = it->second;
  if (a.console.valid()) {
    loop_.remove(a.console.get());
    a.console.reset();
  }
  if (a.monitor_pidfd.valid()) {
    loop_.remove(a.monitor_pidfd.get());
    a.monitor_pidfd.reset();
  }
  // Our child unless we were restarted since; then init reaps it.
  ::waitpid(a.record.monitor_pid, nullptr, WNOHANG);
  AgentRecord& r = a.record;
  if (auto st = sandbox::read_exit_file(paths_.exit_file(id))) {
    r.state = AgentState::kExited;
    r.exit_code = st->exit_code;
    r.signal = st->signal;
    uint64_t ooms = cgroups_.oom_kills(id);
    r.reason = r.stop_requested ? "stopped"
               : ooms > 0       ? "killed by the OOM killer: memory limit reached"
               : st->signal     ? "killed by signal " + std::to_string(st->signal)
                                : "exited";
  } else {
    r.state = AgentState::kLost;
    r.exit_code = -1;
    r.reason = "its monitor vanished; the agent was killed";
  }
  // pid 1's death took the namespace down; sweep anything that was mid-fork, then the cgroup.
  if (cgroups_.populated(id)) (void)cgroups_.kill(id);
  (void)cgroups_.remove(id);
  if (r.host_network && net_) net_->remove(r.cgroup_id);
  if (lsm_) lsm_->remove(r.cgroup_id);
  if (unix_) unix_->remove(r.cgroup_id);
  if (dev_) dev_->remove(r.cgroup_id);
  if (egress_) egress_->detach(id);
  if (broker_) broker_->detach(id);
  a.kill_at.reset();
  a.log.reset();
  r.ended_unix = static_cast<uint64_t>(std::time(nullptr));
  a.end_order = ++ends_;
  save(r);
  log::info("agent " + r.name + " " + r.reason + " (code " + std::to_string(r.exit_code) + ")",
            {{"AGENT_ID", id}, {"AGENT_NAME", r.name}, {"EXIT_CODE", std::to_string(r.exit_code)}});
  if (on_exit) on_exit(id);
}

Status AgentManager::stop(const std::string& id) {
  auto it = agents_.find(id);
  if (it == agents_.end()) return error("no such agent");
  Agent& a = it->second;
  if (a.record.state != AgentState::kRunning) return {};
  a.record.stop_requested = true;
  save(a.record);
  if (!a.monitor_pidfd.valid() ||
      ::syscall(SYS_pidfd_send_signal, a.monitor_pidfd.get(), SIGTERM, nullptr, 0) != 0) {
    // No monitor to ask: take the whole cgroup down.
    return cgroups_.kill(id);
  }
  a.kill_at = Clock::now() + kStopGrace;
  return {};
}

namespace {

bool same_files(const policy::Policy& a, const policy::Policy& b) {
  return a.read == b.read && a.write == b.write && a.exec == b.exec;
}
bool same_network(const policy::Policy& a, const policy::Policy& b) {
  auto texts = [](const std::vector<policy::NetRule>& v) {
    std::vector<std::string> out;
    for (const auto& r : v) out.push_back(r.text);
    return out;
  };
  return texts(a.connect) == texts(b.connect) && texts(a.bind) == texts(b.bind);
}
// What only a new start can change: the sandbox itself.
bool same_sandbox(const policy::Policy& a, const policy::Policy& b) {
  auto limits = [](const policy::Limits& l) { return std::tuple(l.memory_bytes, l.cpu_percent, l.pids, l.tmp_bytes, l.shm_bytes); };
  return a.command == b.command && a.workdir == b.workdir && a.env == b.env &&
         a.host_filesystem == b.host_filesystem && a.host_network == b.host_network && a.devices == b.devices &&
         limits(a.limits) == limits(b.limits);
}

}  // namespace

std::vector<std::string> AgentManager::update_running(const std::map<std::string, policy::Policy>& policies) {
  std::vector<std::string> out;
  for (auto& [id, a] : agents_) {
    AgentRecord& r = a.record;
    if (r.state != AgentState::kRunning) continue;
    auto it = policies.find(r.name);
    if (it == policies.end() || it->second.source_path != r.policy_path || it->second.source_text == r.policy_text)
      continue;
    const policy::Policy& next = it->second;
    if (!r.delegator_policies.empty()) continue;  // a delegate keeps what it started with
    auto current = policy::parse_policy(r.policy_text, r.policy_path);
    if (!current.policy) continue;
    const policy::Policy& now = *current.policy;
    std::string who = "agent " + r.name + " (" + id + ")";
    bool pending = !same_sandbox(now, next);

    if (!same_network(now, next)) {
      if (r.host_network && next.host_network && net_) {
        if (auto s = net_->replace(r.cgroup_id, next); !s) {
          out.push_back(who + ": network grants NOT replaced: " + s.error().str());
          continue;
        }
        out.push_back(who + ": network grants replaced");
      } else {
        pending = true;
      }
    }
    if (!same_files(now, next)) {
      auto spec = lsm_ ? sandbox::make_launch_spec(next, id, r.uid, r.gid, r.groups) : Result<sandbox::LaunchSpec>(error(""));
      if (lsm_ && spec) {
        if (auto s = lsm_->replace(r.cgroup_id, fs_grants(*spec)); !s) {
          out.push_back(who + ": file grants NOT replaced: " + s.error().str());
          continue;
        }
        out.push_back(who + ": file grants replaced" +
                      std::string(now.host_filesystem ? "" : " (paths new to the policy stay outside its view until it restarts)"));
      } else {
        if (lsm_) out.push_back(who + ": file grants NOT replaced: " + spec.error().str());
        pending = true;  // Landlock can only narrow, and only from inside: wait for a restart
      }
    }
    if (egress_ && (now.egress || next.egress)) {
      auto before = egress_->describe(id, now, r.owner_uid);
      auto after = egress_->describe(id, next, r.owner_uid);
      if (!now.egress) {
        pending = true;  // its network namespace has no gateway sockets yet
      } else if (!after) {
        out.push_back(who + ": egress grants NOT replaced: " + after.error().str());
        continue;
      } else if (!before || before->config.SerializeAsString() != after->config.SerializeAsString()) {
        egress_->update(std::move(*after));
        out.push_back(who + ": egress grants replaced");
      }
    }
    if (broker_ && (now.tools.has_value() != next.tools.has_value() ||
                    (now.tools && next.tools && (now.tools->allow != next.tools->allow || now.tools->ask != next.tools->ask ||
                                                 now.tools->calls_per_minute != next.tools->calls_per_minute ||
                                                 now.tools->concurrent != next.tools->concurrent)))) {
      broker_->update(id, next.tools);
      out.push_back(who + ": tool grants replaced");
    } else if (broker_ && next.tools) {
      broker_->update(id, next.tools);  // constraints and timeouts, silently alike or not
    }
    if (pending) {
      out.push_back(who + ": other changes take effect when it next starts");
    } else {
      r.policy_text = next.source_text;  // what is in force is now exactly the new policy
      save(r);
    }
    log::info(who + ": policy updated", {{"AGENT_ID", id}, {"AGENT_NAME", r.name}});
  }
  return out;
}

std::vector<std::string> AgentManager::refresh_egress(uid_t owner) {
  std::vector<std::string> out;
  for (auto& [id, a] : agents_) {
    const AgentRecord& r = a.record;
    if (!egress_ || r.state != AgentState::kRunning || r.owner_uid != owner) continue;
    auto p = policy_of(r);
    if (!p || !p->egress || p->egress->routes.empty()) continue;
    if (auto config = egress_->describe(id, *p, owner, false)) {
      out.push_back("agent " + r.name + " (" + id + "): its " + std::to_string(config->config.routes_size()) + " of " +
                    std::to_string(p->egress->routes.size()) + " routes now use the secrets as they are");
      egress_->update(std::move(*config));
    }
  }
  return out;
}

void AgentManager::set_trace(const std::string& id, const std::string& trace) {
  auto it = agents_.find(id);
  if (it == agents_.end() || !it->second.record.trace.empty()) return;
  it->second.record.trace = trace;
  save(it->second.record);
}

void AgentManager::log_grew(const std::string& id) {
  auto it = agents_.find(id);
  if (it == agents_.end() || !it->second.log.valid()) return;
  Agent& a = it->second;
  struct stat st;
  // A little slack, so that a steady writer costs one punch per megabyte, not one per write.
  if (::fstat(a.log.get(), &st) != 0 || static_cast<uint64_t>(st.st_size) <= log_max_ + (1 << 20)) return;
  off_t cut = (st.st_size - static_cast<off_t>(log_max_)) & ~off_t{4095};
  if (cut <= a.log_dropped) return;
  if (::fallocate(a.log.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, a.log_dropped, cut - a.log_dropped) != 0) {
    log::warning("agent " + a.record.name + ": cannot keep its log within " + std::to_string(log_max_) + " bytes: " +
                     std::strerror(errno),
                 {{"AGENT_ID", id}});
    a.log.reset();  // said once
    return;
  }
  a.log_dropped = cut;
}

void AgentManager::tick() {
  auto now = Clock::now();
  for (auto& [id, a] : agents_) {
    if (!a.kill_at || *a.kill_at > now) continue;
    a.kill_at.reset();
    if (auto s = cgroups_.kill(id); !s) log::error("cannot kill agent " + id + ": " + s.error().str());
  }
  collect_ended();
}

bool AgentManager::remove(const std::string& id) {
  auto it = agents_.find(id);
  if (it == agents_.end()) return true;
  const AgentRecord& r = it->second.record;
  if (r.state == AgentState::kRunning) return false;
  for (const std::string& path : {paths_.record(id), paths_.exit_file(id), r.log_path})
    if (!path.empty() && ::unlink(path.c_str()) != 0 && errno != ENOENT)
      log::warning("agent " + id + ": cannot remove " + path + ": " + std::strerror(errno), {{"AGENT_ID", id}});
  agents_.erase(it);
  return true;
}

// Each owner's oldest ended agents beyond the count, and any past the age, are forgotten: `ps -a`
// and the state directory stay bounded however many agents a user starts, and one user's agents
// never push out another's.
void AgentManager::collect_ended() {
  std::map<uid_t, std::vector<std::tuple<uint64_t, uint64_t, std::string>>> ended;
  for (const auto& [id, a] : agents_)
    if (a.record.state != AgentState::kRunning)
      ended[a.record.owner_uid].emplace_back(a.record.ended_unix, a.end_order, id);
  auto now = static_cast<uint64_t>(std::time(nullptr));
  auto max_age = static_cast<uint64_t>(keep_for_.count());
  for (auto& [owner, list] : ended) {
    std::sort(list.begin(), list.end());  // oldest first
    size_t over = list.size() > keep_count_ ? list.size() - keep_count_ : 0;
    for (size_t i = 0; i < list.size(); ++i)
      if (i < over || std::get<0>(list[i]) + max_age < now) (void)remove(std::get<2>(list[i]));
  }
}

void AgentManager::save(const AgentRecord& r) {
  if (auto s = write_file_atomic(paths_.record(r.id), to_json(r), 0600); !s)
    log::error("cannot save agent record: " + s.error().str(), {{"AGENT_ID", r.id}});
}

void AgentManager::attach_broker(const AgentRecord& r, const policy::Policy& p, UniqueFd listener) {
  if (!broker_ || !listener.valid()) return;
  broker::AgentInfo info{{r.id, r.name, r.owner_uid, r.uid}, r.cgroup, p.tools};
  broker_->attach(std::move(info), std::move(listener));
}

// The gateway's sockets of an adopted agent are the ones its monitor holds: copies, taken through
// the monitor's pidfd. The agent's connections waited in their backlog meanwhile.
Status AgentManager::readopt_egress(Agent& a) {
  if (a.record.gateway_fds.empty()) return {};
  auto p = policy_of(a.record);
  if (!egress_) return error("the egress gateway is unavailable: " + egress_missing_);
  if (!p) return p.error();
  auto config = egress_->describe(a.record.id, *p, a.record.owner_uid, false);
  if (!config) return config.error();
  std::vector<UniqueFd> listeners;
  for (int fd : a.record.gateway_fds) {
    listeners.emplace_back(static_cast<int>(::syscall(SYS_pidfd_getfd, a.monitor_pidfd.get(), fd, 0)));
    if (!listeners.back().valid()) return sys_error("take the gateway's socket from the monitor");
  }
  egress_->attach(std::move(*config), std::move(listeners));
  return {};
}

void AgentManager::recover() {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(paths_.runtime_dir + "/agents", ec)) {
    if (e.path().extension() != ".json") continue;
    auto rec = record_from_json(read_all(e.path()));
    if (!rec) {
      log::error(e.path().string() + ": unreadable agent record: " + rec.error().str());
      continue;
    }
    Agent a;
    a.record = std::move(*rec);
    std::string id = a.record.id;
    if (a.record.state == AgentState::kRunning) {
      auto start = process_start_time(a.record.monitor_pid);
      if (start && *start == a.record.monitor_start) {
        a.monitor_pidfd.reset(pidfd_open(a.record.monitor_pid));
        // Re-check after opening the pidfd: the pid could have been reused in between.
        if (a.monitor_pidfd.valid() && process_start_time(a.record.monitor_pid) != start) a.monitor_pidfd.reset();
      }
      if (a.monitor_pidfd.valid()) {
        log::info("adopted running agent " + a.record.name, {{"AGENT_ID", id}});
        a.log.reset(::open(a.record.log_path.c_str(), O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC));
        if (off_t data = a.log.valid() ? ::lseek(a.log.get(), 0, SEEK_DATA) : 0; data > 0) a.log_dropped = data;
        if (auto s = readopt_egress(a); !s)
          log::error("agent " + id + ": no egress after the daemon's restart: " + s.error().str(), {{"AGENT_ID", id}});
        // Its console: the monitor's copy of the daemon's end. Nobody is attached to a new daemon.
        if (a.record.console_fd >= 0) {
          a.console.reset(static_cast<int>(::syscall(SYS_pidfd_getfd, a.monitor_pidfd.get(), a.record.console_fd, 0)));
          std::string detach = sandbox::console_message(sandbox::ConsoleKind::kAttach, std::string(1, '\0'));
          if (a.console.valid()) (void)!::send(a.console.get(), detach.data(), detach.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        }
        auto p = policy_of(a.record);
        UniqueFd broker(a.record.broker_fd < 0 ? -1
                                               : static_cast<int>(::syscall(SYS_pidfd_getfd, a.monitor_pidfd.get(), a.record.broker_fd, 0)));
        if (p) attach_broker(a.record, *p, std::move(broker));
      }
      if (a.record.stop_requested) a.kill_at = Clock::now() + kStopGrace;
    }
    auto [it, _] = agents_.emplace(id, std::move(a));
    by_cgroup_[it->second.record.cgroup_id] = id;
    if (it->second.record.state != AgentState::kRunning) continue;
    if (it->second.monitor_pidfd.valid()) {
      watch(it->second);
      watch_console(it->second);
    }
    else finish(id);  // exited while we were down, or its monitor is gone
  }
}

const AgentRecord* AgentManager::find(const std::string& id) const {
  auto it = agents_.find(id);
  return it == agents_.end() ? nullptr : &it->second.record;
}

const AgentRecord* AgentManager::find_by_cgroup(uint64_t cgroup_id) const {
  auto at = by_cgroup_.find(cgroup_id);
  return at == by_cgroup_.end() ? nullptr : find(at->second);
}

std::vector<const AgentRecord*> AgentManager::list() const {
  std::vector<const AgentRecord*> out;
  for (const auto& [id, a] : agents_) out.push_back(&a.record);
  return out;
}

}  // namespace agentos
