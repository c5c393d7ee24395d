// Live update: running agents brought in line with the policies now loaded (agent_manager.h).
#include "common/log.h"
#include "policy/policy_diff.h"
#include "server/agent_manager.h"
#include "server/agent_manager_detail.h"

namespace agentos {

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
    policy::PolicyDiff changed = policy::diff(now, next);
    bool pending = changed.sandbox;

    if (changed.sockets) {
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
    if (changed.files) {
      auto spec = lsm_ ? sandbox::make_launch_spec(next, id, r.uid, r.gid, r.groups) : Result<sandbox::LaunchSpec>(error(""));
      if (lsm_ && spec) {
        if (auto s = lsm_->replace(r.cgroup_id, agent_detail::fs_grants(*spec)); !s) {
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
    bool refused = false;
    for (AgentService* s : services_) {
      ServiceUpdate u = s->update(r, now, next, out);
      if ((refused = u == ServiceUpdate::kRefused)) break;
      pending = pending || u == ServiceUpdate::kAtNextStart;
    }
    if (refused) continue;
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

std::vector<std::string> AgentManager::secrets_changed(uid_t owner) {
  std::vector<std::string> out;
  for (AgentService* s : services_) s->secrets_changed(owner, out);
  return out;
}

}  // namespace agentos
