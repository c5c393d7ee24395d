// Tools of MCP servers the admin configured ([serve] policies): each server runs as an agent in
// its own sandbox, and its tools are offered to other agents as PREFIX.<tool>, granted like any
// platform tool. A call is passed to the server as it was granted; the server never learns which
// agent called, and the caller never reaches the server but through the broker.
#pragma once

#include <map>
#include <string>

#include "broker/mcp_client.h"
#include "broker/tool.h"

namespace agentos::broker {

class ExternalTools : public Provider {
 public:
  static constexpr size_t kMaxTools = 256;  // per server

  // A server that answered tools/list: its tools, under `prefix`. Tools whose names cannot be
  // grants (lower-cased: [a-z0-9_-]) are left out, and said so in `skipped`.
  void add_server(const std::string& prefix, McpClient* client, const Json& tools_list, std::vector<std::string>* skipped);
  void remove_server(const std::string& prefix);

  [[nodiscard]] std::vector<ToolSpec> tools() const override;
  [[nodiscard]] ToolResult call(const Caller&, const std::string&, const Json&) override;
  void call_async(const Caller& who, const std::string& tool, const Json& args, Done done) override;

 private:
  struct Server {
    McpClient* client = nullptr;
    std::vector<ToolSpec> specs;
    std::map<std::string, std::string> original;  // our name -> the server's
  };
  std::map<std::string, Server> servers_;  // by prefix
};

}  // namespace agentos::broker
