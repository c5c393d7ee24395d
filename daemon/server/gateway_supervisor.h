// The daemon's side of the egress gateway: it starts agentos-gateway as an unprivileged dynamic
// user (no capabilities, no_new_privs, the agents' seccomp filter), hands it each agent's grants
// (secrets filled in) and listening sockets, restarts it if it dies, and turns its records into
// the audit trail. The daemon keeps every agent's listeners, so a restarted gateway gets them all
// back; while none runs, connections wait in the listeners' backlog, unanswered.
#pragma once

#include <linux/filter.h>
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/event_loop.h"
#include "common/result.h"
#include "common/unique_fd.h"
#include "gateway.pb.h"
#include "policy/policy.h"
#include "server/agent_service.h"
#include "server/audit.h"
#include "server/secret_store.h"

namespace agentos {

struct EgressOptions {
  std::string binary;  // agentos-gateway
  uid_t uid = 0;  // the dynamic user it runs as; never 0
  std::vector<sock_filter> seccomp;
  std::string dns;  // --dns for the gateway; empty for /etc/resolv.conf
  std::string ca_file;  // extra CAs for route upstreams
  int handshake_timeout_ms = 10'000;
};

class GatewaySupervisor final : public AgentService {
 public:
  using Clock = std::chrono::steady_clock;
  struct Who {
    std::string name;
    uid_t owner = 0;
  };

  GatewaySupervisor(EventLoop& loop, EgressOptions options, const SecretStore& secrets, AuditLog& audit,
                std::function<Who(const std::string& id)> who)
      : loop_(loop), options_(std::move(options)), secrets_(secrets), audit_(audit), who_(std::move(who)) {}
  ~GatewaySupervisor();

  [[nodiscard]] Status start();
  [[nodiscard]] bool running() const { return pidfd_.valid(); }

  // The agent's egress as the gateway will hold it, with a descriptor of each secret its routes
  // name (never the value). Fails if one is not set; or, unless `strict`, leaves such a route
  // out (a secret removed while the agent runs takes its route with it).
  struct Described {
    gateway::Agent config;
    std::vector<UniqueFd> secrets;  // in the order of config.secrets()
  };
  [[nodiscard]] Result<Described> describe(const std::string& id, const policy::Policy& p, uid_t owner,
                                           bool strict = true) const;
  // AgentService: [egress] described (secrets filled in) before the start, the agent's listeners
  // served once it runs, its grants replaced live, its routes given the secrets as they are.
  [[nodiscard]] Status admit(const std::string& id, const policy::Policy& p, uid_t owner) override;
  void serve(const AgentRecord& r, const policy::Policy& p, AgentSockets& sockets) override;
  [[nodiscard]] ServiceUpdate update(const AgentRecord& r, const policy::Policy& now, const policy::Policy& next,
                                     std::vector<v1::AgentChange>& changes) override;
  void secrets_changed(uid_t owner, std::vector<v1::AgentChange>& changes) override;
  void ended(const std::string& id) override;

  // A connection made on the agent's behalf (the broker's http.fetch), served as the agent's.
  [[nodiscard]] Status adopt(const std::string& id, UniqueFd conn);

 private:
  struct Held {
    policy::Policy policy;  // as it runs under, for its routes when secrets change
    gateway::Agent config;
    std::vector<UniqueFd> listeners;
    std::vector<UniqueFd> secrets;
  };

  void replace(Held& h, Described agent);
  void spawn();
  void on_exit();
  void on_control(uint32_t events);
  void send(Held& h, bool with_listeners);
  void send_forget(const std::string& id);

  EventLoop& loop_;
  EgressOptions options_;
  const SecretStore& secrets_;
  AuditLog& audit_;
  std::function<Who(const std::string&)> who_;
  UniqueFd control_, pidfd_;
  EventLoop::Watch control_watch_, pid_watch_;
  pid_t pid_ = -1;
  int failures_ = 0;  // in a row: the restart's delay doubles with each
  EventLoop::Timer restart_, calm_;
  std::map<std::string, Held> agents_;
};

}  // namespace agentos
