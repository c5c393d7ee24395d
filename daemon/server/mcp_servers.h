// The MCP servers the admin configured: every policy in the policy directory with [serve] runs
// as an agent (root's, so a dynamic uid of its own) in its own sandbox under that policy, with a
// socket as its stdin and stdout. This supervisor speaks MCP to it (initialize, tools/list),
// offers its tools through the broker as PREFIX.<tool>, takes them away when it exits, and
// starts it again with a growing delay. A changed or removed policy restarts or stops it.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "broker/tools/external_tools.h"
#include "broker/mcp_client.h"
#include "common/event_loop.h"
#include "server/agent_manager.h"
#include "server/policy_store.h"

namespace agentos {

class McpServers : public AgentObserver {
 public:
  using Clock = std::chrono::steady_clock;

  // `json_depth`: --json-depth, which bounds the servers' replies too (see McpClient).
  McpServers(EventLoop& loop, AgentManager& agents, const PolicyStore& policies, broker::ExternalTools& tools,
             std::function<void()> tools_changed, size_t json_depth)
      : loop_(loop), agents_(agents), policies_(policies), tools_(tools), tools_changed_(std::move(tools_changed)),
        json_depth_(json_depth) {
    agents_.subscribe(*this);
  }
  McpServers(const McpServers&) = delete;
  McpServers& operator=(const McpServers&) = delete;

  void exited(const AgentRecord& r) override;

 private:
  struct Server {
    std::string prefix;
    std::string policy_text;  // as started: a change restarts it
    std::string agent_id;
    std::unique_ptr<broker::McpClient> client;
    bool offered = false;  // its tools are in the broker
    bool stopping = false;
    int failures = 0;
    Clock::time_point start_at = Clock::now();
  };
  void reconcile();  // every second: starts what should run, stops what should not
  void start(const std::string& name, Server& s, const policy::Policy& p);
  void ready(const std::string& name);
  void failed(const std::string& name, const std::string& why);
  void warn_unoffered(const std::string& prefix);
  void withdraw(Server& s);

  EventLoop& loop_;
  AgentManager& agents_;
  const PolicyStore& policies_;
  broker::ExternalTools& tools_;
  std::function<void()> tools_changed_;
  size_t json_depth_;
  std::map<std::string, Server> servers_;  // by policy (agent) name
  EventLoop::Timer reconcile_ = loop_.every(std::chrono::seconds(1), [this] { reconcile(); });
};

}  // namespace agentos
