// The `http.fetch` tool: an HTTP(S) request made for the agent, through the egress gateway under
// the agent's own [egress] grants, and audited there like the agent's own connections. The broker
// hands the gateway one end of a socketpair, which it serves as the agent's connection, and writes
// a plain HTTP/1.1 request on the other (absolute-form; for https the gateway speaks TLS to the
// upstream itself and checks its certificate). So no TLS, DNS or policy lives here.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>

#include "broker/tool.h"
#include "common/event_loop.h"
#include "common/result.h"
#include "common/unique_fd.h"

namespace agentos::broker {

class HttpFetch : public Provider {
 public:
  static constexpr size_t kMaxResponse = (1 << 20) + 64 * 1024;  // a 1 MiB body and its head
  static constexpr std::chrono::seconds kTimeout{30};
  using Adopt = std::function<Status(const std::string& agent_id, UniqueFd conn)>;

  HttpFetch(EventLoop& loop, Adopt adopt) : loop_(loop), adopt_(std::move(adopt)) {}
  ~HttpFetch() override;
  [[nodiscard]] std::vector<ToolSpec> tools() const override;
  [[nodiscard]] ToolResult call(const Caller&, const std::string&, const Json&) override;
  void call_async(const Caller& who, const std::string& tool, const Json& args, Done done) override;

 private:
  struct Transfer {
    UniqueFd fd;
    std::string out, in;
    Done done;
    bool head = false;  // a HEAD request: its response has no body
    EventLoop::Watch watch;
    EventLoop::Timer deadline;  // kTimeout
  };
  void on_ready(int fd, uint32_t events);
  void finish(int fd, ToolResult r);

  EventLoop& loop_;
  Adopt adopt_;
  std::map<int, Transfer> transfers_;
};

// A whole HTTP/1.1 response (read until the connection closed) as the tool's result. The response
// to a HEAD request has no body, whatever its Content-Length says.
[[nodiscard]] ToolResult parse_response(const std::string& raw, bool head = false);

}  // namespace agentos::broker
