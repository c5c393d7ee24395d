#include "common/listeners.h"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <memory>

namespace agentos {

Listeners::~Listeners() {
  for (auto& [fd, e] : listeners_)
    if (e.watched()) loop_.remove(fd);
}

Status Listeners::watch(int fd) { return loop_.add(fd, EPOLLIN, [this, fd](uint32_t) { accept_on(fd); }); }

Status Listeners::add(int fd, Accepted accepted, Admit admit) {
  if (auto s = watch(fd); !s) return s;
  listeners_[fd] = {std::move(accepted), std::move(admit)};
  return {};
}

void Listeners::remove(int fd) {
  auto it = listeners_.find(fd);
  if (it == listeners_.end()) return;
  if (it->second.paused) --paused_;
  if (it->second.watched()) loop_.remove(fd);
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
    if (!e.held && !watch(fd).ok()) continue;  // still short: next time
    e.paused = false;
    --paused_;
  }
}

void Listeners::release(int fd) {
  auto it = listeners_.find(fd);
  if (it == listeners_.end() || !it->second.held) return;
  if (!it->second.paused && !watch(fd).ok()) {
    // Short of memory for the loop's entry: paused like a failed accept, resumed on the tick.
    it->second.paused = true;
    ++paused_;
  }
  it->second.held = false;
}

bool Listeners::paused(int fd) const {
  auto it = listeners_.find(fd);
  return it != listeners_.end() && it->second.paused;
}

bool Listeners::held(int fd) const {
  auto it = listeners_.find(fd);
  return it != listeners_.end() && it->second.held;
}

void Listeners::accept_on(int fd) {
  for (int i = 0; i < kBatch; ++i) {
    auto it = listeners_.find(fd);
    if (it == listeners_.end() || !it->second.watched()) return;
    bool waits = i == 0;  // it woke the loop; later in the batch the backlog may be empty
    if (it->second.admit && !it->second.admit(waits)) {
      if (waits) {
        loop_.remove(fd);
        it->second.held = true;
      }
      return;
    }
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
