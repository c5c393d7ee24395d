#include "common/event_loop.h"

#include <sys/epoll.h>

#include <memory>
#include <utility>

namespace agentos {

Result<EventLoop> EventLoop::create() {
  EventLoop l;
  l.state_ = std::make_unique<State>();
  l.state_->epfd.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!l.state_->epfd.valid()) return sys_error("epoll_create1");
  return l;
}

EventLoop::~EventLoop() = default;

Result<EventLoop::Watch> EventLoop::watch(int fd, uint32_t events, Handler h) {
  uint64_t id = state_->next_id++;
  // The event carries the registration's id, so an event fetched for a descriptor that was
  // closed and reused within one batch never reaches the new owner.
  epoll_event ev{events, {.u64 = id}};
  if (::epoll_ctl(state_->epfd.get(), EPOLL_CTL_ADD, fd, &ev) != 0) return sys_error("epoll_ctl(ADD)");
  state_->handlers[id] = std::make_shared<Handler>(std::move(h));
  return Watch(state_.get(), id, fd);
}

EventLoop::Watch& EventLoop::Watch::operator=(Watch&& o) noexcept {
  if (this != &o) {
    reset();
    state_ = std::exchange(o.state_, nullptr);
    id_ = o.id_;
    fd_ = o.fd_;
  }
  return *this;
}

void EventLoop::Watch::reset() {
  if (!state_) return;
  ::epoll_ctl(state_->epfd.get(), EPOLL_CTL_DEL, fd_, nullptr);
  state_->handlers.erase(id_);
  state_ = nullptr;
}

Status EventLoop::Watch::modify(uint32_t events) {
  if (!state_) return error("the descriptor is not on the event loop");
  epoll_event ev{events, {.u64 = id_}};
  if (::epoll_ctl(state_->epfd.get(), EPOLL_CTL_MOD, fd_, &ev) != 0) return sys_error("epoll_ctl(MOD)");
  return {};
}

EventLoop::Timer EventLoop::every(Clock::duration period, std::function<void()> f) {
  uint64_t id = state_->next_id++;
  auto at = Clock::now() + period;
  state_->timers[id] = {at, period, std::make_shared<std::function<void()>>(std::move(f))};
  state_->due.emplace(at, id);
  return Timer(state_.get(), id);
}

EventLoop::Timer EventLoop::after(Clock::duration delay, std::function<void()> f) {
  Timer t = every(delay, std::move(f));
  state_->timers[t.id_].period = Clock::duration::zero();
  return t;
}

EventLoop::Timer& EventLoop::Timer::operator=(Timer&& o) noexcept {
  if (this != &o) {
    reset();
    state_ = std::exchange(o.state_, nullptr);
    id_ = o.id_;
  }
  return *this;
}

bool EventLoop::Timer::active() const { return state_ && state_->timers.contains(id_); }

void EventLoop::Timer::reset() {
  if (!state_) return;
  if (auto it = state_->timers.find(id_); it != state_->timers.end()) {
    state_->due.erase({it->second.at, id_});
    state_->timers.erase(it);
  }
  state_ = nullptr;
}

void EventLoop::stop() { state_->running = false; }

void EventLoop::defer(std::function<void()> f) { state_->deferred.push_back(std::move(f)); }

int EventLoop::next_timeout_ms() const {
  if (!state_->deferred.empty()) return 0;
  if (state_->due.empty()) return -1;
  auto wait = state_->due.begin()->first - Clock::now();
  if (wait <= Clock::duration::zero()) return 0;
  // Rounded up: waking a little early would only spin until the deadline.
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
  return ms > 60'000 ? 60'000 : static_cast<int>(ms);
}

void EventLoop::run_due_timers() {
  auto now = Clock::now();
  // Only those due now: a timer that reschedules itself at once runs again on the next turn.
  std::vector<uint64_t> ready;
  for (auto it = state_->due.begin(); it != state_->due.end() && it->first <= now; ++it) ready.push_back(it->second);
  for (uint64_t id : ready) {
    if (!state_->running) return;
    auto it = state_->timers.find(id);
    if (it == state_->timers.end()) continue;  // cancelled by an earlier one
    auto& t = it->second;
    auto f = t.f;  // alive while it runs, even if it cancels itself
    state_->due.erase({t.at, id});
    if (t.period == Clock::duration::zero()) {
      state_->timers.erase(it);
    } else {
      // A loop that fell behind skips the missed periods instead of running them in a burst.
      t.at += t.period;
      if (t.at <= now) t.at = now + t.period;
      state_->due.emplace(t.at, id);
    }
    (*f)();
  }
}

Status EventLoop::run() {
  state_->running = true;
  epoll_event events[64];
  while (state_->running) {
    int n = ::epoll_wait(state_->epfd.get(), events, 64, next_timeout_ms());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("epoll_wait");
    for (int i = 0; i < n && state_->running; ++i) {
      auto it = state_->handlers.find(events[i].data.u64);
      if (it == state_->handlers.end()) continue;  // removed by an earlier handler in this batch
      auto h = it->second;                         // keep it alive while it runs, even if it removes itself
      (*h)(events[i].events);
    }
    // What these defer again waits for the next turn, after the descriptors ready by then: a
    // handler that keeps deferring its own work cannot starve the others.
    auto due = std::exchange(state_->deferred, {});
    for (auto& f : due) f();
    run_due_timers();
  }
  return {};
}

}  // namespace agentos
