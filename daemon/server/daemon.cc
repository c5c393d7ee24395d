#include "server/daemon.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "broker/tools/account_tools.h"
#include "broker/tools/delegation.h"
#include "broker/tools/external_tools.h"
#include "broker/tools/http_fetch.h"
#include "broker/tools/kv_store.h"
#include "broker/tools/workspace.h"
#include "common/audit_chain.h"
#include "common/log.h"
#include "policy/policy_edit.h"
#include "sandbox/helper.h"
#include "sandbox/seccomp.h"
#include "server/delegate_start.h"
#include "server/consent_policy.h"

namespace agentos {
namespace {

// One of our helper programs: beside agentosd (a build tree), else where the package puts them.
std::string helper_binary(const std::string& name) {
  std::error_code ec;
  auto beside = std::filesystem::read_symlink("/proc/self/exe", ec).parent_path() / name;
  if (!ec && ::access(beside.c_str(), X_OK) == 0) return beside;
  return AGENTOS_LIBEXECDIR "/" + name;
}

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

Status make_dirs(const DaemonOptions& o) {
  namespace fs = std::filesystem;
  for (const auto& [dir, mode] : std::initializer_list<std::pair<std::string, mode_t>>{{o.runtime_dir, 0755},
                                                                                       {o.runtime_dir + "/agents", 0700},
                                                                                       {o.state_dir, 0755},
                                                                                       {o.state_dir + "/logs", 0700},
                                                                                       {o.state_dir + "/agents", 0755},
                                                                                       {o.state_dir + "/secrets", 0700},
                                                                                       {o.policy_dir, 0755},
                                                                                       {"/run/agentos", 0755}}) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return error("create " + dir + ": " + ec.message());
    if (::chmod(dir.c_str(), mode) != 0) return sys_error("chmod " + dir);
  }
  return {};
}

}  // namespace

Daemon::~Daemon() {
  if (audit_) audit_->close();
}

Status Daemon::init() {
  for (auto step : {&Daemon::prepare_host, &Daemon::start_kernel_parts, &Daemon::start_agents})
    if (auto s = (this->*step)(); !s) return s;
  start_egress();
  for (auto step : {&Daemon::start_broker, &Daemon::watch_logs, &Daemon::handle_signals})
    if (auto s = (this->*step)(); !s) return s;
  agents_->recover();
  return {};
}

Status Daemon::prepare_host() {
  if (::geteuid() != 0) return error("agentosd must run as root: it creates namespaces and cgroups for agents");
  if (auto s = make_dirs(o_); !s) return s;
  // A few descriptors per agent (its monitor's pidfd, the broker's listener and connection): at
  // systemd's soft limit of 1024 the daemon would stop near 300 agents. Agents get 1024 back.
  if (rlimit nofile; ::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &nofile) != 0)
      log::warning(std::string("cannot raise the descriptor limit: ") + std::strerror(errno));
  }
  // Looked up once, before the loop runs: NSS may block (LDAP, sssd).
  if (const group* g = ::getgrnam(o_.admin_group.c_str()))
    admin_gid_ = g->gr_gid;
  else
    log::warning("group " + o_.admin_group + " does not exist; only root is an admin");
  auto loop = EventLoop::create();
  if (!loop) return loop.error();
  loop_.emplace(std::move(*loop));
  return {};
}

Status Daemon::start_kernel_parts() {
  auto seccomp = sandbox::build_baseline_filter();
  if (!seccomp) return error("cannot build the seccomp filter: " + seccomp.error().str());
  auto cgroups = sandbox::Cgroups::init(o_.cgroup);
  if (!cgroups) return error("cannot set up cgroups: " + cgroups.error().str());
  cgroups_.emplace(std::move(*cgroups));

  // READY=1 means agents can really be confined, so prove it before saying so.
  probe_ = sandbox::probe_layers(*cgroups_, *seccomp);
  for (const auto& l : probe_.layers)
    log::info(std::string("layer ") + l.name + ": " + (l.available ? "available" : "unavailable") + " (" + l.detail + ")",
              {{"LAYER", l.name}, {"AVAILABLE", l.available ? "1" : "0"}});
  if (!probe_.can_confine) return error("cannot confine agents on this machine: " + probe_.reason);

  users_ = std::make_unique<DynamicUsers>(o_.state_dir + "/dynamic-users.json");
  if (auto s = users_->load(); !s) return s;
  policies_ = std::make_unique<PolicyStore>(o_.policy_dir);
  for (const auto& d : policies_->reload()) log::warning("policy not applied: " + d);
  audit_ = std::make_unique<AuditLog>(o_.state_dir + "/audit.log");
  if (auto s = audit_->open(); !s) return error("cannot open the audit trail: " + s.error().str());
  audit_->run_on(*loop_);
  guards_ = std::make_unique<KernelGuards>(
      *loop_, cgroups_->mount() + cgroups_->base() + "/agents", o_.bpf_dir, *audit_,
      [this](uint64_t cgroup_id) { return agents_ ? agents_->find_by_cgroup(cgroup_id) : nullptr; }, probe_);
  return {};
}

Status Daemon::start_agents() {
  const bool lsm = guards_->lsm() != nullptr;
  // The agents' seccomp filters: where the LSM checks every exec and listen, they leave those to
  // it; under the fallback they hold them themselves.
  SeccompFilters filters;
  for (bool host_net : {false, true}) {
    auto f = sandbox::build_baseline_filter({.executable_memfds = lsm, .listen = lsm || !host_net});
    if (!f) return error("cannot build the seccomp filter: " + f.error().str());
    (host_net ? filters.host_network : filters.own_network) = std::move(*f);
  }
  if (o_.without_landlock && !lsm) return error("--without-landlock needs BPF LSM, which is unavailable");
  agents_ = std::make_unique<AgentManager>(*loop_, *cgroups_, std::move(filters), DaemonPaths{o_.runtime_dir, o_.state_dir},
                                           *users_, guards_->net(), guards_->net_missing(), guards_->lsm(),
                                           guards_->unix_sockets(), guards_->devices(), !o_.without_landlock);
  agents_->set_log_max(o_.agent_log_max);
  agents_->set_retention(o_.keep_ended, std::chrono::hours(24) * o_.keep_ended_days);
  agents_->subscribe(*this);
  for (auto& l : probe_.layers)
    if (l.name.starts_with("landlock") && lsm && l.available)
      l.detail += "; the fallback: not applied while BPF LSM governs files";
  if (o_.without_landlock)
    log::warning("Landlock is off (--without-landlock): files are held by BPF LSM and the mount namespace");
  secrets_ = std::make_unique<SecretStore>(o_.state_dir + "/secrets");
  return {};
}

// The egress gateway: the only way off the machine for agents with [egress]. Without it such
// policies are refused; every other agent is unaffected.
void Daemon::start_egress() {
  auto gateway_uid = users_->uid_for("@gateway");  // no agent name can start with '@'
  auto gateway_filter = sandbox::build_baseline_filter({.executable_memfds = false, .listen = false});
  if (!gateway_uid || !gateway_filter) {
    egress_missing_ = !gateway_uid ? gateway_uid.error().str() : gateway_filter.error().str();
  } else {
    egress_ = std::make_unique<GatewaySupervisor>(
        *loop_,
        EgressOptions{o_.gateway.empty() ? helper_binary("agentos-gateway") : o_.gateway, *gateway_uid,
                      std::move(*gateway_filter), o_.egress_dns, o_.egress_ca, o_.egress_handshake_ms},
        *secrets_, *audit_, [this](const std::string& id) {
          const AgentRecord* r = agents_->find(id);
          return r ? GatewaySupervisor::Who{r->name, r->owner_uid} : GatewaySupervisor::Who{};
        });
    if (auto s = egress_->start(); !s) {
      egress_missing_ = s.error().str();
      egress_.reset();
    }
  }
  if (egress_) {
    agents_->serve_with(*egress_);
  } else {
    no_egress_ = std::make_unique<UnavailableService>([](const policy::Policy& p) { return p.egress.has_value(); },
                                                      "has [egress], but the egress gateway is unavailable: " + egress_missing_);
    agents_->serve_with(*no_egress_);
  }
  probe_.layers.push_back({"egress gateway", egress_ != nullptr,
                           egress_ ? "[egress] grants by name, routes with secrets, as uid " + std::to_string(*gateway_uid)
                                   : "unavailable (" + egress_missing_ + "): policies with [egress] are refused"});
  log::info(std::string("layer egress gateway: ") + (egress_ ? "available" : "unavailable: " + egress_missing_));
}

// The API, and the broker: every agent's platform tools, over MCP at /run/agentos/broker.sock in
// its view.
Status Daemon::start_broker() {
  // The API's listener and every agent's broker listener: paused while accept has no descriptor
  // or memory to give, instead of waking the loop forever.
  listeners_ = std::make_unique<Listeners>(*loop_, [](const Error& e) {
    log::warning("cannot accept connections (" + e.str() +
                 "): listeners paused, tried again every second; "
                 "clients wait in the backlog meanwhile");
  });
  std::vector<std::unique_ptr<broker::Provider>> providers;
  providers.push_back(std::make_unique<broker::KvStore>(o_.state_dir + "/kv"));
  providers.push_back(std::make_unique<broker::Workspace>(o_.state_dir + "/workspaces"));
  providers.push_back(std::make_unique<broker::HttpFetch>(*loop_, [this](const std::string& id, UniqueFd conn) -> Status {
    return egress_ ? egress_->adopt(id, std::move(conn)) : Status(error("the egress gateway is unavailable: " + egress_missing_));
  }));
  // Calendar and email: each call in its own tool host, as the dynamic user "@tools" (a uid of
  // its own: never the gateway's, never an agent's), under the agents' seccomp filter.
  auto tools_uid = users_->uid_for("@tools");
  auto tools_filter = sandbox::build_baseline_filter({.executable_memfds = false, .listen = false});
  if (tools_uid && tools_filter) {
    providers.push_back(std::make_unique<broker::AccountTools>(
        *loop_, broker::AccountTools::Deps{
                    [this](const std::string& id) { return broker_ ? broker_->tools_of(id) : std::nullopt; },
                    [this](uid_t owner, const std::string& name) { return secrets_->open(owner, name); },
                    [uid = *tools_uid, filter = std::move(*tools_filter)](int in, int out, int secret) -> Result<UniqueFd> {
                      const std::string binary = helper_binary("agentos-toolhost");
                      auto h = sandbox::spawn_helper({.binary = binary,
                                                      .uid = uid,
                                                      .seccomp = &filter,
                                                      .fds = {secret},
                                                      .stdin_fd = in,
                                                      .stdout_fd = out,
                                                      .read_only = {"/usr", "/etc", "/lib", "/lib64", "/run/systemd/resolve",
                                                                    "/proc/self", std::filesystem::path(binary).parent_path()}});
                      if (!h) return h.error();
                      return std::move(h->pidfd);
                    }}));
  } else {
    log::warning("calendar and email tools unavailable: " + (!tools_uid ? tools_uid.error().str() : tools_filter.error().str()));
  }
  auto external = std::make_unique<broker::ExternalTools>();
  external_tools_ = external.get();
  providers.push_back(std::move(external));
  auto delegation = std::make_unique<broker::Delegation>(
      *loop_,
      [this](const broker::Caller& by, const std::string& target, const std::string& task) {
        return start_delegate(*agents_, *policies_, by, target, task);
      },
      [this](const std::string& id) { (void)agents_->stop(id); });
  delegation_ = delegation.get();
  providers.push_back(std::move(delegation));

  broker::Hooks hooks;
  hooks.audit = [this](const broker::Caller& who, const std::string& operation, v1::Decision decision) {
    audit_->event(who.agent_id, who.agent_name, who.owner, operation, v1::AUDIT_LAYER_BROKER, decision);
  };
  hooks.pending = [this](const broker::PendingCall& call) { api_->pending_event(call); };
  hooks.limit = [this](const broker::Caller& who, const std::string& what) {
    audit_->limit(who.agent_id, who.agent_name, who.owner, what, v1::AUDIT_LAYER_BROKER);
  };
  hooks.grant_always = [this](const std::string& id, const std::string& tool) -> Status {
    const AgentRecord* r = agents_->find(id);
    if (!r) return error("its agent has ended");
    auto changes = edit_agent_policy(*policies_, *agents_, *r, policy::grant_tool, tool);
    if (!changes) return changes.error();
    for (const auto& c : *changes) log::info(agent_change_text(c));
    return {};
  };
  broker_ = std::make_unique<broker::Broker>(*loop_, *listeners_, std::move(providers), std::move(hooks), o_.broker);
  mcp_servers_ = std::make_unique<McpServers>(
      *loop_, *agents_, *policies_, *external_tools_, [this] { broker_->refresh_tools(); }, o_.broker.json_depth);
  // The API after the broker it answers consent for (the broker's hooks reach it only once the
  // loop runs).
  api_ = std::make_unique<ApiServer>(*loop_, *listeners_, *agents_, *policies_, *secrets_, *broker_, probe_, admin_gid_,
                                     *audit_, cgroups_->base() + "/agents/", o_.api);
  broker_service_ = std::make_unique<BrokerService>(*broker_);
  agents_->serve_with(*broker_service_);
  agents_->set_bridge(helper_binary("agentos-mcp"));
  probe_.layers.push_back({"broker", true, "platform tools over MCP at /run/agentos/broker.sock in every agent"});
  audit_->on_event = [this](const v1::AuditEvent& e) { api_->audit_event(e); };
  audit_->trace_of = [this](const std::string& id) {
    const AgentRecord* r = agents_->find(id);
    return r ? r->trace : std::string();
  };
  return {};
}

// The program, and of its arguments (which may hold what the trail's readers should not see)
// enough to match two starts, as the broker keeps of a tool call's.
void Daemon::started(const AgentRecord& r) {
  std::string args;
  for (size_t i = 1; i < r.command.size(); ++i) args += r.command[i] + '\0';
  audit_->event(r.id, r.name, r.owner_uid,
                "start " + (r.command.empty() ? std::string("?") : r.command[0]) + " (arguments " +
                    audit_chain::sha256_hex(args).substr(0, 16) + ")" +
                    (r.delegated_by.empty() ? "" : ", delegated by " + r.delegated_by),
                v1::AUDIT_LAYER_LAUNCHER, v1::DECISION_ALLOW);
}

void Daemon::exited(const AgentRecord& r) {
  if (!r.delegated_by.empty() && delegation_)
    delegation_->finished(r.id, r.exit_code, r.reason, output_tail(r.log_path, 64 * 1024));
}

// Log growth wakes the clients that follow an agent's output.
Status Daemon::watch_logs() {
  inotify_.reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!inotify_.valid() || ::inotify_add_watch(inotify_.get(), (o_.state_dir + "/logs").c_str(), IN_MODIFY) < 0)
    return sys_error("inotify");
  auto w = loop_->watch(inotify_.get(), EPOLLIN, [this](uint32_t) {
    alignas(inotify_event) char buf[4096];
    ssize_t n;
    while ((n = ::read(inotify_.get(), buf, sizeof buf)) > 0) {
      for (char* p = buf; p < buf + n;) {
        auto* ev = reinterpret_cast<inotify_event*>(p);
        p += sizeof(inotify_event) + ev->len;
        std::string name = ev->len ? ev->name : "";
        if (!name.ends_with(".log")) continue;
        std::string id = name.substr(0, name.size() - 4);
        agents_->log_grew(id);
        api_->agent_output(id);
      }
    }
  });
  if (!w) return w.error();
  inotify_watch_ = std::move(*w);
  return {};
}

Status Daemon::handle_signals() {
  sigset_t sigs;
  sigemptyset(&sigs);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaddset(&sigs, s);
  ::sigprocmask(SIG_BLOCK, &sigs, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  signals_.reset(::signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!signals_.valid()) return sys_error("signalfd");
  auto w = loop_->watch(signals_.get(), EPOLLIN, [this](uint32_t) {
    signalfd_siginfo si;
    while (::read(signals_.get(), &si, sizeof si) == sizeof si) on_signal(static_cast<int>(si.ssi_signo));
  });
  if (!w) return w.error();
  signals_watch_ = std::move(*w);
  return {};
}

void Daemon::on_signal(int signo) {
  if (signo == SIGTERM || signo == SIGINT) {
    // Agents keep running, confined, and the next daemon adopts them.
    log::info("stopping on signal " + std::to_string(signo) + "; agents keep running");
    sd_notify(0, "STOPPING=1");
    loop_->stop();
  } else if (signo == SIGHUP) {
    sd_notify(0, "RELOADING=1");
    for (const auto& d : policies_->reload()) log::warning("policy not applied: " + d);
    for (const auto& c : agents_->update_running(policies_->all())) log::info(agent_change_text(c));
    log::info("policies reloaded", {{"POLICY_COUNT", std::to_string(policies_->all().size())}});
    sd_notify(0, "READY=1");
  }
  // SIGCHLD: monitors are reaped when their pidfd fires.
}

Status Daemon::run() {
  auto listener = listen_on(o_.socket);
  if (!listener) return listener.error();
  if (auto s = api_->serve(std::move(*listener)); !s) return s;
  if (uint64_t usec = 0; sd_watchdog_enabled(0, &usec) > 0)
    watchdog_ = loop_->every(std::chrono::microseconds(usec / 2), [] { sd_notify(0, "WATCHDOG=1"); });
  log::info("ready: serving " + o_.socket + " with " + std::to_string(policies_->all().size()) + " policies");
  sd_notify(0, "READY=1");
  return loop_->run();
}

}  // namespace agentos
