// The daemon's listening sockets (the API's and each agent's broker listener) on the event loop.
//
// When accept fails for want of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM) the
// connection stays in the backlog and the listener stays readable, so a level-triggered loop
// would wake on it at once, forever, and serve nothing else. Such a listener is paused instead:
// taken off the loop and retried every kRetry, while its clients wait in the backlog.
// The shortage is reported once, not per listener or per attempt, until an accept works again.
//
// An owner that limits how many connections it serves at once gives an `admit` check, asked
// before each accept: a no ends the batch, and when a client surely waits (the first accept after
// a wakeup) it holds the listener (off the loop too, its clients left in the backlog) until the
// owner calls release(). Connections over a limit wait; they are not taken only to be closed.
#pragma once

#include <chrono>
#include <functional>
#include <map>

#include "common/event_loop.h"
#include "common/result.h"
#include "common/unique_fd.h"

namespace agentos {

class Listeners {
 public:
  static constexpr int kBatch = 64;  // connections taken per wakeup: the loop's other work gets its turn
  static constexpr auto kRetry = std::chrono::seconds(1);  // how often paused listeners try again
  using Accepted = std::function<void(UniqueFd)>;
  using Short = std::function<void(const Error&)>;
  using Admit = std::function<bool(bool client_waits)>;

  // `short_of` hears of a shortage once, when it begins.
  Listeners(EventLoop& loop, Short short_of) : loop_(loop), short_of_(std::move(short_of)) {}
  ~Listeners();
  Listeners(const Listeners&) = delete;
  Listeners& operator=(const Listeners&) = delete;

  // Watches `fd` (non-blocking; the caller keeps it open until remove()) and hands each
  // connection to `accepted`, which may remove any listener, this one included.
  [[nodiscard]] Status add(int fd, Accepted accepted, Admit admit = {});
  void remove(int fd);
  // Watches the paused listeners again (those short of descriptors; not the held ones). Runs
  // every kRetry while any is paused; public so tests need not wait for it.
  void resume();
  // Watches a held listener again; nothing if it is not held.
  void release(int fd);
  [[nodiscard]] bool paused(int fd) const;
  [[nodiscard]] bool held(int fd) const;

 private:
  struct Entry {
    Accepted accepted;
    Admit admit;
    bool paused = false;  // short of descriptors or memory
    bool held = false;  // by its owner's admit
    EventLoop::Watch watch;  // active unless paused or held
    [[nodiscard]] bool watched() const { return watch.active(); }
  };
  void accept_on(int fd);
  void pause(Entry& e);
  [[nodiscard]] Status watch(int fd, Entry& e);

  EventLoop& loop_;
  Short short_of_;
  std::map<int, Entry> listeners_;
  size_t paused_ = 0;
  bool short_ = false;  // reported, and no accept has worked since
  EventLoop::Timer retry_;  // while short
};

}  // namespace agentos
