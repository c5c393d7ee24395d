// The agents this daemon runs: starting them through the launcher, stopping them, noticing
// their exit (through their monitor's pidfd), and finding them again after a daemon restart.
#pragma once

#include <linux/filter.h>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/unique_fd.h"
#include "enforce/dev_guard.h"
#include "enforce/grant_entry.h"
#include "enforce/lsm_guard.h"
#include "enforce/net_guard.h"
#include "enforce/unix_guard.h"
#include "policy/policy.h"
#include "sandbox/cgroup.h"
#include "sandbox/console.h"
#include "sandbox/launch_spec.h"
#include "server/agent_observer.h"
#include "server/agent_record.h"
#include "server/agent_service.h"
#include "common/event_loop.h"
#include "server/identity.h"

namespace agentos {

struct DaemonPaths {
  std::string runtime_dir;  // /run/agentos: records of running agents
  std::string state_dir;  // /var/lib/agentos: logs, dynamic users, root-owned agents' data
  [[nodiscard]] std::string record(const std::string& id) const { return runtime_dir + "/agents/" + id + ".json"; }
  [[nodiscard]] std::string exit_file(const std::string& id) const { return runtime_dir + "/agents/" + id + ".exit"; }
  [[nodiscard]] std::string log(const std::string& id) const { return state_dir + "/logs/" + id + ".log"; }
};

// What a delegate starts with, besides its (narrowed) policy.
struct DelegateStart {
  std::string task;  // AGENTOS_TASK
  std::string trace;  // AGENTOS_TRACE, shared by the whole chain
  std::string delegated_by;  // the delegator's agent id
  std::vector<std::string> delegator_policies;  // AgentRecord::delegator_policies
  std::vector<std::string> chain;  // the delegators' names, outermost first
  const policy::Policy* delegator = nullptr;  // its effective policy: the delegate's objects must lie within it
};

// An MCP server's stdio: one end of a socketpair as its stdin and stdout (its stderr goes to the log).
struct ServerStdio {
  int fd = -1;
};

// How a client wants the agent's stdio (agentctl run): attached from the first byte, its stdin
// from the client (interactive), a terminal of the sandbox's own (tty) of the client's size.
struct ConsoleRequest {
  bool attached = false;
  bool interactive = false;
  bool tty = false;
  uint16_t rows = 24, cols = 80;
  std::string term;  // TERM with a terminal; checked by the API (terminal_type)
};

// The compiled seccomp filters, one for agents in their own network namespace and one for agents
// on the host's (which may need listen() refused).
struct SeccompFilters {
  std::vector<sock_filter> own_network;
  std::vector<sock_filter> host_network;
};

class AgentManager {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kStopGrace{5};

  // `net` is null where the socket hooks could not be loaded (`net_missing` says why), `lsm`
  // where BPF LSM could not.
  // `unix` (the Unix socket hooks) governs host-view agents where `lsm` is null; `dev` (the
  // cgroup device hook, null where it could not load) every agent's device nodes.
  AgentManager(EventLoop& loop, const sandbox::Cgroups& cgroups, SeccompFilters seccomp,
               DaemonPaths paths, DynamicUsers& users, enforce::NetGuard* net, std::string net_missing,
               enforce::LsmGuard* lsm, enforce::UnixGuard* unix, enforce::DevGuard* dev, bool landlock)
      : loop_(loop), cgroups_(cgroups), seccomp_(std::move(seccomp)), paths_(std::move(paths)), users_(users),
        net_(net), net_missing_(std::move(net_missing)), lsm_(lsm), unix_(unix), dev_(dev), landlock_(landlock) {}

  // Reads the records a previous daemon left and adopts the agents that still run.
  void recover();

  // `delegate`: a delegate's start (many may run under one name; the policy is already narrowed).
  // A failure's kind says why: kExists, kInvalid, kCannotConfine (this machine lacks a layer the
  // policy needs), or kInternal. A failed start leaves nothing behind (agent_start.cc).
  [[nodiscard]] Result<const AgentRecord*> run(const policy::Policy& p, const Peer& owner,
                                               const DelegateStart* delegate = nullptr,
                                               const ServerStdio* stdio = nullptr,
                                               const ConsoleRequest* console = nullptr);
  // The agent's console (sandbox/console.h): whether a client is attached (the monitor sends
  // output only then), and what the client sends. False if the agent has no console (an MCP
  // server, or an agent adopted without one).
  // Messages are delivered in order: what the monitor cannot take yet waits here, and
  // console_backlog says how much, for the client's input to wait in its turn (the agent reads
  // its stdin at its own pace, and nothing typed or piped is dropped).
  bool console_attach(const std::string& id, bool attached);
  bool console_send(const std::string& id, const std::string& message);
  [[nodiscard]] size_t console_backlog(const std::string& id) const;
  // SIGINT, SIGTERM or SIGHUP for the agent, through its monitor: never behind queued input.
  bool console_signal(const std::string& id, int sig);
  // While held, the monitor's output is not read: a client behind on it slows the agent, as a
  // terminal would, rather than the daemon holding what it has not taken.
  void console_hold(const std::string& id, bool hold);

  // Forgets an agent that has ended: its record, exit file and log. False if it is running.
  bool remove(const std::string& id);
  // Ended agents are kept at most `count` per owner (the oldest go first) and at most `max_age`;
  // the rest are collected as agents end, and hourly by age (agentosd --keep-ended, --keep-ended-days).
  void set_retention(size_t count, std::chrono::seconds max_age) {
    keep_count_ = count;
    keep_for_ = max_age;
  }

  // SIGTERM now (forwarded by the monitor to the agent), SIGKILL to the cgroup after kStopGrace.
  [[nodiscard]] Status stop(const std::string& id);

  // Its log grew: keep only its last `log_max` bytes (set_log_max). The agent appends through its
  // own descriptor, so the older bytes are punched out (a sparse file) rather than rotated.
  void log_grew(const std::string& id);
  void set_log_max(uint64_t bytes) { log_max_ = bytes; }

  // Brings running agents in line with the policies now loaded: socket grants are replaced live
  // and atomically; what cannot change under a running agent (its filesystem view, limits,
  // command) is reported as waiting for its next start. One line per affected agent.
  [[nodiscard]] std::vector<v1::AgentChange> update_running(const std::map<std::string, policy::Policy>& policies);

  // The MCP bridge every agent finds beside the broker's socket (agentos-mcp), if installed.
  void set_bridge(std::string path) { bridge_ = std::move(path); }

  // The trace id of a delegation chain this agent starts (kept in its record).
  void set_trace(const std::string& id, const std::string& trace);

  // After the owner's secrets changed: what each service made of it, a line per agent.
  [[nodiscard]] std::vector<v1::AgentChange> secrets_changed(uid_t owner);

  [[nodiscard]] const AgentRecord* find(const std::string& id) const;
  [[nodiscard]] const AgentRecord* find_by_cgroup(uint64_t cgroup_id) const;
  [[nodiscard]] std::vector<const AgentRecord*> list() const;
  [[nodiscard]] const DaemonPaths& paths() const { return paths_; }
  [[nodiscard]] bool lsm_governs() const { return lsm_ != nullptr; }
  [[nodiscard]] bool devices_governed() const { return dev_ != nullptr; }
  // `o` hears of every agent's start, adoption, exit and console until the manager is gone.
  void subscribe(AgentObserver& o) { observers_.push_back(&o); }
  // `s` admits, serves and is told of every agent until the manager is gone, in the order given.
  void serve_with(AgentService& s) { services_.push_back(&s); }

 private:
  struct Agent {
    AgentRecord record;
    UniqueFd monitor_pidfd;
    UniqueFd log;  // its output, for keeping it within the log cap
    EventLoop::Watch monitor_watch;
    UniqueFd console;  // the daemon's end of its console (sandbox/console.h), if it has one
    EventLoop::Watch console_watch;
    std::deque<std::string> console_queue;  // messages the monitor has not taken yet
    size_t console_queued = 0;  // their bytes
    bool console_held = false;
    off_t log_dropped = 0;  // bytes at the log's start given back to the filesystem
    EventLoop::Timer kill_timer;  // SIGKILL for its cgroup, kStopGrace after a stop
    uint64_t end_order = 0;  // which ended first, within a second (0: before this daemon)
  };

  // An agent's entries in the guards' maps while its start is under way.
  struct Grants {
    enforce::GrantEntry<enforce::LsmGuard> files;
    enforce::GrantEntry<enforce::NetGuard> sockets;
    enforce::GrantEntry<enforce::UnixGuard> unix_sockets;
    enforce::GrantEntry<enforce::DevGuard> devices;
    void release();
  };

  [[nodiscard]] Status confinable(const policy::Policy& p) const;
  [[nodiscard]] Result<Grants> install_grants(const policy::Policy& p, const sandbox::LaunchSpec& spec, uint64_t cg_id);
  void watch(Agent& a);
  void watch_console(Agent& a);
  void read_console(const std::string& id);
  void flush_console(const std::string& id);
  void console_interest(Agent& a);
  void finish(const std::string& id);
  void kill_after_grace(Agent& a);
  void save(const AgentRecord& r);
  void serve(const AgentRecord& r, AgentSockets sockets);
  [[nodiscard]] AgentSockets sockets_from_monitor(const Agent& a) const;
  [[nodiscard]] Status prepare_data_dirs(const policy::Policy& p, uid_t uid, gid_t gid) const;

  void collect_ended();

  EventLoop& loop_;
  size_t keep_count_ = 1000;
  uint64_t ends_ = 0;
  std::chrono::seconds keep_for_{std::chrono::hours(24 * 7)};
  const sandbox::Cgroups& cgroups_;
  SeccompFilters seccomp_;
  DaemonPaths paths_;
  DynamicUsers& users_;
  enforce::NetGuard* net_;
  std::string net_missing_;
  enforce::LsmGuard* lsm_;
  enforce::UnixGuard* unix_;
  enforce::DevGuard* dev_;
  std::string bridge_;
  uint64_t log_max_ = 64ull << 20;
  bool landlock_;  // apply Landlock where the kernel offers it (off only to test the LSM alone)
  std::map<std::string, Agent> agents_;
  std::vector<AgentObserver*> observers_;
  std::vector<AgentService*> services_;
  // Every agent by its cgroup's id, which the kernel does not reuse within a boot: each kernel
  // event is attributed through it, also one read after its agent exited (events are read in
  // batches, between other work), and without a scan over every agent ever started.
  std::unordered_map<uint64_t, std::string> by_cgroup_;
  EventLoop::Timer collect_by_age_ = loop_.every(std::chrono::hours(1), [this] { collect_ended(); });
};

}  // namespace agentos
