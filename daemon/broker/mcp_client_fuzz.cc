// libFuzzer entry: what an MCP server, run as an agent, writes to the daemon, read by McpClient on
// the socket mcp_servers.cc gives it: the reply to tools/list (whose tools ExternalTools offers),
// the reply to a tools/call (the caller's result), and requests of the server's own.
#include <sys/socket.h>

#include <cstdint>

#include "broker/tools/external_tools.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agentos;
  using namespace agentos::broker;
  static auto loop = EventLoop::create();
  int sv[2];
  // The server's whole output is written before the client reads: no more than a socket holds.
  if (size > 64 * 1024 || ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) != 0) return 0;
  UniqueFd ours(sv[0]), server(sv[1]);
  if (size && ::send(server.get(), data, size, MSG_NOSIGNAL) != static_cast<ssize_t>(size)) __builtin_trap();
  ::shutdown(server.get(), SHUT_WR);  // then the server's end: the client reads until it closes
  ExternalTools tools;
  McpClient client(*loop, std::move(ours), agentos::kJsonDepth, [&](const std::string&) { loop->stop(); });
  std::vector<std::string> skipped;
  tools.add_server("srv", &client, Json{{"tools", {{{"name", "echo"}}}}}, &skipped);
  client.request("tools/list", Json::object(), [&](Result<Json> r) {  // id 1
    if (!r) return;
    tools.add_server("fuzz", &client, *r, &skipped);
    for (const auto& t : tools.tools()) (void)result_line(1, {{"name", t.name}, {"inputSchema", t.input_schema}});
  });
  tools.call_async({}, "srv.echo", {{"text", "hi"}}, [](ToolResult r) { (void)result_line(2, r.value); });  // id 2
  if (!loop->run()) __builtin_trap();
  return 0;
}
