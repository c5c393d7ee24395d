// agentosd: the trusted daemon that runs each agent confined to its policy.
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstring>
#include <filesystem>

#include "sandbox/cgroup.h"
#include "sandbox/helper.h"
#include "sandbox/probe.h"
#include "sandbox/seccomp.h"
#include "server/agent_manager.h"
#include "server/api_server.h"
#include "common/audit_chain.h"
#include "server/audit.h"
#include "broker/account_tools.h"
#include "broker/broker.h"
#include "broker/delegation.h"
#include "broker/external_tools.h"
#include "broker/http_fetch.h"
#include "broker/kv_store.h"
#include "broker/workspace.h"
#include "policy/limit_values.h"
#include "policy/policy_edit.h"
#include "server/delegates.h"
#include "server/egress_gateway.h"
#include "server/policy_edits.h"
#include "server/secret_store.h"
#include "common/event_loop.h"
#include "common/listeners.h"
#include "server/identity.h"
#include "server/kernel_guards.h"
#include "common/log.h"
#include "server/mcp_servers.h"
#include "server/policy_store.h"

namespace agentos {
namespace {

struct Options {
  std::string policy_dir = "/etc/agentos/policy.d";
  std::string socket = "/run/agentos/agentosd.sock";
  std::string runtime_dir = "/run/agentos";
  std::string state_dir = "/var/lib/agentos";
  std::string cgroup;  // default: the daemon's own (delegated) cgroup
  std::string admin_group = "agentos-admin";
  std::string bpf_dir = "/sys/fs/bpf/agentos";
  bool without_landlock = false;
  std::string gateway;  // agentos-gateway; default: beside agentosd, else in AGENTOS_LIBEXECDIR
  std::string egress_dns;
  std::string egress_ca;
  int egress_handshake_ms = 10'000;
  std::string agent_log_max = "64M";
  size_t keep_ended = 1000;
  unsigned keep_ended_days = 7;
  broker::Limits broker;
  int broker_partial_timeout_s = 30;
  ApiLimits api;
};

// One of our helper programs: beside agentosd (a build tree), else where the package puts them.
std::string helper_binary(const std::string& name) {
  std::error_code ec;
  auto beside = std::filesystem::read_symlink("/proc/self/exe", ec).parent_path() / name;
  if (!ec && ::access(beside.c_str(), X_OK) == 0) return beside;
  return AGENTOS_LIBEXECDIR "/" + name;
}

std::string gateway_binary(const Options& o) { return o.gateway.empty() ? helper_binary("agentos-gateway") : o.gateway; }

Result<UniqueFd> listen_on(const std::string& path) {
  // Socket activation: systemd hands us the listener and queues clients while we restart.
  int n = sd_listen_fds(1);
  if (n == 1) {
    // systemd passes a blocking socket; the accept loop runs until EAGAIN.
    int flags = ::fcntl(SD_LISTEN_FDS_START, F_GETFL);
    if (flags < 0 || ::fcntl(SD_LISTEN_FDS_START, F_SETFL, flags | O_NONBLOCK) != 0)
      return sys_error("make the systemd socket non-blocking");
    return UniqueFd(SD_LISTEN_FDS_START);
  }
  if (n > 1) return error("expected one socket from systemd, got " + std::to_string(n));

  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return sys_error("socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return error("socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ::unlink(path.c_str());
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return sys_error("bind " + path);
  // Anyone may connect; every request is authorised by the caller's kernel credentials.
  if (::chmod(path.c_str(), 0666) != 0) return sys_error("chmod " + path);
  if (::listen(fd.get(), 128) != 0) return sys_error("listen");
  return fd;
}

Status make_dirs(const Options& o) {
  namespace fs = std::filesystem;
  for (const auto& [dir, mode] : std::initializer_list<std::pair<std::string, mode_t>>{
           {o.runtime_dir, 0755}, {o.runtime_dir + "/agents", 0700}, {o.state_dir, 0755},
           {o.state_dir + "/logs", 0700}, {o.state_dir + "/agents", 0755}, {o.state_dir + "/secrets", 0700},
           {o.policy_dir, 0755}, {"/run/agentos", 0755}}) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return error("create " + dir + ": " + ec.message());
    if (::chmod(dir.c_str(), mode) != 0) return sys_error("chmod " + dir);
  }
  return {};
}

int run(const Options& o) {
  if (::geteuid() != 0) {
    log::error("agentosd must run as root: it creates namespaces and cgroups for agents");
    return 1;
  }
  if (auto s = make_dirs(o); !s) return log::error(s.error().str()), 1;
  // A few descriptors per agent (its monitor's pidfd, the broker's listener and connection): at
  // systemd's soft limit of 1024 the daemon would stop near 300 agents. Agents get 1024 back.
  if (rlimit nofile; ::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &nofile) != 0) log::warning(std::string("cannot raise the descriptor limit: ") + std::strerror(errno));
  }

  auto seccomp = sandbox::build_baseline_filter();
  if (!seccomp) return log::error("cannot build the seccomp filter: " + seccomp.error().str()), 1;
  auto cgroups = sandbox::Cgroups::init(o.cgroup);
  if (!cgroups) return log::error("cannot set up cgroups: " + cgroups.error().str()), 1;

  // READY=1 means agents can really be confined, so prove it before saying so.
  sandbox::ProbeResult probe = sandbox::probe_layers(*cgroups, *seccomp);
  for (const auto& l : probe.layers)
    log::info(std::string("layer ") + l.name + ": " + (l.available ? "available" : "unavailable") + " (" + l.detail + ")",
              {{"LAYER", l.name}, {"AVAILABLE", l.available ? "1" : "0"}});
  if (!probe.can_confine) {
    log::error("cannot confine agents on this machine: " + probe.reason);
    return 1;
  }

  gid_t admin_gid = static_cast<gid_t>(-1);
  if (const group* g = ::getgrnam(o.admin_group.c_str())) admin_gid = g->gr_gid;
  else log::warning("group " + o.admin_group + " does not exist; only root is an admin");

  auto loop = EventLoop::create();
  if (!loop) return log::error(loop.error().str()), 1;
  DynamicUsers users(o.state_dir + "/dynamic-users.json");
  if (auto s = users.load(); !s) return log::error(s.error().str()), 1;
  PolicyStore policies(o.policy_dir);
  for (const auto& d : policies.reload()) log::warning("policy not applied: " + d);

  AuditLog audit(o.state_dir + "/audit.log");
  if (auto s = audit.open(); !s) return log::error("cannot open the audit trail: " + s.error().str()), 1;
  AgentManager* manager = nullptr;
  KernelGuards guards(*loop, cgroups->mount() + cgroups->base() + "/agents", o.bpf_dir, audit,
                      [&](uint64_t cgroup_id) { return manager ? manager->find_by_cgroup(cgroup_id) : nullptr; }, probe);
  const bool lsm = guards.lsm() != nullptr;

  // The agents' seccomp filters: where the LSM checks every exec and listen, they leave those to
  // it; under the fallback they hold them themselves.
  SeccompFilters filters;
  for (bool host_net : {false, true}) {
    auto f = sandbox::build_baseline_filter({.executable_memfds = lsm, .listen = lsm || !host_net});
    if (!f) return log::error("cannot build the seccomp filter: " + f.error().str()), 1;
    (host_net ? filters.host_network : filters.own_network) = std::move(*f);
  }
  AgentManager agents(*loop, *cgroups, std::move(filters), {o.runtime_dir, o.state_dir}, users,
                      guards.net(), guards.net_missing(), guards.lsm(), guards.unix_sockets(), guards.devices(),
                      !o.without_landlock);
  auto log_max = policy::parse_size(o.agent_log_max);
  if (!log_max) return log::error("--agent-log-max: " + log_max.error().str()), 2;
  agents.set_log_max(*log_max);
  agents.set_retention(o.keep_ended, std::chrono::hours(24) * o.keep_ended_days);
  for (auto& l : probe.layers)
    if (l.name.starts_with("landlock") && lsm && l.available)
      l.detail += "; the fallback: not applied while BPF LSM governs files";
  if (o.without_landlock) {
    if (!lsm) return log::error("--without-landlock needs BPF LSM, which is unavailable"), 1;
    log::warning("Landlock is off (--without-landlock): files are held by BPF LSM and the mount namespace");
  }
  manager = &agents;

  // The egress gateway: the only way off the machine for agents with [egress]. Without it such
  // policies are refused; every other agent is unaffected.
  SecretStore secrets(o.state_dir + "/secrets");
  std::unique_ptr<EgressGateway> egress;
  std::string egress_missing;
  auto gateway_uid = users.uid_for("@gateway");  // no agent name can start with '@'
  auto gateway_filter = sandbox::build_baseline_filter({.executable_memfds = false, .listen = false});
  if (!gateway_uid || !gateway_filter) {
    egress_missing = !gateway_uid ? gateway_uid.error().str() : gateway_filter.error().str();
  } else {
    egress = std::make_unique<EgressGateway>(
        *loop, EgressOptions{gateway_binary(o), *gateway_uid, std::move(*gateway_filter), o.egress_dns, o.egress_ca, o.egress_handshake_ms},
        secrets, audit, [&](const std::string& id) {
          const AgentRecord* r = agents.find(id);
          return r ? EgressGateway::Who{r->name, r->owner_uid} : EgressGateway::Who{};
        });
    if (auto s = egress->start(); !s) {
      egress_missing = s.error().str();
      egress.reset();
    }
  }
  agents.set_egress(egress.get(), egress_missing);
  probe.layers.push_back({"egress gateway", egress != nullptr,
                          egress ? "[egress] grants by name, routes with secrets, as uid " + std::to_string(*gateway_uid)
                                 : "unavailable (" + egress_missing + "): policies with [egress] are refused"});
  log::info(std::string("layer egress gateway: ") + (egress ? "available" : "unavailable: " + egress_missing));

  // The API's listener and every agent's broker listener: paused while accept has no descriptor
  // or memory to give, instead of waking the loop forever; resumed each tick.
  Listeners listeners(*loop, [](const Error& e) {
    log::warning("cannot accept connections (" + e.str() + "): listeners paused, tried again every second; "
                 "clients wait in the backlog meanwhile");
  });
  ApiServer api(*loop, listeners, agents, policies, secrets, probe, admin_gid, audit, cgroups->base() + "/agents/", o.api);

  // The broker: every agent's platform tools, over MCP at /run/agentos/broker.sock in its view.
  std::vector<std::unique_ptr<broker::Provider>> providers;
  providers.push_back(std::make_unique<broker::KvStore>(o.state_dir + "/kv"));
  providers.push_back(std::make_unique<broker::Workspace>(o.state_dir + "/workspaces"));
  auto fetch = std::make_unique<broker::HttpFetch>(*loop, [&](const std::string& id, UniqueFd conn) -> Status {
    return egress ? egress->adopt(id, std::move(conn)) : Status(error("the egress gateway is unavailable: " + egress_missing));
  });
  broker::HttpFetch* fetcher = fetch.get();
  providers.push_back(std::move(fetch));
  // Calendar and email: each call in its own tool host, as the dynamic user "@tools" (a uid of
  // its own: never the gateway's, never an agent's), under the agents' seccomp filter.
  broker::Broker* broker_ptr = nullptr;
  auto tools_uid = users.uid_for("@tools");
  auto tools_filter = sandbox::build_baseline_filter({.executable_memfds = false, .listen = false});
  broker::AccountTools* accounts = nullptr;
  if (tools_uid && tools_filter) {
    auto account_tools = std::make_unique<broker::AccountTools>(
        *loop, broker::AccountTools::Deps{
                   [&](const std::string& id) { return broker_ptr ? broker_ptr->tools_of(id) : std::nullopt; },
                   [&](uid_t owner, const std::string& name) { return secrets.open(owner, name); },
                   [&, uid = *tools_uid, filter = std::move(*tools_filter)](int in, int out, int secret) -> Result<UniqueFd> {
                     const std::string binary = helper_binary("agentos-toolhost");
                     auto h = sandbox::spawn_helper({.binary = binary,
                                                     .uid = uid,
                                                     .seccomp = &filter,
                                                     .fds = {secret},
                                                     .stdin_fd = in,
                                                     .stdout_fd = out,
                                                     .read_only = {"/usr", "/etc", "/lib", "/lib64", "/run/systemd/resolve", "/proc/self",
                                                                   std::filesystem::path(binary).parent_path()}});
                     if (!h) return h.error();
                     return std::move(h->pidfd);
                   }});
    accounts = account_tools.get();
    providers.push_back(std::move(account_tools));
  } else {
    log::warning("calendar and email tools unavailable: " + (!tools_uid ? tools_uid.error().str() : tools_filter.error().str()));
  }
  auto external = std::make_unique<broker::ExternalTools>();
  broker::ExternalTools* external_tools = external.get();
  providers.push_back(std::move(external));
  auto delegation = std::make_unique<broker::Delegation>(
      [&](const broker::Caller& by, const std::string& target, const std::string& task) {
        return start_delegate(agents, policies, by, target, task);
      },
      [&](const std::string& id) { (void)agents.stop(id); });
  broker::Delegation* delegates = delegation.get();
  providers.push_back(std::move(delegation));
  broker::Hooks hooks;
  hooks.audit = [&](const broker::Caller& who, const std::string& operation, const std::string& decision) {
    audit.event(who.agent_id, who.agent_name, who.owner, operation, "broker", decision);
  };
  hooks.pending = [&](const broker::PendingCall& call) { api.pending_event(call); };
  hooks.limit = [&](const broker::Caller& who, const std::string& what) {
    audit.limit(who.agent_id, who.agent_name, who.owner, what, "broker");
  };
  hooks.grant_always = [&](const std::string& id, const std::string& tool) -> Status {
    const AgentRecord* r = agents.find(id);
    if (!r) return error("its agent has ended");
    auto lines = edit_agent_policy(policies, agents, *r, policy::grant_tool, tool);
    if (!lines) return lines.error();
    for (const auto& line : *lines) log::info(line);
    return {};
  };
  broker::Limits limits = o.broker;
  limits.partial_timeout = std::chrono::seconds(o.broker_partial_timeout_s);
  broker::Broker broker(*loop, listeners, std::move(providers), std::move(hooks), limits);
  broker_ptr = &broker;
  McpServers mcp_servers(*loop, agents, policies, *external_tools, [&] { broker.refresh_tools(); }, limits.json_depth);
  agents.set_broker(&broker, helper_binary("agentos-mcp"));
  api.set_broker(&broker);
  probe.layers.push_back({"broker", true, "platform tools over MCP at /run/agentos/broker.sock in every agent"});
  audit.on_event = [&](const v1::AuditEvent& e) { api.audit_event(e); };
  audit.trace_of = [&](const std::string& id) {
    const AgentRecord* r = agents.find(id);
    return r ? r->trace : std::string();
  };
  // The program, and of its arguments (which may hold what the trail's readers should not see)
  // enough to match two starts, as the broker keeps of a tool call's.
  agents.on_start = [&](const AgentRecord& r) {
    std::string args;
    for (size_t i = 1; i < r.command.size(); ++i) args += r.command[i] + '\0';
    audit.event(r.id, r.name, r.owner_uid,
                "start " + (r.command.empty() ? std::string("?") : r.command[0]) + " (arguments " +
                    audit_chain::sha256_hex(args).substr(0, 16) + ")" +
                    (r.delegated_by.empty() ? "" : ", delegated by " + r.delegated_by),
                "launcher", "allow");
  };
  agents.on_console = [&](const std::string& id, sandbox::ConsoleKind kind, std::string_view data) {
    api.console_output(id, kind, data);
  };
  agents.on_console_drained = [&](const std::string& id) { api.console_drained(id); };
  agents.on_exit = [&](const std::string& id) {
    api.agent_exited(id);
    mcp_servers.exited(id);
    if (const AgentRecord* r = agents.find(id); r && !r->delegated_by.empty())
      delegates->finished(id, r->exit_code, r->reason, output_tail(r->log_path, 64 * 1024));
  };
  agents.recover();

  // Log growth wakes the clients that follow an agent's output.
  UniqueFd inotify(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!inotify.valid() || ::inotify_add_watch(inotify.get(), (o.state_dir + "/logs").c_str(), IN_MODIFY) < 0)
    return log::error(sys_error("inotify").str()), 1;
  (void)loop->add(inotify.get(), EPOLLIN, [&](uint32_t) {
    alignas(inotify_event) char buf[4096];
    ssize_t n;
    while ((n = ::read(inotify.get(), buf, sizeof buf)) > 0) {
      for (char* p = buf; p < buf + n;) {
        auto* ev = reinterpret_cast<inotify_event*>(p);
        p += sizeof(inotify_event) + ev->len;
        std::string name = ev->len ? ev->name : "";
        if (!name.ends_with(".log")) continue;
        std::string id = name.substr(0, name.size() - 4);
        agents.log_grew(id);
        api.agent_output(id);
      }
    }
  });

  sigset_t sigs;
  sigemptyset(&sigs);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaddset(&sigs, s);
  ::sigprocmask(SIG_BLOCK, &sigs, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  UniqueFd sfd(::signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC));
  (void)loop->add(sfd.get(), EPOLLIN, [&](uint32_t) {
    signalfd_siginfo si;
    while (::read(sfd.get(), &si, sizeof si) == sizeof si) {
      if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
        // Agents keep running, confined, and the next daemon adopts them.
        log::info("stopping on signal " + std::to_string(si.ssi_signo) + "; agents keep running");
        sd_notify(0, "STOPPING=1");
        loop->stop();
      } else if (si.ssi_signo == SIGHUP) {
        sd_notify(0, "RELOADING=1");
        for (const auto& d : policies.reload()) log::warning("policy not applied: " + d);
        for (const auto& line : agents.update_running(policies.all())) log::info(line);
        log::info("policies reloaded", {{"POLICY_COUNT", std::to_string(policies.all().size())}});
        sd_notify(0, "READY=1");
      }
      // SIGCHLD: monitors are reaped when their pidfd fires.
    }
  });

  // One tick a second: paused listeners, stop deadlines, stalled clients, and the systemd watchdog.
  UniqueFd tfd(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  itimerspec every{{1, 0}, {1, 0}};
  ::timerfd_settime(tfd.get(), 0, &every, nullptr);
  uint64_t watchdog_usec = 0;
  bool watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0;
  (void)loop->add(tfd.get(), EPOLLIN, [&](uint32_t) {
    uint64_t ticks;
    (void)!::read(tfd.get(), &ticks, sizeof ticks);
    listeners.resume();
    agents.tick();
    api.tick();
    if (egress) egress->tick();
    broker.tick();
    fetcher->tick();
    if (accounts) accounts->tick();
    mcp_servers.tick();
    delegates->tick();
    guards.tick();
    audit.tick();
    if (watchdog) sd_notify(0, "WATCHDOG=1");
  });

  auto listener = listen_on(o.socket);
  if (!listener) return log::error(listener.error().str()), 1;
  if (auto s = api.serve(std::move(*listener)); !s) return log::error(s.error().str()), 1;

  log::info("ready: serving " + o.socket + " with " + std::to_string(policies.all().size()) + " policies");
  sd_notify(0, "READY=1");
  auto ran = loop->run();
  audit.close();
  if (!ran) return log::error(ran.error().str()), 1;
  return 0;
}

}  // namespace
}  // namespace agentos

int main(int argc, char** argv) {
  agentos::Options o;
  CLI::App app{"agentosd: runs AI agents confined to their policies"};
  app.add_option("--policy-dir", o.policy_dir, "Directory of agent policies (*.toml)");
  app.add_option("--socket", o.socket, "API socket path (unless systemd passes one)");
  app.add_option("--runtime-dir", o.runtime_dir, "Runtime state (records of running agents)");
  app.add_option("--state-dir", o.state_dir, "Persistent state (logs, dynamic users, agent data)");
  app.add_option("--cgroup", o.cgroup, "cgroup v2 path for agents, relative to the cgroup2 mount");
  app.add_option("--admin-group", o.admin_group, "Group whose members see and control all agents");
  app.add_option("--bpf-dir", o.bpf_dir, "Where BPF programs and maps are pinned (on a bpffs)");
  app.add_flag("--without-landlock", o.without_landlock,
               "Leave Landlock out, so tests can show BPF LSM holding alone (refused without BPF LSM)");
  app.add_option("--gateway", o.gateway, "The egress gateway's binary (default: beside agentosd, else in " AGENTOS_LIBEXECDIR ")");
  app.add_option("--egress-dns", o.egress_dns, "DNS servers the gateway asks, \"ADDR:PORT,...\" (default: /etc/resolv.conf)");
  app.add_option("--egress-ca", o.egress_ca, "PEM file of CAs the gateway trusts for route upstreams, besides the system's");
  app.add_option("--egress-handshake-timeout-ms", o.egress_handshake_ms,
                 "Time an agent's connection to the gateway has to make its request");
  app.add_option("--agent-log-max", o.agent_log_max,
                 "Output kept per agent: the log holds its last SIZE bytes, older ones are dropped (default 64M)");
  app.add_option("--keep-ended", o.keep_ended,
                 "Ended agents per owner whose records and logs are kept (ps -a); the oldest beyond it are forgotten (default 1000)");
  app.add_option("--keep-ended-days", o.keep_ended_days,
                 "Days an ended agent's record and log are kept (default 7)")
      ->check(CLI::Range(1u, 3650u));
  app.add_option("--json-depth", o.broker.json_depth,
                 "How deep agents' JSON may nest (MCP lines, broker.proto arguments; MCP servers' replies 16 more)")
      ->check(CLI::Range(size_t{8}, agentos::kJsonMaxDepth));
  app.add_option("--broker-connections", o.broker.connections, "Broker connections one agent may hold at once")
      ->check(CLI::PositiveNumber);
  app.add_option("--broker-buffer", o.broker.buffered,
                 "Bytes one agent may have buffered in the daemon across its broker connections (e.g. 8MiB)")
      ->transform(CLI::AsSizeValue(false))
      ->check(CLI::Range(size_t{2} << 20, size_t{1} << 40));  // at least two whole messages
  app.add_option("--broker-partial-timeout", o.broker_partial_timeout_s,
                 "Seconds a broker connection may hold part of a message before it is closed")
      ->check(CLI::PositiveNumber);
  app.add_option("--api-connections", o.api.connections, "API connections at once, all users together")
      ->check(CLI::PositiveNumber);
  app.add_option("--api-connections-per-uid", o.api.per_uid, "API connections one user (not root or an admin) may hold")
      ->check(CLI::PositiveNumber);
  app.add_option("--api-admin-reserve", o.api.admin_reserve,
                 "Of --api-connections, how many only root and the admin group may take");
  app.set_version_flag("--version", "agentosd 0.1.0");
  try {
    app.parse(argc, argv);
    if (o.api.admin_reserve >= o.api.connections)
      throw CLI::ValidationError("--api-admin-reserve", "must be less than --api-connections");
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return agentos::run(o);
}
