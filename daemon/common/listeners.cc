#include "common/listeners.h"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <memory>

namespace agentos {

Listeners::~Listeners() {
  for (auto& [fd, e] : listeners_)
    if (!e.paused) loop_.remove(fd);
}

Status Listeners::add(int fd, Accepted accepted) {
  if (auto s = loop_.add(fd, EPOLLIN, [this, fd](uint32_t) { accept_on(fd); }); !s) return s;
  listeners_[fd] = {std::move(accepted), false};
  return {};
}

void Listeners::remove(int fd) {
  auto it = listeners_.find(fd);
  if (it == listeners_.end()) return;
  if (it->second.paused) --paused_;
  else loop_.remove(fd);
  listeners_.erase(it);
}

void Listeners::resume() {
  // A whole tick without a pause ends the shortage: the next one is reported again.
  if (paused_ == 0) {
    short_ = false;
    return;
  }
  for (auto& [fd, e] : listeners_) {
    if (!e.paused) continue;
    if (!loop_.add(fd, EPOLLIN, [this, fd = fd](uint32_t) { accept_on(fd); })) continue;  // still short: next time
    e.paused = false;
    --paused_;
  }
}

bool Listeners::paused(int fd) const {
  auto it = listeners_.find(fd);
  return it != listeners_.end() && it->second.paused;
}

void Listeners::accept_on(int fd) {
  for (int i = 0; i < kBatch; ++i) {
    auto it = listeners_.find(fd);
    if (it == listeners_.end() || it->second.paused) return;
    UniqueFd conn(::accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (conn.valid()) {
      Accepted accepted = it->second.accepted;  // it may remove this listener while it runs
      accepted(std::move(conn));
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;  // that client gave up
    // EMFILE, ENFILE, ENOBUFS, ENOMEM, or anything else that retrying at once would not cure.
    Error why = sys_error("accept");
    loop_.remove(fd);
    it->second.paused = true;
    ++paused_;
    if (!short_) {
      short_ = true;
      if (short_of_) short_of_(why);
    }
    return;
  }
}

}  // namespace agentos
