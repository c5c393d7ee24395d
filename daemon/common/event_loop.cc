#include "common/event_loop.h"

#include <sys/epoll.h>

#include <memory>

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
    int n = ::epoll_wait(epfd_.get(), events, 64, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("epoll_wait");
    for (int i = 0; i < n && running_; ++i) {
      auto it = handlers_.find(events[i].data.fd);
      if (it == handlers_.end()) continue;  // removed by an earlier handler in this batch
      auto h = it->second;  // keep it alive while it runs, even if it removes itself
      (*h)(events[i].events);
    }
    for (size_t i = 0; i < deferred_.size(); ++i) {
      auto f = std::move(deferred_[i]);  // f may defer more
      f();
    }
    deferred_.clear();
  }
  return {};
}

}  // namespace agentos
