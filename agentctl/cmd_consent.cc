// pending, approve, deny, revoke: the owner's side of tool calls that wait for consent.
#include <ctime>
#include <iostream>

#include "agentctl/commands.h"
#include "agentctl/connection.h"
#include "agentctl/output.h"
#include "agentctl/table.h"

namespace agentos::ctl {

using agentos::v1::Response;
namespace {

Json call_json(const agentos::v1::PendingCall& c) {
  return Json{{"id", c.id()},       {"agent_id", c.agent_id()},   {"agent_name", c.agent_name()},
              {"owner_uid", c.owner_uid()}, {"tool", c.tool()}, {"arguments", c.arguments()},
              {"created_unix", c.created_unix()}, {"timeout_seconds", c.timeout_seconds()}};
}

void print_call(const agentos::v1::PendingCall& c, bool json) {
  if (json) {
    std::cout << call_json(c).dump() << "\n" << std::flush;
    return;
  }
  long left = static_cast<long>(c.created_unix() + c.timeout_seconds()) - static_cast<long>(std::time(nullptr));
  std::cout << c.id() << "  " << c.agent_name() << " (" << c.agent_id() << ", uid " << c.owner_uid() << ") asks to call "
            << c.tool() << " with " << c.arguments() << "  [" << std::max(0L, left) << " s left]\n"
            << std::flush;
}

}  // namespace

Outcome<int> cmd_pending(const Globals& g, bool follow) {
  agentos::v1::Request req;
  req.mutable_pending()->set_follow(follow);
  auto conn = Connection::open(g.socket);
  if (!conn) return conn.error();
  if (auto s = conn->send(req); !s) return s.error();
  Json all = Json::array();
  bool first = true;
  while (!conn->finished()) {
    auto r = conn->next();
    if (!r) return r.error();
    if (!empty_or(*r, &Response::has_pending)) return unexpected_reply("pending");
    for (const auto& c : r->pending().calls()) {
      if (g.json && !follow) all.push_back(call_json(c));
      else print_call(c, g.json);
    }
    if (first && !follow && !g.json && r->pending().calls_size() == 0) std::cout << "no calls wait for consent\n";
    first = false;
  }
  if (g.json && !follow) print_json(all);
  return kExitOk;
}

Outcome<int> cmd_answer(const Globals& g, const std::string& id, bool approve, const std::string& scope) {
  agentos::v1::Request req;
  auto* a = req.mutable_answer();
  a->set_id(id);
  a->set_approve(approve);
  if (scope == "session") a->set_scope(agentos::v1::AnswerRequest::SESSION);
  else if (scope == "always") a->set_scope(agentos::v1::AnswerRequest::ALWAYS);
  else if (scope != "once") return usage_error("--scope is once, session or always, not \"" + scope + "\"");
  auto resp = call(g.socket, req);
  if (!resp) return resp.error();
  if (!resp->has_answer()) return unexpected_reply(approve ? "approve" : "deny");
  if (g.json) print_json(Json{{"id", id}, {"approved", approve}, {"scope", scope}});
  return kExitOk;
}

Outcome<int> cmd_revoke(const Globals& g, const std::string& agent, const std::string& tool) {
  agentos::v1::Request req;
  req.mutable_revoke()->set_agent(agent);
  req.mutable_revoke()->set_tool(tool);
  auto resp = call(g.socket, req);
  if (!resp) return resp.error();
  if (!resp->has_revoke()) return unexpected_reply("revoke");
  std::vector<std::string> lines(resp->revoke().changed().begin(), resp->revoke().changed().end());
  if (g.json) print_json(Json{{"changed", lines}});
  else
    for (const auto& l : lines) std::cout << l << "\n";
  return kExitOk;
}

}  // namespace agentos::ctl
