// A connection's relay: bytes both ways within the buffers and the agent's bandwidth, with
// interest on each side only while there is room for what it sends.
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

// An SSL_read or SSL_write's result as recv or send would give it: `broken` is the errno of a
// failure that is not a wait.
ssize_t Connection::ssl_result(int rc, int broken) {
  if (rc > 0) return rc;
  int e = SSL_get_error(ssl_.get(), rc);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
    ssl_wants_write_ = e == SSL_ERROR_WANT_WRITE;
    errno = EAGAIN;
    return -1;
  }
  if (e == SSL_ERROR_ZERO_RETURN && broken == EPROTO) return 0;  // the upstream's close_notify
  ERR_clear_error();
  errno = broken;
  return -1;
}

ssize_t Connection::read_upstream(char* p, size_t n) {
  if (!ssl_) return ::recv(upstream_.get(), p, n, 0);
  return ssl_result(SSL_read(ssl_.get(), p, static_cast<int>(n)), EPROTO);
}

ssize_t Connection::write_upstream(const char* p, size_t n) {
  if (!ssl_) return ::send(upstream_.get(), p, n, MSG_NOSIGNAL);
  return ssl_result(SSL_write(ssl_.get(), p, static_cast<int>(n)), EPIPE);
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
        agent_->up.take(static_cast<size_t>(n));
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
        agent_->down.take(static_cast<size_t>(n));
        down_.end += static_cast<size_t>(n);
        bytes_down_ += static_cast<uint64_t>(n);
        progress = true;
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        upstream_eof_ = true;  // nothing more will come: stop watching it (a hang-up would spin)
        upstream_watch_.reset();
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
  if (c != client_events_ && client_watch_.modify(c)) client_events_ = c;
  if (upstream_watch_.active() && u != upstream_events_ && upstream_watch_.modify(u))
    upstream_events_ = u;
}

}  // namespace agentos::egress
