// One request/response exchange with agentosd over its Unix socket (proto/agentos.proto).
#pragma once

#include <string>

#include "agentctl/outcome.h"
#include "agentos.pb.h"
#include "common/result.h"
#include "common/unique_fd.h"

namespace agentos::ctl {

class Connection {
 public:
  // Connects to the daemon; a failure here exits with kExitUnreachable.
  static Outcome<Connection> open(const std::string& socket_path);
  // Adopts an already connected stream socket (tests use a socketpair).
  explicit Connection(UniqueFd fd) : fd_(std::move(fd)) {}

  // The protocol allows one request per connection. `pass_fd`, if any, goes with it (SCM_RIGHTS).
  Outcome<void> send(const agentos::v1::Request& request, int pass_fd = -1);

  // The next response. A response carrying `error` becomes a Failure with its diagnostics, and
  // so does the daemon closing the connection before a final response.
  Outcome<agentos::v1::Response> next();

  // True once a response with final=true has been returned.
  [[nodiscard]] bool finished() const { return finished_; }
  // For poll(): readable when the next response is arriving.
  [[nodiscard]] int fd() const { return fd_.get(); }

 private:
  Failure refusal_or(const Error& sending);

  UniqueFd fd_;
  bool finished_ = false;
};

// Connects, sends `request` and returns the final response (the only one, for unary calls).
Outcome<agentos::v1::Response> call(const std::string& socket_path,
                                    const agentos::v1::Request& request, int pass_fd = -1);

// Whether `r` carries the expected payload, or none at all: a daemon may leave the oneof unset
// when the answer is an empty list, since proto3 cannot tell that from an empty message.
[[nodiscard]] inline bool empty_or(const agentos::v1::Response& r,
                                   bool (agentos::v1::Response::*has)() const) {
  return r.kind_case() == agentos::v1::Response::KIND_NOT_SET || (r.*has)();
}

// The failure for a reply whose payload is not what the request asked for.
[[nodiscard]] Failure unexpected_reply(const char* wanted);

}  // namespace agentos::ctl
