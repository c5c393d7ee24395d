// The API's consent handlers: calls that wait for their owner (pending), the owner's answer, and
// taking a grant back. Only the agent's owner, root and the admin group may see or answer them.
#include "policy/policy_edit.h"
#include "server/api_server.h"
#include "server/consent_policy.h"

namespace agentos {

void fill_pending(const broker::PendingCall& call, v1::PendingCall* out) {
  out->set_id(call.id);
  out->set_agent_id(call.agent_id);
  out->set_agent_name(call.agent_name);
  out->set_owner_uid(call.owner);
  out->set_tool(call.tool);
  for (const auto& a : call.arguments) {
    auto* arg = out->add_arguments();
    arg->set_name(a.name);
    arg->set_shown(a.shown);
    arg->set_size(a.size);
    arg->set_sha256(a.sha256);
    arg->set_cut(a.cut);
  }
  out->set_arguments_json(call.arguments_json);
  out->set_created_unix(call.created_unix);
  out->set_timeout_seconds(call.timeout_s);
}

bool ApiServer::may_answer(const Peer& p, const broker::PendingCall& call) const { return p.admin || call.owner == p.uid; }

void ApiServer::do_pending(Conn& c, const v1::PendingRequest& req, v1::Response& resp) {
  // One reply per call: a call's full arguments can take most of a frame (consent_view.h).
  for (const auto& call : broker_.pending()) {
    if (!may_answer(c.peer, call)) continue;
    v1::Response one;
    fill_pending(call, one.mutable_pending()->add_calls());
    send(c, one);
  }
  resp.mutable_pending();
  if (req.follow()) {
    resp.set_final(false);
    c.pending = true;  // new calls follow as they start waiting, one reply each
  }
}

void ApiServer::do_answer(const Peer& p, const v1::AnswerRequest& req, v1::Response& resp) {
  for (const auto& call : broker_.pending()) {
    if (call.id != req.id()) continue;
    if (!may_answer(p, call)) return void(resp = error_response(v1::Error::CODE_PERMISSION_DENIED, "call " + req.id() + " is another user's agent's"));
    // "always" writes the grant into a policy file: that is applying a policy.
    if (req.approve() && req.scope() == v1::AnswerRequest::SCOPE_ALWAYS && !p.admin)
      return void(resp = error_response(v1::Error::CODE_PERMISSION_DENIED,
                                        "approving with --scope always edits the agent's policy file, which needs root or the "
                                        "admin group (who may apply policies); approve it --scope session instead"));
    auto scope = req.scope() == v1::AnswerRequest::SCOPE_ALWAYS    ? broker::Scope::kAlways
                 : req.scope() == v1::AnswerRequest::SCOPE_SESSION ? broker::Scope::kSession
                                                             : broker::Scope::kOnce;
    if (auto s = broker_.answer(req.id(), req.approve(), scope, p.uid); !s)
      return void(resp = error_response(v1::Error::CODE_FAILED_PRECONDITION, s.error().str()));
    resp.mutable_answer();
    return;
  }
  resp = error_response(v1::Error::CODE_NOT_FOUND, "no call waits as " + req.id());
}

void ApiServer::do_revoke(const Peer& p, const v1::RevokeRequest& req, v1::Response& resp) {
  const AgentRecord* r = lookup(p, req.agent(), resp);
  if (!r) return;
  auto* out = resp.mutable_revoke();
  broker_.revoke(r->id, req.tool());
  using C = v1::AgentChange;
  *out->add_changes() = agent_change(r->id, r->name, C::PART_APPROVALS, C::OUTCOME_IN_FORCE, req.tool());
  // The grant in its file too, if the file is the daemon's to change and the caller may apply policies.
  auto edited = p.admin ? edit_agent_policy(policies_, agents_, *r, policy::revoke_tool, req.tool())
                        : Result<std::vector<C>>(error("changing a policy file needs root or the admin group"));
  if (edited) {
    for (auto& c : *edited) *out->add_changes() = std::move(c);
  } else {
    *out->add_changes() = agent_change(r->id, r->name, C::PART_POLICY_FILE, C::OUTCOME_REFUSED, edited.error().str());
  }
}

}  // namespace agentos
