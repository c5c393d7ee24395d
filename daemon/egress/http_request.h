// HTTP/1.x requests from agents, parsed with Node's http_parser (libhttp-parser): the head, to
// decide where the request may go and to rewrite it, and then the body's framing, so that exactly
// one request is relayed per connection and nothing pipelined behind it escapes the check.
#pragma once

#include <http_parser.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace agentos::egress {

inline constexpr size_t kMaxHeadBytes = 16 * 1024;

struct RequestHead {
  std::string method;  // "GET", "CONNECT", ...
  std::string target;  // as sent: "/v1/x", "http://host/x", "host:443"
  std::vector<std::pair<std::string, std::string>> headers;
  [[nodiscard]] const std::string* header(std::string_view name) const;  // case-insensitive
};

// Where a request is going, from its target (absolute-form, authority-form for CONNECT) or,
// for origin-form, nothing: then it is addressed to the gateway itself.
struct Destination {
  std::string host;  // without brackets
  uint16_t port = 0;
  std::string path;  // path and query, "/" at least (not for CONNECT)
  bool tls = false;  // https: the gateway speaks TLS to it (only for the broker's own requests)
};

class RequestParser {
 public:
  enum class State : uint8_t { kHead, kBody, kDone, kBad };

  RequestParser();
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  // Consumes bytes: in kHead until the head is whole (then kBody, or kDone without a body), in
  // kBody until the message ends (kDone). Returns how many bytes belong to this request; the
  // rest, if any, is a pipelined request that is not relayed. No bytes are no news, never the
  // end of the stream: a request's body is framed by its head, not by the connection's end.
  size_t feed(std::span<const char> data);

  [[nodiscard]] State state() const { return state_; }
  [[nodiscard]] const RequestHead& head() const { return head_; }
  [[nodiscard]] const std::string& error() const { return error_; }

 private:
  static int on_url(http_parser* p, const char* at, size_t len);
  static int on_field(http_parser* p, const char* at, size_t len);
  static int on_value(http_parser* p, const char* at, size_t len);
  static int on_headers_complete(http_parser* p);
  static int on_message_complete(http_parser* p);

  http_parser parser_{};
  http_parser_settings settings_{};
  RequestHead head_;
  State state_ = State::kHead;
  size_t head_bytes_ = 0;
  bool in_value_ = false;
  std::string error_;
};

// CONNECT's "host:port" (IPv6 in brackets); nullopt when malformed or without a port.
[[nodiscard]] std::optional<Destination> parse_authority(std::string_view target);
// "http://host[:port]/path?q" (absolute-form); nullopt otherwise. https only with `allow_https`:
// an agent's own https goes through CONNECT, with TLS end to end.
[[nodiscard]] std::optional<Destination> parse_absolute(std::string_view target, bool allow_https = false);

// The head to send upstream: `target` as the request target, hop-by-hop and proxy headers
// dropped, the headers in `replace` (name, value) set instead of any the agent sent, and
// "Connection: close", since one connection carries one request.
[[nodiscard]] std::string rewrite_head(const RequestHead& head, std::string_view target,
                                       const std::vector<std::pair<std::string, std::string>>& replace);

}  // namespace agentos::egress
