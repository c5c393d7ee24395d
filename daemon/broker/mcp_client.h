// The client side of MCP over a stream (JSON-RPC 2.0, one message per line), for the servers the
// daemon runs in their own sandboxes: requests with a deadline each, their answers matched by id.
// Whatever the server sends is bounded and parsed without trust; requests it makes of us are
// answered "method not found".
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>

#include "broker/jsonrpc.h"
#include "common/event_loop.h"
#include "common/result.h"
#include "common/unique_fd.h"

namespace agentos::broker {

class McpClient {
 public:
  static constexpr std::chrono::seconds kTimeout{30};
  static constexpr size_t kMaxLine = 4 << 20;
  static constexpr size_t kMaxPending = 256;
  using Reply = std::function<void(Result<Json>)>;  // the result, or why there is none

  // `closed` runs once, when the server hangs up or breaks the protocol; it must not destroy the
  // client there and then (defer that to the event loop). Replies may nest `json_depth` (the
  // bound on agents' messages) and the envelope MCP puts around a value an agent sent.
  McpClient(EventLoop& loop, UniqueFd fd, size_t json_depth, std::function<void(const std::string& why)> closed);
  ~McpClient();
  McpClient(const McpClient&) = delete;
  McpClient& operator=(const McpClient&) = delete;

  void request(const std::string& method, Json params, Reply done);
  void notify(const std::string& method, Json params);

 private:
  using Clock = std::chrono::steady_clock;
  struct Pending {
    Reply done;
    EventLoop::Timer deadline;  // answers it with a timeout
  };
  void time_out(uint64_t id);
  void on_ready(uint32_t events);
  void write_line(const Json& message);
  void flush();
  void on_line(const std::string& line);
  void close(const std::string& why);

  EventLoop& loop_;
  UniqueFd fd_;
  EventLoop::Watch watch_;
  std::function<void(const std::string&)> closed_;
  JsonBounds bounds_;
  std::map<uint64_t, Pending> pending_;
  uint64_t next_id_ = 0;
  std::string in_, out_;
  uint32_t events_ = 0;
};

}  // namespace agentos::broker
