// A single-threaded epoll loop. The daemon runs no worker threads, so it may fork safely.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace agentos {

class EventLoop {
 public:
  using Handler = std::function<void(uint32_t events)>;

  [[nodiscard]] static Result<EventLoop> create();

  [[nodiscard]] Status add(int fd, uint32_t events, Handler h);
  [[nodiscard]] Status modify(int fd, uint32_t events);
  void remove(int fd);  // before the fd is closed
  // Runs until stop(); a handler may add or remove fds, its own included.
  [[nodiscard]] Status run();
  void stop() { running_ = false; }
  // Runs `f` once the handlers of the current batch have returned: for freeing an object whose
  // handler is still on the stack, or for the rest of a client's work after the others had a turn.
  void defer(std::function<void()> f) { deferred_.push_back(std::move(f)); }

 private:
  UniqueFd epfd_;
  std::unordered_map<int, std::shared_ptr<Handler>> handlers_;
  std::vector<std::function<void()>> deferred_;
  bool running_ = false;
};

}  // namespace agentos
