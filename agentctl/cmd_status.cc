// status and doctor: what the daemon and this machine provide.
#include <iostream>

#include "agentctl/commands.h"
#include "agentctl/connection.h"
#include "agentctl/output.h"
#include "agentctl/table.h"

namespace agentos::ctl {
namespace {

Outcome<agentos::v1::StatusReply> fetch_status(const Globals& g) {
  agentos::v1::Request req;
  req.mutable_status();
  auto resp = call(g.socket, req);
  if (!resp) return resp.error();
  if (!resp->has_status()) return unexpected_reply("status");
  return resp->status();
}

Json layers_json(const agentos::v1::StatusReply& s) {
  Json out = Json::array();
  for (const auto& l : s.layers()) out.push_back(layer_json(l));
  return out;
}

}  // namespace

Outcome<int> cmd_status(const Globals& g) {
  auto s = fetch_status(g);
  if (!s) return s.error();
  if (g.json) {
    print_json(Json{
        {"version", s->version()},
        {"uptime_seconds", s->uptime_seconds()},
        {"caller_uid", s->caller_uid()},
        {"caller_is_admin", s->caller_is_admin()},
        {"policy_dir", s->policy_dir()},
        {"agents_running", s->agents_running()},
        {"layers", layers_json(*s)},
    });
    return kExitOk;
  }
  std::cout << "agentosd " << s->version() << ", up " << duration(s->uptime_seconds()) << '\n'
            << "caller:         " << user_name(s->caller_uid()) << " (uid " << s->caller_uid()
            << (s->caller_is_admin() ? ", admin" : ", not admin") << ")\n"
            << "policy dir:     " << s->policy_dir() << '\n'
            << "agents running: " << s->agents_running() << '\n'
            << "layers:\n";
  Table t;
  for (const auto& l : s->layers()) {
    t.add({"  " + std::string(l.available() ? "ok" : "MISSING"), l.name(), l.detail()});
  }
  t.print(std::cout);
  return kExitOk;
}

Outcome<int> cmd_doctor(const Globals& g) {
  auto s = fetch_status(g);
  if (!s) return s.error();
  if (g.json) {
    print_json(layers_json(*s));
    return kExitOk;
  }
  Table t({"LAYER", "AVAILABLE", "DETAIL"});
  int missing = 0;
  for (const auto& l : s->layers()) {
    t.add({l.name(), l.available() ? "yes" : "no", l.detail()});
    if (!l.available()) ++missing;
  }
  t.print(std::cout);
  std::cout << '\n'
            << s->layers_size() - missing << " of " << s->layers_size()
            << " confinement layers available";
  if (missing > 0) std::cout << "; agentctl inspect shows what each agent gets";
  std::cout << '\n';
  return kExitOk;
}

}  // namespace agentos::ctl
