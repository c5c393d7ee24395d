#include "common/event_loop.h"

#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <string>

namespace agentos {
namespace {

// One client's work, split into deferred steps, must not hold off another client that is ready:
// the broker's fairness between agents rests on this.
TEST(EventLoop, WorkDeferredAgainWaitsForTheOthersReadyByThen) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop.ok());
  int busy[2], other[2];
  ASSERT_EQ(::pipe(busy), 0);
  ASSERT_EQ(::pipe(other), 0);
  std::string order;
  int steps = 0;
  std::function<void()> step = [&] {
    order += 'b';
    if (++steps == 1) {
      ASSERT_EQ(::write(other[1], "x", 1), 1);  // the other client gets ready now
    }
    if (steps < 4) loop->defer(step);
  };
  ASSERT_TRUE(loop->add(busy[0], EPOLLIN, [&](uint32_t) {
    char c;
    ASSERT_EQ(::read(busy[0], &c, 1), 1);
    loop->defer(step);
  }).ok());
  ASSERT_TRUE(loop->add(other[0], EPOLLIN, [&](uint32_t) {
    char c;
    ASSERT_EQ(::read(other[0], &c, 1), 1);
    order += 'o';
  }).ok());
  ASSERT_EQ(::write(busy[1], "x", 1), 1);
  int turns = 0;  // a bound, so a loop that never polls again fails instead of spinning
  std::function<void()> stop_when_done = [&] {
    if ((steps == 4 && order.find('o') != std::string::npos) || ++turns == 100) return loop->stop();
    loop->defer(stop_when_done);
  };
  loop->defer(stop_when_done);
  ASSERT_TRUE(loop->run().ok());
  // The other client ran right after the first step, not after all four.
  EXPECT_EQ(order, "bobbb");
  for (int fd : {busy[0], busy[1], other[0], other[1]}) ::close(fd);
}

}  // namespace
}  // namespace agentos
