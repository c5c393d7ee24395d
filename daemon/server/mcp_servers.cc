#include "common/version.h"
#include "server/mcp_servers.h"
#include "policy/tool_names.h"

#include <set>

#include <fcntl.h>
#include <sys/socket.h>

#include "common/log.h"

namespace agentos {
namespace {

using broker::Json;

constexpr const char* kProtocolVersion = "2025-06-18";

std::chrono::seconds backoff(int failures) { return std::chrono::seconds(std::min(60, 1 << std::min(failures, 6))); }

}  // namespace

void McpServers::reconcile() {  // What should run: every [serve] policy; what runs under an old or removed policy stops first.
  for (auto& [name, s] : servers_) {
    const policy::Policy* p = policies_.find(name);
    bool current = p && p->serve && p->source_text == s.policy_text;
    if (!current && !s.agent_id.empty() && !s.stopping) {
      log::info("MCP server " + name + ": its policy changed; restarting it");
      s.stopping = true;
      withdraw(s);
      (void)agents_.stop(s.agent_id);
    }
  }
  std::erase_if(servers_, [&](auto& e) {
    const policy::Policy* p = policies_.find(e.first);
    return (!p || !p->serve) && e.second.agent_id.empty();
  });
  for (const auto& [name, p] : policies_.all()) {
    if (!p.serve) continue;
    Server& s = servers_[name];
    if (s.agent_id.empty() && Clock::now() >= s.start_at) start(name, s, p);
  }
}

void McpServers::start(const std::string& name, Server& s, const policy::Policy& p) {
  // One left from before a daemon restart has lost its socket: it goes, this one starts after.
  for (const AgentRecord* r : agents_.list())
    if (r->name == name && r->owner_uid == 0 && r->state == AgentState::kRunning) {
      (void)agents_.stop(r->id);
      s.start_at = Clock::now() + std::chrono::seconds(1);
      return;
    }
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) != 0) return failed(name, "socketpair");
  UniqueFd ours(sv[0]), theirs(sv[1]);
  // The server's end blocks, as a program's stdio does.
  int flags = ::fcntl(theirs.get(), F_GETFL);
  ::fcntl(theirs.get(), F_SETFL, flags & ~O_NONBLOCK);
  Peer root;
  ServerStdio stdio{theirs.get()};
  auto started = agents_.run(p, root, nullptr, &stdio);
  s.policy_text = p.source_text;
  s.prefix = p.serve->prefix;
  if (!started) return failed(name, started.error().str());
  s.agent_id = (*started)->id;
  s.stopping = false;
  s.client = std::make_unique<broker::McpClient>(loop_, std::move(ours), json_depth_, [this, name](const std::string& reason) {
    auto it = servers_.find(name);
    if (it == servers_.end()) return;
    log::warning("MCP server " + name + ": " + reason);
    withdraw(it->second);
    if (!it->second.agent_id.empty() && !it->second.stopping) (void)agents_.stop(it->second.agent_id);
  });
  s.client->request("initialize",
                    {{"protocolVersion", kProtocolVersion},
                     {"capabilities", Json::object()},
                     {"clientInfo", {{"name", "agentosd"}, {"version", kVersion}}}},
                    [this, name](Result<Json> r) {
                      auto it = servers_.find(name);
                      if (it == servers_.end() || !it->second.client) return;
                      if (!r) return failed(name, "initialize: " + r.error().str());
                      it->second.client->notify("notifications/initialized", Json::object());
                      ready(name);
                    });
}

void McpServers::ready(const std::string& name) {
  servers_.at(name).client->request("tools/list", Json::object(), [this, name](Result<Json> r) {
    auto it = servers_.find(name);
    if (it == servers_.end() || !it->second.client) return;
    Server& s = it->second;
    if (!r) return failed(name, "tools/list: " + r.error().str());
    std::vector<std::string> skipped;
    tools_.add_server(s.prefix, s.client.get(), *r, &skipped);
    s.offered = true;
    s.failures = 0;
    tools_changed_();
    for (const auto& t : skipped)
      log::warning("MCP server " + name + ": tool \"" + t + "\" left out (its name cannot be a grant)");
    log::info("MCP server " + name + " ready: its tools are " + s.prefix + ".*", {{"AGENT_ID", s.agent_id}});
    warn_unoffered(s.prefix);
  });
}

// The parser cannot know a server's tools: a grant under its prefix naming a tool it does not
// offer (a typo, or a tool the server dropped) is reported at the grant's line, once it has listed.
void McpServers::warn_unoffered(const std::string& prefix) {
  std::set<std::string> offered;
  for (const auto& spec : tools_.tools())
    if (policy::grant_covers(prefix, spec.name)) offered.insert(spec.name);
  std::string list;
  for (const auto& t : offered) list += (list.empty() ? "" : ", ") + t;
  for (const auto& [agent, p] : policies_.all()) {
    if (!p.tools) continue;
    for (const auto& [grant, at] : p.tools->where)
      if (grant != prefix && policy::grant_covers(prefix, grant) && !offered.contains(grant))
        log::warning(policy::Diagnostic{at, "tools: " + grant + " is not a tool the MCP server " + prefix +
                                                " offers (it offers: " + (list.empty() ? "none" : list) + ")"}
                         .str(),
                     {{"AGENT_NAME", agent}});
  }
}

void McpServers::failed(const std::string& name, const std::string& why) {
  auto it = servers_.find(name);
  if (it == servers_.end()) return;
  Server& s = it->second;
  ++s.failures;
  s.start_at = Clock::now() + backoff(s.failures);
  log::warning("MCP server " + name + " did not start: " + why + "; trying again in " +
               std::to_string(backoff(s.failures).count()) + " s");
  withdraw(s);
  if (!s.agent_id.empty()) {
    s.stopping = true;
    (void)agents_.stop(s.agent_id);
  }
}

void McpServers::withdraw(Server& s) {
  if (s.offered) {
    tools_.remove_server(s.prefix);
    s.offered = false;
    tools_changed_();
  }
  if (s.client) {
    // The client may be running its own callback: free it once that has returned.
    loop_.defer([c = std::shared_ptr<broker::McpClient>(std::move(s.client))] {});
  }
}

void McpServers::exited(const AgentRecord& r) {
  for (auto& [name, s] : servers_) {
    if (s.agent_id != r.id) continue;
    withdraw(s);
    s.agent_id.clear();
    if (!s.stopping) {  // it ended on its own: again after a delay (a stop we asked for set its own)
      ++s.failures;
      log::warning("MCP server " + name + " exited; starting it again in " + std::to_string(backoff(s.failures).count()) + " s");
      s.start_at = Clock::now() + backoff(s.failures);
    }
    s.stopping = false;
    return;
  }
}

}  // namespace agentos
