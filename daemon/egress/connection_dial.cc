// A connection's dialer: the decision on the name and port, DNS, connect, TLS to a route's
// upstream, and the ClientHello of a tunnel checked against its name.
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

void Connection::decide(const std::string& host, uint16_t port) {
  port_ = port;
  host_ = parse_host(host);
  if (!host_) {
    host_ = Host{host.substr(0, 255), std::nullopt};
    return refuse("\"" + host.substr(0, 255) + "\" is neither a DNS name nor an address");
  }
  Verdict v = check_target(agent_->rules, *host_, port);
  if (!v.allowed) return refuse(v.reason);
  allowed_ = true;
  dial();
}

// The upstream: an address as given, or the name's addresses from DNS, tried in turn.
void Connection::dial() {
  if (host_->literal) {
    candidates_ = {*host_->literal};
    return connect_next();
  }
  phase_ = Phase::kResolving;
  gw_.resolver().resolve(host_->name, [gw = &gw_, id = id_](Result<std::vector<Address>> r) {
    if (Connection* c = gw->find(id)) c->on_resolved(std::move(r));
  });
  watch();
}

void Connection::on_resolved(Result<std::vector<Address>> r) {
  if (phase_ != Phase::kResolving) return;
  if (!r) return fail("cannot resolve " + host_->name + ": " + r.error().what);
  // A route's upstream is named by the admin; an address it names outright is its grant.
  std::string refused;
  for (const Address& a : *r) {
    Verdict v = check_resolved(agent_->rules, a, port_, gw_.host_addresses().holds(a));
    if (v.allowed) candidates_.push_back(a);
    else if (refused.empty()) refused = v.reason;
  }
  if (candidates_.empty()) {
    allowed_ = false;
    return refuse(host_->name + ": " + refused);
  }
  connect_next();
}

void Connection::connect_next() {
  upstream_watch_.reset();
  upstream_.reset();
  int last_err = 0;
  while (next_candidate_ < candidates_.size()) {
    const Address& a = candidates_[next_candidate_++];
    UniqueFd fd(::socket(a.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid()) {
      last_err = errno;
      continue;
    }
    socklen_t len;
    sockaddr_storage ss = a.sockaddr(port_, &len);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0 && errno != EINPROGRESS) {
      last_err = errno;
      continue;
    }
    address_ = a;
    upstream_ = std::move(fd);
    phase_ = Phase::kConnecting;
    upstream_events_ = EPOLLOUT;
    auto w = gw_.loop().watch(upstream_.get(), upstream_events_, [this](uint32_t e) { on_upstream(e); });
    if (!w) return fail(w.error().str());
    upstream_watch_ = std::move(*w);
    return watch();
  }
  fail("cannot connect to " + host_->str() + " port " + std::to_string(port_) +
       (address_ ? " (" + address_->str() + ")" : "") + (last_err ? std::string(": ") + std::strerror(last_err) : ""));
}

void Connection::on_upstream(uint32_t events) {
  if (phase_ == Phase::kConnecting) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(upstream_.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err == 0 && !(events & EPOLLERR)) return connected();
    if (next_candidate_ < candidates_.size()) return connect_next();
    return fail("cannot connect to " + host_->str() + " port " + std::to_string(port_) + " (" + address_->str() +
                "): " + std::strerror(err ? err : ECONNREFUSED));
  }
  if (phase_ == Phase::kTls) return tls_step();
  if ((phase_ == Phase::kRelay || phase_ == Phase::kHello) && !upstream_eof_) return pump();
}

void Connection::connected() {
  switch (mode_) {
    case Mode::kTunnel: {
      static constexpr std::string_view kOk = "HTTP/1.1 200 Connection established\r\n\r\n";
      (void)!::send(client_.get(), kOk.data(), kOk.size(), MSG_NOSIGNAL);
      break;
    }
    case Mode::kSocks: {
      auto ok = socks_reply(kSocksOk);
      (void)!::send(client_.get(), ok.data(), ok.size(), MSG_NOSIGNAL);
      break;
    }
    case Mode::kForward: {
      std::string authority = host_->literal && host_->literal->family == AF_INET6 ? "[" + host_->str() + "]" : host_->str();
      if (port_ != (upstream_tls_ ? 443 : 80)) authority += ":" + std::to_string(port_);
      up_.append(rewrite_head(parser_.head(), upstream_target_, {{"Host", authority}}));
      if (upstream_tls_) return start_tls();
      break;
    }
    case Mode::kRoute: {
      std::string authority = host_->str();
      if (port_ != (route_->tls ? 443 : 80)) authority += ":" + std::to_string(port_);
      std::vector<std::pair<std::string, std::string>> headers = {{"Host", authority}};
      headers.insert(headers.end(), route_->headers.begin(), route_->headers.end());
      up_.append(rewrite_head(parser_.head(), upstream_target_, headers));
      if (route_->tls) return start_tls();
      break;
    }
    default: break;
  }
  // A tunnel to a name carries TLS for that name, if TLS at all: its ClientHello is checked first.
  bool check_sni = (mode_ == Mode::kTunnel || mode_ == Mode::kSocks || mode_ == Mode::kTransparent) && !host_->literal;
  phase_ = check_sni ? Phase::kHello : Phase::kRelay;
  if (phase_ == Phase::kRelay) deadline_ = Clock::now() + gw_.options().idle_timeout;
  relay_early();
}

void Connection::start_tls() {
  auto s = gw_.tls().session(upstream_.get(), host_->str(), host_->literal.has_value());
  if (!s) return fail(s.error().str());
  ssl_ = std::move(*s);
  phase_ = Phase::kTls;
  tls_step();
}

void Connection::tls_step() {
  int rc = SSL_do_handshake(ssl_.get());
  if (rc == 1) {
    phase_ = Phase::kRelay;
    deadline_ = Clock::now() + gw_.options().idle_timeout;
    return relay_early();
  }
  int e = SSL_get_error(ssl_.get(), rc);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
    ssl_wants_write_ = e == SSL_ERROR_WANT_WRITE;
    return watch();
  }
  long verify = SSL_get_verify_result(ssl_.get());
  fail("TLS with " + host_->str() + ": " +
       (verify != X509_V_OK ? std::string("certificate ") + X509_verify_cert_error_string(verify) : tls_error()));
}

std::optional<size_t> Connection::request_bytes(std::span<const char> data) {
  if (mode_ != Mode::kForward && mode_ != Mode::kRoute) return data.size();
  size_t used = parser_.feed(data);
  if (parser_.state() == RequestParser::State::kBad) return std::nullopt;
  request_done_ = parser_.state() == RequestParser::State::kDone;
  return used;
}

// Bytes that arrived with the request belong to what follows it.
void Connection::relay_early() {
  std::string early = std::move(early_);
  early_.clear();
  auto keep = request_bytes(early);
  if (!keep) return respond_error(400, "malformed request body: " + parser_.error());
  early.resize(*keep);
  if (early.size() > up_.space()) return fail("request larger than the gateway's buffer");
  up_.append(early);
  bytes_up_ += early.size();
  pump();
}

void Connection::check_hello() {
  Hello h = parse_client_hello({reinterpret_cast<const uint8_t*>(up_.bytes.data() + up_.start), up_.size()});
  switch (h.status) {
    case HelloStatus::kNeedMore:
      if (up_.space() == 0) return refuse("TLS ClientHello larger than the gateway reads");
      if (client_eof_) {
        reason_ = "the agent closed the tunnel before its first message was whole";
        finish();
      }
      return;
    case HelloStatus::kNotTls: break;  // another protocol, to the address resolved for the grant
    case HelloStatus::kNoName: return refuse("TLS to " + host_->name + " without a server name (SNI)");
    case HelloStatus::kMalformed: return refuse("malformed TLS ClientHello");
    case HelloStatus::kName: {
      auto sni = parse_host(h.name);
      if (!sni || sni->name != host_->name)
        return refuse("TLS server name \"" + h.name.substr(0, 255) + "\" is not " + host_->name + ", the name the tunnel was granted for");
      break;
    }
  }
  phase_ = Phase::kRelay;
  deadline_ = Clock::now() + gw_.options().idle_timeout;
}

}  // namespace agentos::egress
