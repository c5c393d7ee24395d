#include "agentctl/connection.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

#include "common/fd_passing.h"
#include "common/framing.h"

namespace agentos::ctl {

using agentos::v1::Request;
using agentos::v1::Response;

Outcome<Connection> Connection::open(const std::string& socket_path) {
  auto unreachable = [&](int err) {
    return Failure{kExitUnreachable,
                   "cannot connect to agentosd at " + socket_path + ": " + std::strerror(err),
                   {}};
  };
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  // sun_path needs room for the terminating NUL; a truncated path would reach another socket.
  if (socket_path.empty() || socket_path.size() >= sizeof addr.sun_path) {
    return unreachable(socket_path.empty() ? ENOENT : ENAMETOOLONG);
  }
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());

  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return failed(std::string("socket: ") + std::strerror(errno));
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    return unreachable(errno);
  }
  return Connection(std::move(fd));
}

Outcome<void> Connection::send(const Request& request, int pass_fd) {
  std::string payload;
  if (!request.SerializeToString(&payload)) return failed("cannot encode the request");
  // Checked here so that an oversized policy gets a clear message instead of a refused frame.
  if (payload.size() > kMaxFrame) {
    return failed("request of " + std::to_string(payload.size()) + " bytes exceeds the " +
                  std::to_string(kMaxFrame) + "-byte limit");
  }
  if (pass_fd < 0) {
    if (auto s = write_frame(fd_.get(), payload); !s) return refusal_or(s.error());
    return {};
  }
  // The descriptor rides on the frame's first bytes; the rest follows as usual.
  std::string frame = encode_frame(payload);
  ssize_t n = send_with_fds(fd_.get(), frame.data(), frame.size(), &pass_fd, 1);
  if (n <= 0) return refusal_or(sys_error("send"));
  for (size_t sent = static_cast<size_t>(n); sent < frame.size();) {
    ssize_t m = ::send(fd_.get(), frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
    if (m <= 0) return refusal_or(sys_error("send"));
    sent += static_cast<size_t>(m);
  }
  return {};
}

// A daemon that turns a connection away (too many connections) answers and closes before it
// reads the request: then its answer says why, where the failed send would not.
Failure Connection::refusal_or(const Error& sending) {
  if (sending.err == EPIPE || sending.err == ECONNRESET)
    if (auto r = next(); !r && finished_) return r.error();
  return failed("sending the request to agentosd: " + sending.str());
}

Outcome<Response> Connection::next() {
  if (finished_) return failed("internal error: read past the final response");
  auto frame = read_frame(fd_.get());
  if (!frame) return failed("reading from agentosd: " + frame.error().str());
  if (!frame->has_value()) return failed("daemon closed the connection");

  Response response;
  if (!response.ParseFromString(**frame)) return failed("malformed response from agentosd");
  finished_ = response.final();
  if (response.has_error()) {
    // An error always ends the exchange, whatever `final` says.
    finished_ = true;
    const auto& e = response.error();
    Failure f = failed(e.message().empty() ? "request failed" : e.message());
    f.diagnostics.assign(e.diagnostics().begin(), e.diagnostics().end());
    return f;
  }
  return response;
}

Outcome<Response> call(const std::string& socket_path, const Request& request, int pass_fd) {
  auto conn = Connection::open(socket_path);
  if (!conn) return conn.error();
  if (auto s = conn->send(request, pass_fd); !s) return s.error();
  while (true) {
    auto response = conn->next();
    if (!response || conn->finished()) return response;
  }
}

Failure unexpected_reply(const char* wanted) {
  return failed(std::string("unexpected reply from agentosd (wanted ") + wanted + ")");
}

}  // namespace agentos::ctl
