// agentosd as one object: it builds every part in order (each takes what it needs from the
// parts built before it), runs the event loop, and tears them down in reverse. A new part is a
// member here and a step in init(); nothing else needs to learn of it.
#pragma once

#include <linux/filter.h>
#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/broker.h"
#include "common/event_loop.h"
#include "common/listeners.h"
#include "common/result.h"
#include "sandbox/cgroup.h"
#include "sandbox/layer_probe.h"
#include "server/agent_manager.h"
#include "server/api_server.h"
#include "server/audit.h"
#include "server/broker_service.h"
#include "server/gateway_supervisor.h"
#include "server/identity.h"
#include "server/kernel_guards.h"
#include "server/mcp_servers.h"
#include "server/policy_store.h"
#include "server/secret_store.h"

namespace agentos {

namespace broker {
class Delegation;
class ExternalTools;
}  // namespace broker

struct DaemonOptions {
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
  uint64_t agent_log_max = 64ull << 20;
  size_t keep_ended = 1000;
  unsigned keep_ended_days = 7;
  broker::Limits broker;
  ApiLimits api;
};

class Daemon : private AgentObserver {
 public:
  explicit Daemon(DaemonOptions o) : o_(std::move(o)) {}
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Builds every part; an error says which could not be built. Nothing is served yet.
  [[nodiscard]] Status init();
  // Serves until SIGTERM or SIGINT (agents keep running, for the next daemon to adopt).
  [[nodiscard]] Status run();

 private:
  [[nodiscard]] Status prepare_host();
  [[nodiscard]] Status start_kernel_parts();
  [[nodiscard]] Status start_agents();
  void start_egress();
  [[nodiscard]] Status start_broker();
  [[nodiscard]] Status watch_logs();
  [[nodiscard]] Status handle_signals();
  void on_signal(int signo);

  // AgentObserver: what the audit trail and delegation learn of agents.
  void started(const AgentRecord& r) override;
  void exited(const AgentRecord& r) override;

  DaemonOptions o_;
  gid_t admin_gid_ = static_cast<gid_t>(-1);
  std::optional<EventLoop> loop_;
  std::optional<sandbox::Cgroups> cgroups_;
  sandbox::ProbeResult probe_;
  std::unique_ptr<DynamicUsers> users_;
  std::unique_ptr<PolicyStore> policies_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<KernelGuards> guards_;
  std::unique_ptr<AgentManager> agents_;
  std::unique_ptr<SecretStore> secrets_;
  std::unique_ptr<GatewaySupervisor> egress_;
  std::unique_ptr<UnavailableService> no_egress_;  // in its place, where it could not start
  std::string egress_missing_;
  std::unique_ptr<Listeners> listeners_;
  std::unique_ptr<ApiServer> api_;
  broker::Delegation* delegation_ = nullptr;         // owned by broker_
  broker::ExternalTools* external_tools_ = nullptr;  // owned by broker_
  std::unique_ptr<broker::Broker> broker_;
  std::unique_ptr<BrokerService> broker_service_;
  std::unique_ptr<McpServers> mcp_servers_;
  UniqueFd inotify_, signals_;
  EventLoop::Watch inotify_watch_, signals_watch_;
  EventLoop::Timer watchdog_;
};

}  // namespace agentos
