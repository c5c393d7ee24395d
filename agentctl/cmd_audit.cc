// agentctl audit: the audit trail of the caller's agents (all agents for admins), oldest first.
#include <ctime>
#include <iostream>

#include "agentctl/commands.h"
#include "agentctl/connection.h"
#include "agentctl/output.h"
#include "common/audit_record.h"
#include "common/enum_words.h"

namespace agentos::ctl {
namespace {

using agentos::v1::AuditEvent;
using agentos::v1::Request;

void print_line(const AuditEvent& e) {
  std::time_t t = static_cast<std::time_t>(e.time_unix_ms() / 1000);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", std::localtime(&t));
  std::string who = e.agent_name().empty() ? (e.agent_id().empty() ? "-" : e.agent_id()) : e.agent_name();
  std::cout << when << "  " << who << "  uid " << e.owner_uid() << "  " << enum_word(e.layer()) << "  " << enum_word(e.decision())
            << "  " << e.operation();
  if (e.dropped()) std::cout << " (" << e.dropped() << ")";
  if (e.repeats()) std::cout << " (" << e.repeats() << " more times)";
  if (!e.trace().empty()) std::cout << "  [trace " << e.trace() << "]";
  std::cout << "\n" << std::flush;
}

}  // namespace

Outcome<int> cmd_audit(const Globals& g, const std::string& agent, bool follow) {
  Request req;
  req.mutable_audit()->set_agent(agent);
  req.mutable_audit()->set_follow(follow);
  auto conn = Connection::open(g.socket);
  if (!conn) return conn.error();
  if (auto s = conn->send(req); !s) return s.error();
  Json all = Json::array();
  while (!conn->finished()) {
    auto r = conn->next();
    if (!r) return r.error();
    if (r->final() && (!r->has_audit() || r->audit().operation().empty())) break;  // end marker
    if (!r->has_audit()) return unexpected_reply("audit");
    if (g.json && !follow) all.push_back(audit_event_json(r->audit()));
    else if (g.json) std::cout << audit_event_json(r->audit()).dump() << "\n" << std::flush;  // one per line
    else print_line(r->audit());
  }
  if (g.json && !follow) print_json(all);
  return kExitOk;
}

}  // namespace agentos::ctl
