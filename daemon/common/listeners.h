// The daemon's listening sockets (the API's and each agent's broker listener) on the event loop.
//
// When accept fails for want of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM) the
// connection stays in the backlog and the listener stays readable, so a level-triggered loop
// would wake on it at once, forever, and serve nothing else. Such a listener is paused instead:
// taken off the loop until resume() (the daemon's tick), while its clients wait in the backlog.
// The shortage is reported once, not per listener or per attempt, until an accept works again.
#pragma once

#include <functional>
#include <map>

#include "common/event_loop.h"
#include "common/result.h"
#include "common/unique_fd.h"

namespace agentos {

class Listeners {
 public:
  static constexpr int kBatch = 64;  // connections taken per wakeup: the loop's other work gets its turn
  using Accepted = std::function<void(UniqueFd)>;
  using Short = std::function<void(const Error&)>;

  // `short_of` hears of a shortage once, when it begins.
  Listeners(EventLoop& loop, Short short_of) : loop_(loop), short_of_(std::move(short_of)) {}
  ~Listeners();
  Listeners(const Listeners&) = delete;
  Listeners& operator=(const Listeners&) = delete;

  // Watches `fd` (non-blocking; the caller keeps it open until remove()) and hands each
  // connection to `accepted`, which may remove any listener, this one included.
  [[nodiscard]] Status add(int fd, Accepted accepted);
  void remove(int fd);
  // Watches the paused listeners again.
  void resume();
  [[nodiscard]] bool paused(int fd) const;

 private:
  struct Entry {
    Accepted accepted;
    bool paused = false;
  };
  void accept_on(int fd);

  EventLoop& loop_;
  Short short_of_;
  std::map<int, Entry> listeners_;
  size_t paused_ = 0;
  bool short_ = false;  // reported, and no accept has worked since
};

}  // namespace agentos
