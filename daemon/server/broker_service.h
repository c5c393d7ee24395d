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
                                     std::vector<v1::AgentChange>& changes) override {
    bool changed = policy::diff(now, next).tools;
    if (changed || next.tools) broker_.update(r.id, next.tools);  // with constraints and timeouts, silently
    if (changed)
      changes.push_back(agent_change(r.id, r.name, v1::AgentChange::PART_TOOLS, v1::AgentChange::OUTCOME_IN_FORCE));
    return ServiceUpdate::kInForce;
  }
  void ended(const std::string& id) override { broker_.detach(id); }

 private:
  broker::Broker& broker_;
};

}  // namespace agentos
