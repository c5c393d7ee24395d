// A connection's front end: what the agent asked for, as SOCKS5 or HTTP (CONNECT, a proxied
// request, a route), told apart by its first byte.
#include <openssl/err.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "egress/client_hello.h"
#include "egress/connection.h"
#include "egress/gateway.h"
#include "egress/route.h"
#include "egress/socks5.h"
#include "policy/quote.h"

namespace agentos::egress {
namespace {

constexpr size_t kMaxRequestBytes = kMaxHeadBytes + 1024;

}  // namespace

void Connection::on_client(uint32_t events) {
  switch (phase_) {
    case Phase::kFirst:
    case Phase::kSocksGreeting:
    case Phase::kSocksRequest:
    case Phase::kHttpHead: return read_request();
    case Phase::kHello:
    case Phase::kRelay:
      pump();
      // Both ways shut: nothing can reach the agent any more, and a hang-up would keep firing.
      if ((events & (EPOLLHUP | EPOLLERR)) && phase_ != Phase::kDone) {
        reason_ = reason_.empty() ? "the agent hung up" : reason_;
        finish();
      }
      return;
    case Phase::kDone: return;
    default:
      // Waiting on DNS, connect or TLS: the client is not read from, only watched for hang-ups.
      if (events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
        reason_ = "the agent closed the connection first";
        finish();
      }
  }
}

void Connection::read_request() {
  char buf[4096];
  ssize_t n = ::recv(client_.get(), buf, sizeof buf, 0);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    reason_ = in_.empty() ? "closed before sending a request" : "closed mid-request";
    return finish();
  }
  if (phase_ == Phase::kFirst) phase_ = static_cast<uint8_t>(buf[0]) == kSocksVersion ? Phase::kSocksGreeting : Phase::kHttpHead;
  if (phase_ == Phase::kHttpHead) {
    mode_ = mode_ == Mode::kUnknown ? Mode::kForward : mode_;
    size_t used = parser_.feed({buf, static_cast<size_t>(n)});
    in_.append(buf, used);
    if (parser_.state() == RequestParser::State::kBad) return respond_error(400, "malformed HTTP request: " + parser_.error());
    if (parser_.state() == RequestParser::State::kHead) return;
    early_.assign(buf + used, static_cast<size_t>(n) - used);
    return request_head();
  }
  mode_ = Mode::kSocks;
  in_.append(buf, static_cast<size_t>(n));
  if (in_.size() > kMaxRequestBytes) return refuse("SOCKS request too long");
  socks();
}

void Connection::socks() {
  auto data = std::span(reinterpret_cast<const uint8_t*>(in_.data()), in_.size());
  if (phase_ == Phase::kSocksGreeting) {
    SocksGreeting g = parse_socks_greeting(data);
    if (g.status == SocksStatus::kNeedMore) return;
    if (g.status == SocksStatus::kBad || !g.no_auth) {
      const uint8_t no_method[2] = {kSocksVersion, 0xFF};
      (void)!::send(client_.get(), no_method, 2, MSG_NOSIGNAL);
      reason_ = "SOCKS5 greeting without the no-authentication method";
      return finish();
    }
    const uint8_t ok[2] = {kSocksVersion, 0};
    (void)!::send(client_.get(), ok, 2, MSG_NOSIGNAL);
    in_.erase(0, g.used);
    phase_ = Phase::kSocksRequest;
    data = std::span(reinterpret_cast<const uint8_t*>(in_.data()), in_.size());
  }
  SocksRequest r = parse_socks_request(data);
  if (r.status == SocksStatus::kNeedMore) return;
  if (r.status == SocksStatus::kBad) {
    auto reply = socks_reply(r.reply);
    (void)!::send(client_.get(), reply.data(), reply.size(), MSG_NOSIGNAL);
    reason_ = r.reply == kSocksCommandUnsupported ? "SOCKS5 command other than CONNECT" : "malformed SOCKS5 request";
    return finish();
  }
  early_ = in_.substr(r.used);
  decide(r.host, r.port);
}

void Connection::request_head() {
  const RequestHead& h = parser_.head();
  if (h.method == "CONNECT") {
    mode_ = Mode::kTunnel;
    auto d = parse_authority(h.target);
    if (!d) return respond_error(400, "CONNECT needs host:port, not \"" + h.target + "\"");
    return decide(d->host, d->port);
  }
  if (h.target.starts_with('/')) {
    mode_ = Mode::kRoute;
    route_ = route_for(agent_->rules, h.target);
    if (!route_) return respond_error(404, "no [[egress.route]] for " + h.target.substr(0, h.target.find('?')));
    host_ = parse_host(route_->host);
    port_ = route_->port;
    if (!host_) return fail("route upstream " + route_->host + " is not a host");
    auto target = upstream_target(*route_, h.target);
    if (!target) return refuse(target.error().what, 400);
    upstream_target_ = std::move(*target);
    allowed_ = true;  // the route grants its own upstream
    return dial();
  }
  auto d = parse_absolute(h.target, entry_ == Entry::kBroker);
  if (!d) return respond_error(400, "a request through the gateway names http://host/path, or CONNECT host:port, or a route path");
  mode_ = Mode::kForward;
  upstream_target_ = d->path;
  upstream_tls_ = d->tls;
  decide(d->host, d->port);
}

}  // namespace agentos::egress
