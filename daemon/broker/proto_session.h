// One broker connection that speaks broker.proto instead of MCP. It is a translation, so that both
// protocols meet the same grants, quotas, consent and audit: each BrokerRequest becomes the
// JSON-RPC request the broker handles for MCP clients, and each JSON-RPC answer becomes a
// BrokerResponse frame. It also keeps the results of detached calls until they are awaited.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>

namespace agentos::broker {

inline constexpr std::string_view kProtobufPreface = "agentos-broker-protobuf/1\n";

class ProtoSession {
 public:
  static constexpr size_t kMaxKept = 256;  // detached calls not yet awaited, per connection

  // `json_depth`: the bound on the JSON-RPC lines the broker reads, which these must meet too.
  explicit ProtoSession(size_t json_depth) : json_depth_(json_depth) {}

  struct Translated {
    std::optional<std::string> request;  // a JSON-RPC line for the broker
    std::string frames;  // to send at once: Started, an awaited result, or an error
    std::string over_bound;  // the bound its arguments broke (a limit the agent hit), if that refused it
  };
  // One frame's payload from the client.
  [[nodiscard]] Translated request(const std::string& payload);
  // One JSON-RPC answer line for this connection, as the frames to send (none while a detached
  // result waits for its Await).
  [[nodiscard]] std::string answer(const std::string& line);
  // Bytes of detached results that wait for their Await: the agent's, held by the daemon.
  [[nodiscard]] size_t kept_bytes() const { return kept_bytes_; }

 private:
  size_t json_depth_;
  size_t kept_bytes_ = 0;
  uint64_t next_call_ = 0;
  std::map<uint64_t, std::string> kept_;  // detached call -> its response, id still to set
  std::map<uint64_t, uint64_t> awaiting_;  // detached call -> the Await's request id
  std::map<uint64_t, bool> open_;  // detached calls still running
};

}  // namespace agentos::broker
