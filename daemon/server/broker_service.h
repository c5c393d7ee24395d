// The broker as an agent service: each agent's MCP listener served with its [tools] grants.
#pragma once

#include "broker/broker.h"
#include "policy/policy_diff.h"
#include "server/agent_service.h"

namespace agentos {

class BrokerService final : public AgentService {
 public:
  explicit BrokerService(broker::Broker& broker) : broker_(broker) {}

  void serve(const AgentRecord& r, const policy::Policy& p, AgentSockets& sockets) override {
    if (!sockets.broker.valid()) return;
    broker_.attach({{r.id, r.name, r.owner_uid, r.uid}, r.cgroup, p.tools}, std::move(sockets.broker));
  }
  [[nodiscard]] ServiceUpdate update(const AgentRecord& r, const policy::Policy& now, const policy::Policy& next,
                                     std::vector<std::string>& lines) override {
    bool changed = policy::diff(now, next).tools;
    if (changed || next.tools) broker_.update(r.id, next.tools);  // with constraints and timeouts, silently
    if (changed) lines.push_back("agent " + r.name + " (" + r.id + "): tool grants replaced");
    return ServiceUpdate::kInForce;
  }
  void ended(const std::string& id) override { broker_.detach(id); }

 private:
  broker::Broker& broker_;
};

}  // namespace agentos
