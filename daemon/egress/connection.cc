#include "egress/connection.h"

#include <openssl/err.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "egress/client_hello.h"
#include "egress/gateway.h"
#include "egress/route.h"
#include "egress/socks5.h"
#include "policy/quote.h"

namespace agentos::egress {
namespace {

constexpr size_t kMaxRequestBytes = kMaxHeadBytes + 1024;

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
  if (client_.valid()) gw_.loop().remove(client_.get());
  if (upstream_.valid() && !upstream_eof_) gw_.loop().remove(upstream_.get());
  --agent_->open;
  gw_.closed_one(*agent_);
  if (recorded_) return;
  gateway::Record r;
  r.set_agent_id(agent_->id);
  static const char* const kProtocols[] = {"unknown", "connect", "http", "route", "socks5", "transparent"};
  r.set_protocol(entry_ == Entry::kBroker ? "fetch" : kProtocols[static_cast<int>(mode_)]);  // "fetch": the broker's http.fetch
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
  if (auto s = gw_.loop().add(client_.get(), client_events_, [this](uint32_t e) { on_client(e); }); !s) return s;
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

void Connection::tick(Clock::time_point now) {
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

// ---------------------------------------------------------------------------------------------
// The request: SOCKS5 or HTTP, told apart by the first byte.

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
    if (host_->literal) {
      candidates_ = {*host_->literal};
      return connect_next();
    }
    phase_ = Phase::kResolving;
    gw_.resolver().resolve(host_->name, [gw = &gw_, id = id_](Result<std::vector<Address>> r) {
      if (Connection* c = gw->find(id)) c->on_resolved(std::move(r));
    });
    return watch();
  }
  auto d = parse_absolute(h.target, entry_ == Entry::kBroker);
  if (!d) return respond_error(400, "a request through the gateway names http://host/path, or CONNECT host:port, or a route path");
  mode_ = Mode::kForward;
  upstream_target_ = d->path;
  upstream_tls_ = d->tls;
  decide(d->host, d->port);
}

// ---------------------------------------------------------------------------------------------
// The decision, DNS and connect.

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
  if (upstream_.valid()) {
    gw_.loop().remove(upstream_.get());
    upstream_.reset();
  }
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
    if (auto s = gw_.loop().add(upstream_.get(), upstream_events_, [this](uint32_t e) { on_upstream(e); }); !s)
      return fail(s.error().str());
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

// ---------------------------------------------------------------------------------------------
// Relaying.

ssize_t Connection::read_upstream(char* p, size_t n) {
  if (!ssl_) return ::recv(upstream_.get(), p, n, 0);
  int rc = SSL_read(ssl_.get(), p, static_cast<int>(n));
  if (rc > 0) return rc;
  int e = SSL_get_error(ssl_.get(), rc);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
    ssl_wants_write_ = e == SSL_ERROR_WANT_WRITE;
    errno = EAGAIN;
    return -1;
  }
  if (e == SSL_ERROR_ZERO_RETURN) return 0;
  ERR_clear_error();
  errno = EPROTO;
  return -1;
}

ssize_t Connection::write_upstream(const char* p, size_t n) {
  if (!ssl_) return ::send(upstream_.get(), p, n, MSG_NOSIGNAL);
  int rc = SSL_write(ssl_.get(), p, static_cast<int>(n));
  if (rc > 0) return rc;
  int e = SSL_get_error(ssl_.get(), rc);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
    ssl_wants_write_ = e == SSL_ERROR_WANT_WRITE;
    errno = EAGAIN;
    return -1;
  }
  ERR_clear_error();
  errno = EPIPE;
  return -1;
}

void Connection::pump() {
  if (phase_ != Phase::kRelay && phase_ != Phase::kHello) return;
  paused_ = false;
  bool progress = true;
  while (progress && phase_ != Phase::kDone) {
    progress = false;
    // Agent to upstream. A request relayed as HTTP ends with its message: nothing pipelined
    // behind it is read, as that would reach the upstream unchecked.
    if (!client_eof_ && !request_done_ && up_.space() > 0) {
      size_t want = agent_->up.allowance(up_.space());
      ssize_t n = want == 0 ? -1 : ::recv(client_.get(), up_.tail(), want, 0);
      if (want == 0) {
        paused_ = true;
      } else if (n > 0) {
        agent_->up.consume(static_cast<size_t>(n));
        auto keep = request_bytes({up_.tail(), static_cast<size_t>(n)});
        if (!keep) return respond_error(400, "malformed request body: " + parser_.error());
        up_.end += *keep;
        bytes_up_ += *keep;
        progress = true;
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        client_eof_ = true;
        progress = true;
      }
    }
    if (phase_ == Phase::kHello) {
      check_hello();
      if (phase_ != Phase::kRelay) return phase_ == Phase::kDone ? void() : watch();
    }
    if (up_.size() > 0 && !upstream_eof_) {
      ssize_t n = write_upstream(up_.bytes.data() + up_.start, up_.size());
      if (n > 0) {
        up_.start += static_cast<size_t>(n);
        up_.compact();
        progress = true;
      } else if (errno != EAGAIN && errno != EINTR) {
        reason_ = "upstream closed while sending";
        failed_ = true;
        return finish();
      }
    }
    // The agent is done sending through a tunnel: pass the half-close on.
    if (client_eof_ && up_.size() == 0 && !up_shut_ && !ssl_) {
      ::shutdown(upstream_.get(), SHUT_WR);
      up_shut_ = true;
    }
    // Upstream to agent.
    if (!upstream_eof_ && down_.space() > 0) {
      size_t want = agent_->down.allowance(down_.space());
      ssize_t n = want == 0 ? -1 : read_upstream(down_.tail(), want);
      if (want == 0) {
        paused_ = true;
      } else if (n > 0) {
        agent_->down.consume(static_cast<size_t>(n));
        down_.end += static_cast<size_t>(n);
        bytes_down_ += static_cast<uint64_t>(n);
        progress = true;
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        upstream_eof_ = true;  // nothing more will come: stop watching it (a hang-up would spin)
        gw_.loop().remove(upstream_.get());
        upstream_events_ = ~0U;
        progress = true;
      }
    }
    if (down_.size() > 0) {
      ssize_t n = ::send(client_.get(), down_.bytes.data() + down_.start, down_.size(), MSG_NOSIGNAL);
      if (n > 0) {
        down_.start += static_cast<size_t>(n);
        down_.compact();
        progress = true;
      } else if (errno != EAGAIN && errno != EINTR) {
        reason_ = "the agent closed the connection";
        return finish();
      }
    }
    // The upstream's answer, all delivered, ends the connection.
    if (upstream_eof_ && down_.size() == 0) return finish();
  }
  deadline_ = Clock::now() + gw_.options().idle_timeout;
  watch();
}

// Interest follows need: read a side only when there is room to keep what arrives.
void Connection::watch() {
  uint32_t c = 0, u = 0;
  bool relaying = phase_ == Phase::kRelay || phase_ == Phase::kHello;
  if (relaying) {
    if (!client_eof_ && !request_done_ && up_.space() > 0 && !paused_) c |= EPOLLIN;
    if (down_.size() > 0) c |= EPOLLOUT;
    if (!upstream_eof_ && down_.space() > 0 && !paused_) u |= EPOLLIN;
    if (up_.size() > 0 || ssl_wants_write_) u |= EPOLLOUT;
  } else if (phase_ == Phase::kConnecting) {
    u = EPOLLOUT;
  } else if (phase_ == Phase::kTls) {
    u = ssl_wants_write_ ? EPOLLOUT : EPOLLIN;
  } else if (phase_ != Phase::kResolving) {
    c = EPOLLIN;
  }
  if (!client_eof_) c |= EPOLLRDHUP;  // once seen, it stays asserted
  if (c != client_events_ && gw_.loop().modify(client_.get(), c)) client_events_ = c;
  if (upstream_.valid() && !upstream_eof_ && u != upstream_events_ && gw_.loop().modify(upstream_.get(), u))
    upstream_events_ = u;
}

// ---------------------------------------------------------------------------------------------
// Endings.

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
