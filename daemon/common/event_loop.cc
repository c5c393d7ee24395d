#include "common/event_loop.h"

#include <sys/epoll.h>

#include <memory>
#include <utility>

namespace agentos {

Result<EventLoop> EventLoop::create() {
  EventLoop l;
  l.epfd_.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!l.epfd_.valid()) return sys_error("epoll_create1");
  return l;
}

Status EventLoop::add(int fd, uint32_t events, Handler h) {
  epoll_event ev{events, {.fd = fd}};
  if (::epoll_ctl(epfd_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) return sys_error("epoll_ctl(ADD)");
  handlers_[fd] = std::make_shared<Handler>(std::move(h));
  return {};
}

Status EventLoop::modify(int fd, uint32_t events) {
  epoll_event ev{events, {.fd = fd}};
  if (::epoll_ctl(epfd_.get(), EPOLL_CTL_MOD, fd, &ev) != 0) return sys_error("epoll_ctl(MOD)");
  return {};
}

void EventLoop::remove(int fd) {
  ::epoll_ctl(epfd_.get(), EPOLL_CTL_DEL, fd, nullptr);
  handlers_.erase(fd);
}

Status EventLoop::run() {
  running_ = true;
  epoll_event events[64];
  while (running_) {
    // Deferred work waiting: look for ready descriptors without blocking, then run it.
    int n = ::epoll_wait(epfd_.get(), events, 64, deferred_.empty() ? -1 : 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("epoll_wait");
    for (int i = 0; i < n && running_; ++i) {
      auto it = handlers_.find(events[i].data.fd);
      if (it == handlers_.end()) continue;  // removed by an earlier handler in this batch
      auto h = it->second;  // keep it alive while it runs, even if it removes itself
      (*h)(events[i].events);
    }
    // What these defer again waits for the next turn, after the descriptors ready by then: a
    // handler that keeps deferring its own work cannot starve the others.
    auto due = std::exchange(deferred_, {});
    for (auto& f : due) f();
  }
  return {};
}

}  // namespace agentos
