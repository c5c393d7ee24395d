// Live update: running agents brought in line with the policies now loaded (agent_manager.h).
#include "common/log.h"
#include "policy/policy_diff.h"
#include "server/agent_manager.h"
#include "server/agent_manager_detail.h"

namespace agentos {

std::vector<v1::AgentChange> AgentManager::update_running(const std::map<std::string, policy::Policy>& policies) {
  std::vector<v1::AgentChange> out;
  using C = v1::AgentChange;
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
    auto change = [&](C::Part part, C::Outcome outcome, const std::string& detail = "") {
      out.push_back(agent_change(id, r.name, part, outcome, detail));
    };
    policy::PolicyDiff changed = policy::diff(now, next);
    bool pending = changed.sandbox;

    if (changed.sockets) {
      if (r.host_network && next.host_network && net_) {
        if (auto s = net_->replace(r.cgroup_id, next); !s) {
          change(C::PART_NETWORK, C::OUTCOME_REFUSED, s.error().str());
          continue;
        }
        change(C::PART_NETWORK, C::OUTCOME_IN_FORCE);
      } else {
        pending = true;
      }
    }
    if (changed.files) {
      auto spec = lsm_ ? sandbox::make_launch_spec(next, id, r.uid, r.gid, r.groups) : Result<sandbox::LaunchSpec>(error(""));
      if (lsm_ && spec) {
        if (auto s = lsm_->replace(r.cgroup_id, agent_detail::fs_grants(*spec)); !s) {
          change(C::PART_FILES, C::OUTCOME_REFUSED, s.error().str());
          continue;
        }
        change(C::PART_FILES, C::OUTCOME_IN_FORCE,
               now.host_filesystem ? "" : "paths new to the policy stay outside its view until it restarts");
      } else {
        if (lsm_) change(C::PART_FILES, C::OUTCOME_REFUSED, spec.error().str());
        pending = true;  // Landlock can only narrow, and only from inside: wait for a restart
      }
    }
    bool refused = false;
    for (AgentService* s : services_) {
      ServiceUpdate u = s->update(r, now, next, out);
      if ((refused = u == ServiceUpdate::kRefused)) break;
      pending = pending || u == ServiceUpdate::kAtNextStart;
    }
    if (refused) continue;
    if (pending) {
      change(C::PART_OTHER, C::OUTCOME_AT_NEXT_START);
    } else {
      r.policy_text = next.source_text;  // what is in force is now exactly the new policy
      save(r);
    }
    log::info("agent " + r.name + " (" + id + "): policy updated", {{"AGENT_ID", id}, {"AGENT_NAME", r.name}});
  }
  return out;
}

std::vector<v1::AgentChange> AgentManager::secrets_changed(uid_t owner) {
  std::vector<v1::AgentChange> out;
  for (AgentService* s : services_) s->secrets_changed(owner, out);
  return out;
}

}  // namespace agentos
