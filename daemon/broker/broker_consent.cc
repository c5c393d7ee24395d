// Calls that wait for their owner's consent: listed, answered (once, for the run, or always),
// revoked, and denied when their time is up.
#include "broker/broker_parts.h"
#include "policy/tool_names.h"

namespace agentos::broker {

using namespace detail;

std::vector<PendingCall> Broker::pending() const {
  std::vector<PendingCall> out;
  for (const auto& [id, w] : waiting_) out.push_back(w->call);
  return out;
}

Status Broker::answer(const std::string& pending_id, bool approve, Scope scope, uid_t by) {
  auto it = waiting_.find(pending_id);
  if (it == waiting_.end()) return error("no call waits as " + pending_id);
  auto a = agents_.find(it->second->call.agent_id);
  if (a == agents_.end()) return error("its agent has ended");
  Waiting& w = *it->second;
  const std::string& tool = w.call.tool;
  if (approve && scope == Scope::kAlways && hooks_.grant_always)
    if (auto s = hooks_.grant_always(w.call.agent_id, tool); !s) return s;
  std::unique_ptr<Waiting> owned = std::move(it->second);
  waiting_.erase(it);
  Agent& agent = *a->second;
  --agent.quota.in_flight;
  std::string who = "uid " + std::to_string(by);
  if (!approve) {
    if (hooks_.audit) hooks_.audit(agent.info.caller, describe_call(tool, owned->args) + ": denied by " + who, v1::DECISION_DENY);
    if (auto c = conns_.find(owned->fd); c != conns_.end() && c->second->serial == owned->serial)
      send(*c->second, result_line(owned->request_id, refusal("denied: " + tool + " was refused by the agent's owner")));
    return {};
  }
  if (scope != Scope::kOnce) agent.approved.insert(tool);
  static const char* const kScopes[] = {"once", "session", "always"};
  std::string how = "approved by " + who + " (" + kScopes[static_cast<int>(scope)] + ")";
  int fd = conns_.contains(owned->fd) && conns_.at(owned->fd)->serial == owned->serial ? owned->fd : -1;
  finish_call(fd, owned->request_id, agent, tool, owned->args, how, owned->started);
  return {};
}

void Broker::revoke(const std::string& agent_id, const std::string& tool) {
  if (auto a = agents_.find(agent_id); a != agents_.end())
    std::erase_if(a->second->approved, [&](const std::string& t) { return policy::grant_covers(tool, t); });
}

void Broker::consent_timed_out(const std::string& call_id) {
  auto it = waiting_.find(call_id);
  if (it == waiting_.end()) return;
  std::unique_ptr<Waiting> w = std::move(it->second);
  waiting_.erase(it);
  auto a = agents_.find(w->call.agent_id);
  if (a == agents_.end()) return;
  --a->second->quota.in_flight;
  std::string why = "no answer within " + std::to_string(w->call.timeout_s) + " s (tools.consent_timeout)";
  if (hooks_.audit) hooks_.audit(a->second->info.caller, describe_call(w->call.tool, w->args) + ": " + why, v1::DECISION_DENY);
  if (auto c = conns_.find(w->fd); c != conns_.end() && c->second->serial == w->serial)
    send(*c->second, result_line(w->request_id, refusal("denied: " + why)));
}

}  // namespace agentos::broker
