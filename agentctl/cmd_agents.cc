// ps, stop, logs, inspect: commands about agents the daemon already knows.
#include <unistd.h>

#include <ctime>
#include <iostream>

#include "agentctl/agent_output.h"
#include "agentctl/commands.h"
#include "agentctl/connection.h"
#include "agentctl/output.h"
#include "agentctl/table.h"

namespace agentos::ctl {

using agentos::v1::AgentInfo;
using agentos::v1::Request;
using agentos::v1::Response;

Outcome<int> cmd_ps(const Globals& g, bool all) {
  Request req;
  req.mutable_ps()->set_all(all);
  auto resp = call(g.socket, req);
  if (!resp) return resp.error();
  if (!empty_or(*resp, &Response::has_ps)) return unexpected_reply("ps");
  const auto& agents = resp->ps().agents();

  if (g.json) {
    print_json(agents_json(agents));
    return kExitOk;
  }
  std::time_t now = std::time(nullptr);
  Table t({"ID", "NAME", "OWNER", "PID", "STATE", "EXIT", "STARTED", "COMMAND"});
  for (const AgentInfo& a : agents) {
    t.add({a.id(), a.name(), user_name(a.owner_uid()), a.pid() > 0 ? std::to_string(a.pid()) : "-",
           state_name(a.state()), has_exit_code(a) ? std::to_string(a.exit_code()) : "-",
           a.started_unix() ? age(a.started_unix(), now) + " ago" : "-", shell_join(a.command())});
  }
  t.print(std::cout);
  return kExitOk;
}

Outcome<int> cmd_stop(const Globals& g, const std::string& agent) {
  Request req;
  req.mutable_stop()->set_agent(agent);
  auto resp = call(g.socket, req);
  if (!resp) return resp.error();
  if (!resp->has_stop()) return unexpected_reply("stop");
  const AgentInfo& a = resp->stop().agent();
  if (g.json) {
    print_json(agent_json(a));
  } else {
    std::cout << "stopped " << a.id() << " (" << a.name() << ")\n";
  }
  return kExitOk;
}

Outcome<int> cmd_remove(const Globals& g, const std::vector<std::string>& agents, bool all_ended) {
  Request req;
  for (const auto& a : agents) req.mutable_remove()->add_agents(a);
  req.mutable_remove()->set_all_ended(all_ended);
  auto resp = call(g.socket, req);
  if (!resp) return resp.error();
  if (!empty_or(*resp, &agentos::v1::Response::has_remove)) return unexpected_reply("remove");
  const auto& removed = resp->remove().removed();
  if (g.json) {
    print_json(Json{{"removed", std::vector<std::string>(removed.begin(), removed.end())}});
  } else {
    for (const auto& id : removed) std::cout << id << '\n';
  }
  return kExitOk;
}

Outcome<int> cmd_logs(const Globals& g, const std::string& agent, bool follow) {
  if (g.json) return usage_error("logs has no --json form: its output is the agent's own bytes");
  Request req;
  req.mutable_logs()->set_agent(agent);
  req.mutable_logs()->set_follow(follow);
  auto conn = Connection::open(g.socket);
  if (!conn) return conn.error();
  if (auto s = conn->send(req); !s) return s.error();
  // With --follow the stream ends with the agent's exit; that is the end of the log, not a
  // failure of this command, so the agent's status is not passed on.
  auto exit = copy_agent_output(*conn, STDOUT_FILENO);
  if (!exit) return exit.error();
  return kExitOk;
}

Outcome<int> cmd_inspect(const Globals& g, const std::string& agent) {
  Request req;
  req.mutable_inspect()->set_agent(agent);
  auto resp = call(g.socket, req);
  if (!resp) return resp.error();
  if (!resp->has_inspect()) return unexpected_reply("inspect");
  const auto& r = resp->inspect();
  const AgentInfo& a = r.agent();

  if (g.json) {
    Json enforcement = Json::array();
    for (const auto& l : r.enforcement()) enforcement.push_back(layer_json(l, "in_force"));
    print_json({
        {"agent", agent_json(a)},
        {"namespaces",
         Json(std::vector<std::string>(r.namespaces().begin(), r.namespaces().end()))},
        {"enforcement", enforcement},
        {"quotas", r.has_quotas() ? Json{{"calls_per_minute", r.quotas().calls_per_minute()},
                                         {"concurrent", r.quotas().concurrent()},
                                         {"available", r.quotas().available()},
                                         {"in_flight", r.quotas().in_flight()},
                                         {"calls", r.quotas().calls()},
                                         {"refused", r.quotas().refused()}}
                                   : Json(nullptr)},
        {"policy_toml", r.policy_toml()},
    });
    return kExitOk;
  }

  std::time_t now = std::time(nullptr);
  Table fields;
  fields.add({"id:", a.id()});
  fields.add({"name:", a.name()});
  fields.add({"state:", state_name(a.state())});
  if (has_exit_code(a)) fields.add({"exit code:", std::to_string(a.exit_code())});
  if (!a.reason().empty()) fields.add({"reason:", a.reason()});
  fields.add({"owner:", user_name(a.owner_uid()) + " (uid " + std::to_string(a.owner_uid()) + ")"});
  fields.add({"runs as:", "uid " + std::to_string(a.uid()) + ", gid " + std::to_string(a.gid())});
  fields.add({"pid:", a.pid() > 0 ? std::to_string(a.pid()) : "-"});
  fields.add({"started:", a.started_unix() ? local_time(a.started_unix()) + " (" +
                                                 age(a.started_unix(), now) + " ago)"
                                           : "-"});
  fields.add({"command:", shell_join(a.command())});
  fields.add({"cgroup:", a.cgroup().empty() ? "-" : a.cgroup()});
  fields.add({"policy:", a.policy_path().empty() ? "-" : a.policy_path()});
  fields.print(std::cout);

  std::cout << "\nnamespaces:\n";
  if (r.namespaces_size() == 0) std::cout << "  (none reported)\n";
  for (const auto& ns : r.namespaces()) std::cout << "  " << ns << '\n';

  std::cout << "\nenforcement:\n";
  Table layers;
  for (const auto& l : r.enforcement()) {
    layers.add(
        {"  " + std::string(l.available() ? "in force" : "NOT in force"), l.name(), l.detail()});
  }
  if (r.enforcement_size() == 0) std::cout << "  (none reported)\n";
  layers.print(std::cout);

  if (r.has_quotas()) {
    const auto& q = r.quotas();
    std::cout << "\ntool quotas:\n  " << q.available() << " of " << q.calls_per_minute() << " calls a minute available, "
              << q.in_flight() << " of " << q.concurrent() << " at once in flight; " << q.calls() << " calls, "
              << q.refused() << " refused since it started\n";
  }

  std::cout << "\npolicy:\n" << r.policy_toml();
  if (!r.policy_toml().empty() && r.policy_toml().back() != '\n') std::cout << '\n';
  return kExitOk;
}

}  // namespace agentos::ctl
