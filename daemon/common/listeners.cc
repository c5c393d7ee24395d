#include "common/listeners.h"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <memory>

namespace agentos {

Listeners::~Listeners() = default;

Status Listeners::watch(int fd, Entry& e) {
  auto w = loop_.watch(fd, EPOLLIN, [this, fd](uint32_t) { accept_on(fd); });
  if (!w) return w.error();
  e.watch = std::move(*w);
  return {};
}

Status Listeners::add(int fd, Accepted accepted, Admit admit) {
  Entry e{std::move(accepted), std::move(admit)};
  if (auto s = watch(fd, e); !s) return s;
  listeners_[fd] = std::move(e);
  return {};
}

void Listeners::remove(int fd) {
  auto it = listeners_.find(fd);
  if (it == listeners_.end()) return;
  if (it->second.paused) --paused_;
  listeners_.erase(it);
}

void Listeners::resume() {
  // A whole period without a pause ends the shortage: the next one is reported again.
  if (paused_ == 0) {
    short_ = false;
    retry_.reset();
    return;
  }
  for (auto& [fd, e] : listeners_) {
    if (!e.paused) continue;
    if (!e.held && !watch(fd, e).ok()) continue;  // still short: next time
    e.paused = false;
    --paused_;
  }
}

void Listeners::release(int fd) {
  auto it = listeners_.find(fd);
  if (it == listeners_.end() || !it->second.held) return;
  if (!it->second.paused && !watch(fd, it->second).ok()) {
    // Short of memory for the loop's entry: paused like a failed accept, retried later.
    pause(it->second);
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

void Listeners::pause(Entry& e) {
  e.paused = true;
  ++paused_;
  if (!retry_.active()) retry_ = loop_.every(kRetry, [this] { resume(); });
}

void Listeners::accept_on(int fd) {
  for (int i = 0; i < kBatch; ++i) {
    auto it = listeners_.find(fd);
    if (it == listeners_.end() || !it->second.watched()) return;
    bool waits = i == 0;  // it woke the loop; later in the batch the backlog may be empty
    if (it->second.admit && !it->second.admit(waits)) {
      if (waits) {
        it->second.watch.reset();
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
    it->second.watch.reset();
    pause(it->second);
    if (!short_) {
      short_ = true;
      if (short_of_) short_of_(why);
    }
    return;
  }
}

}  // namespace agentos
