// A single-threaded epoll loop. The daemon runs no worker threads, so it may fork safely.
//
// The loop owns every registration: watch() returns a move-only Watch that takes its descriptor
// off the loop when destroyed, and every()/after() a Timer that cancels itself. An owner holds
// them as members (the Watch declared after the descriptor it watches, so it goes first), and no
// one else needs to remember to unregister anything.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace agentos {

class EventLoop {
  struct State;

 public:
  using Handler = std::function<void(uint32_t events)>;
  using Clock = std::chrono::steady_clock;

  // One descriptor on the loop, until reset() or destruction (both before the descriptor closes).
  class Watch {
   public:
    Watch() = default;
    Watch(Watch&& o) noexcept : state_(std::exchange(o.state_, nullptr)), id_(o.id_), fd_(o.fd_) {}
    Watch& operator=(Watch&& o) noexcept;
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;
    ~Watch() { reset(); }

    void reset();
    [[nodiscard]] Status modify(uint32_t events);  // the epoll events it waits for
    [[nodiscard]] bool active() const { return state_ != nullptr; }

   private:
    friend class EventLoop;
    Watch(State* s, uint64_t id, int fd) : state_(s), id_(id), fd_(fd) {}
    State* state_ = nullptr;
    uint64_t id_ = 0;
    int fd_ = -1;
  };

  // A scheduled call, cancelled by reset() or destruction.
  class Timer {
   public:
    Timer() = default;
    Timer(Timer&& o) noexcept : state_(std::exchange(o.state_, nullptr)), id_(o.id_) {}
    Timer& operator=(Timer&& o) noexcept;
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;
    ~Timer() { reset(); }

    void reset();
    [[nodiscard]] bool active() const;  // false once a one-shot timer has fired

   private:
    friend class EventLoop;
    Timer(State* s, uint64_t id) : state_(s), id_(id) {}
    State* state_ = nullptr;
    uint64_t id_ = 0;
  };

  [[nodiscard]] static Result<EventLoop> create();
  EventLoop(EventLoop&&) noexcept = default;
  EventLoop& operator=(EventLoop&&) noexcept = default;
  ~EventLoop();

  // Calls `h` with the ready events of `fd` while the returned Watch lives. A handler may destroy
  // any Watch, its own included; an event already fetched for a destroyed Watch is dropped.
  [[nodiscard]] Result<Watch> watch(int fd, uint32_t events, Handler h);
  // Calls `f` every `period` (the first time one period from now), or once after `delay`.
  [[nodiscard]] Timer every(Clock::duration period, std::function<void()> f);
  [[nodiscard]] Timer after(Clock::duration delay, std::function<void()> f);

  // Runs until stop(); handlers and timers may add or destroy registrations, their own included.
  [[nodiscard]] Status run();
  void stop();
  // Runs `f` once the handlers of the current batch have returned: for freeing an object whose
  // handler is still on the stack, or for the rest of a client's work after the others had a turn.
  void defer(std::function<void()> f);

 private:
  EventLoop() = default;
  void run_due_timers();
  [[nodiscard]] int next_timeout_ms() const;

  // Behind a pointer, so that the loop may be moved while Watches and Timers point at it.
  std::unique_ptr<State> state_;
};

struct EventLoop::State {
  struct TimerEntry {
    Clock::time_point at;
    Clock::duration period{};  // zero: once
    std::shared_ptr<std::function<void()>> f;
  };
  UniqueFd epfd;
  uint64_t next_id = 1;
  std::unordered_map<uint64_t, std::shared_ptr<Handler>> handlers;  // by registration, not by fd
  std::map<uint64_t, TimerEntry> timers;
  std::set<std::pair<Clock::time_point, uint64_t>> due;  // timers in deadline order
  std::vector<std::function<void()>> deferred;
  bool running = false;
};

}  // namespace agentos
