// pending, approve, deny, revoke: the owner's side of tool calls that wait for consent.
#include <algorithm>
#include <ctime>
#include <iostream>

#include "common/bounded_json.h"
#include "agentctl/commands.h"
#include "agentctl/connection.h"
#include "agentctl/output.h"
#include "agentctl/table.h"

namespace agentos::ctl {

using agentos::v1::Response;
namespace {

Json call_json(const agentos::v1::PendingCall& c) {
  Json shown = Json::array();
  for (const auto& a : c.arguments())
    shown.push_back({{"name", a.name()}, {"shown", a.shown()}, {"size", a.size()}, {"sha256", a.sha256()}, {"cut", a.cut()}});
  // The agent chose these arguments: parsed within bounds, like anything an agent sends.
  auto parsed = agentos::parse_json(c.arguments_json(), {agentos::kJsonDepth + agentos::kJsonEnvelope, c.arguments_json().size()});
  Json args = parsed ? std::move(*parsed) : Json(nullptr);
  return Json{{"id", c.id()},
              {"agent_id", c.agent_id()},
              {"agent_name", c.agent_name()},
              {"owner_uid", c.owner_uid()},
              {"tool", c.tool()},
              {"arguments", args.is_discarded() ? Json(c.arguments_json()) : args},
              {"shown", shown},
              {"created_unix", c.created_unix()},
              {"timeout_seconds", c.timeout_seconds()}};
}

// Every character outside ASCII as a \u escape: the arguments are the agent's, and the JSON may
// well reach a terminal too.
std::string ascii_json(const Json& doc, int indent) { return doc.dump(indent, ' ', true, Json::error_handler_t::replace); }

// One line for the call, then one per argument: every name, values as the daemon escaped them.
void print_call(const agentos::v1::PendingCall& c, bool json) {
  if (json) {
    std::cout << ascii_json(call_json(c), -1) << "\n" << std::flush;
    return;
  }
  long left = static_cast<long>(c.created_unix() + c.timeout_seconds()) - static_cast<long>(std::time(nullptr));
  std::cout << c.id() << "  " << c.agent_name() << " (" << c.agent_id() << ", uid " << c.owner_uid() << ") asks to call "
            << c.tool() << " with " << c.arguments_size() << (c.arguments_size() == 1 ? " argument" : " arguments") << "  ["
            << std::max(0L, left) << " s left]\n";
  size_t width = 0;
  for (const auto& a : c.arguments()) width = std::max(width, a.name().size());
  for (const auto& a : c.arguments()) {
    std::cout << "  " << a.name() << std::string(width - a.name().size(), ' ') << " = " << a.shown();
    if (a.cut()) std::cout << " ... [cut: " << a.size() << " bytes in all, sha256 " << a.sha256() << "]";
    std::cout << "\n";
  }
  std::cout << std::flush;
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
  if (g.json && !follow) std::cout << ascii_json(all, 2) << "\n";
  return kExitOk;
}

Outcome<int> cmd_answer(const Globals& g, const std::string& id, bool approve, const std::string& scope) {
  agentos::v1::Request req;
  auto* a = req.mutable_answer();
  a->set_id(id);
  a->set_approve(approve);
  if (scope == "session") a->set_scope(agentos::v1::AnswerRequest::SCOPE_SESSION);
  else if (scope == "always") a->set_scope(agentos::v1::AnswerRequest::SCOPE_ALWAYS);
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
  if (g.json) print_json(Json{{"changes", changes_json(resp->revoke().changes())}});
  else print_changes(resp->revoke().changes());
  return kExitOk;
}

}  // namespace agentos::ctl
