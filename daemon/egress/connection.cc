#include "egress/connection.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <cstring>

#include "egress/gateway.h"
#include "egress/socks5.h"
#include "policy/quote.h"

namespace agentos::egress {

namespace {

const char* status_text(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 408: return "Request Timeout";
    case 502: return "Bad Gateway";
    default: return "Error";
  }
}

}  // namespace

void Connection::Buffer::compact() {
  if (start == end) {
    start = end = 0;
  } else if (start > bytes.size() / 2) {
    std::memmove(bytes.data(), bytes.data() + start, size());
    end -= start;
    start = 0;
  }
}

void Connection::Buffer::append(std::string_view s) {
  std::memcpy(tail(), s.data(), s.size());
  end += s.size();
}

Connection::Connection(Gateway& gw, uint64_t id, std::shared_ptr<AgentEgress> agent, UniqueFd client, Entry entry)
    : gw_(gw), id_(id), agent_(std::move(agent)), entry_(entry), client_(std::move(client)) {
  deadline_ = started_ + gw_.options().handshake_timeout;
  ++agent_->open;
}

Connection::~Connection() {
  --agent_->open;
  gw_.closed_one(*agent_);
  if (recorded_) return;
  gateway::Record r;
  r.set_agent_id(agent_->id);
  static constexpr gateway::Protocol kProtocols[] = {gateway::PROTOCOL_UNSPECIFIED, gateway::PROTOCOL_CONNECT,
                                                     gateway::PROTOCOL_HTTP,        gateway::PROTOCOL_ROUTE,
                                                     gateway::PROTOCOL_SOCKS5,      gateway::PROTOCOL_TRANSPARENT};
  r.set_protocol(entry_ == Entry::kBroker ? gateway::PROTOCOL_FETCH : kProtocols[static_cast<int>(mode_)]);
  // What the agent sent (a host that is no name, a target, an SNI) may be in both: escaped, so the
  // record is valid UTF-8 that protobuf reads (the daemon drops one it cannot) and a terminal shows.
  if (host_) r.set_host(policy::escape_text(host_->str()));
  r.set_port(port_);
  if (address_) r.set_address(address_->str());
  if (route_) r.set_route(route_->path);
  r.set_allowed(allowed_);
  r.set_failed(failed_);
  r.set_reason(policy::escape_text(reason_));
  r.set_bytes_up(bytes_up_);
  r.set_bytes_down(bytes_down_);
  r.set_duration_ms(static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started_).count()));
  gw_.record(r);
}

Status Connection::start() {
  client_events_ = EPOLLIN | EPOLLRDHUP;
  auto w = gw_.loop().watch(client_.get(), client_events_, [this](uint32_t e) { on_client(e); });
  if (!w) return w.error();
  client_watch_ = std::move(*w);
  if (entry_ == Entry::kTransparent) transparent();
  return {};
}

// The agent connected to an address the DNS stub gave out, on a granted port: the name is the one
// that address was given for, and what follows is a tunnel to it, held to the grants like CONNECT.
void Connection::transparent() {
  mode_ = Mode::kTransparent;
  auto local = local_endpoint(client_.get());
  if (!local) return fail(sys_error("getsockname").str());
  port_ = local->port;
  const std::string* name = agent_->names.name_at(local->address);
  // Its own loopback, on a port granted on the host's ("127.0.0.1:11434"): that address on the
  // host, held to the grants as a CONNECT to it would be.
  if (!name && scope_of(local->address) == Scope::kLoopback && !SyntheticNames::synthetic(local->address))
    return decide(local->address.str(), port_);
  if (!name) {
    host_ = Host{"", local->address};
    return refuse(local->address.str() + " is not an address the gateway's DNS gave out (the agent may connect to granted names only)");
  }
  decide(*name, port_);
}

void Connection::finish() {
  if (phase_ == Phase::kDone) return;
  phase_ = Phase::kDone;
  gw_.finish(id_);
}

void Connection::on_timer(Clock::time_point now) {
  if (phase_ == Phase::kDone) return;
  if (agent_->forgotten) {
    reason_ = reason_.empty() ? "the agent ended" : reason_;
    return finish();
  }
  if (now > deadline_) {
    if (phase_ == Phase::kRelay) {
      reason_ = "idle for " + std::to_string(gw_.options().idle_timeout.count() / 1000) + " s";
      return finish();
    }
    std::string ms = std::to_string(gw_.options().handshake_timeout.count()) + " ms";
    if (phase_ == Phase::kResolving || phase_ == Phase::kConnecting || phase_ == Phase::kTls)
      return fail("no connection to " + host_->str() + " port " + std::to_string(port_) + " within " + ms);
    return refuse("no complete request within " + ms, 408);
  }
  if (paused_) pump();
}

void Connection::respond_error(int status, const std::string& reason) {
  reason_ = reason;
  failed_ = failed_ || allowed_;  // an answer other than the upstream's, to a request let through
  if (mode_ == Mode::kTransparent) {
    // Nothing to answer in: the agent speaks its own protocol (TLS, mostly). A reset, not an end
    // of stream, so that it cannot be taken for a server's answer.
    linger l{1, 0};
    ::setsockopt(client_.get(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
  } else if (mode_ == Mode::kSocks) {
    auto reply = socks_reply(status == 403 ? kSocksNotAllowed : kSocksHostUnreachable);
    (void)!::send(client_.get(), reply.data(), reply.size(), MSG_NOSIGNAL);
  } else {
    std::string body = "agentos egress: " + reason + "\n";
    std::string resp = "HTTP/1.1 " + std::to_string(status) + " " + status_text(status) +
                       "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
                       "\r\nConnection: close\r\n\r\n" + body;
    (void)!::send(client_.get(), resp.data(), resp.size(), MSG_NOSIGNAL);
  }
  finish();
}

void Connection::refuse(const std::string& reason, int http_status) {
  allowed_ = false;
  respond_error(http_status, reason);
}

void Connection::fail(const std::string& reason) {
  failed_ = true;
  respond_error(502, reason);
}

}  // namespace agentos::egress
