#include "common/event_loop.h"

#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
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
  auto busy_watch = loop->watch(busy[0], EPOLLIN, [&](uint32_t) {
    char c;
    ASSERT_EQ(::read(busy[0], &c, 1), 1);
    loop->defer(step);
  });
  ASSERT_TRUE(busy_watch.ok());
  auto other_watch = loop->watch(other[0], EPOLLIN, [&](uint32_t) {
    char c;
    ASSERT_EQ(::read(other[0], &c, 1), 1);
    order += 'o';
  });
  ASSERT_TRUE(other_watch.ok());
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
  busy_watch->reset();
  other_watch->reset();
  for (int fd : {busy[0], busy[1], other[0], other[1]}) ::close(fd);
}

struct Pipe {
  UniqueFd r, w;
  Pipe() {
    int p[2];
    EXPECT_EQ(::pipe(p), 0);
    r.reset(p[0]);
    w.reset(p[1]);
  }
  void poke() const { ASSERT_EQ(::write(w.get(), "x", 1), 1); }
};

// Runs the loop until `done` holds, a turn at a time, failing after `turns` turns.
void run_until(EventLoop& loop, const std::function<bool()>& done, int turns = 1000) {
  int n = 0;
  std::function<void()> check = [&] {
    if (done() || ++n == turns) return loop.stop();
    loop.defer(check);
  };
  loop.defer(check);
  ASSERT_TRUE(loop.run().ok());
  ASSERT_TRUE(done()) << "not done after " << turns << " turns";
}

// A Watch that is destroyed takes its descriptor off the loop: its handler never runs again,
// though the descriptor stays open and readable (positive control: while it lives, it runs).
TEST(EventLoop, WatchRemovesItselfWhenDestroyed) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop.ok());
  Pipe p, other;
  int calls = 0, other_calls = 0;
  std::optional<EventLoop::Watch> w;
  auto made = loop->watch(p.r.get(), EPOLLIN, [&](uint32_t) { ++calls; });
  ASSERT_TRUE(made.ok());
  w.emplace(std::move(*made));
  p.poke();
  run_until(*loop, [&] { return calls > 0; });
  w.reset();  // the destructor
  const int before = calls;
  auto ow = loop->watch(other.r.get(), EPOLLIN, [&](uint32_t) { ++other_calls; });
  ASSERT_TRUE(ow.ok());
  other.poke();
  run_until(*loop, [&] { return other_calls >= 3; });  // turns in which p was readable throughout
  EXPECT_EQ(calls, before);
}

// An event fetched for a registration that an earlier handler of the same batch destroyed is
// dropped, even when the descriptor's number was reused at once by a new registration.
TEST(EventLoop, EventOfADestroyedWatchNeverReachesTheNextOwnerOfItsNumber) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop.ok());
  auto a = std::make_unique<Pipe>();
  auto b = std::make_unique<Pipe>();
  std::optional<EventLoop::Watch> wa, wb, fresh;
  std::string seen;
  int reused = -1;
  std::unique_ptr<Pipe> replacement;
  // Whichever runs first closes the other and gives its number to a new registration.
  auto first = [&](char me, std::unique_ptr<Pipe>& victim, std::optional<EventLoop::Watch>& victim_watch) {
    seen += me;
    if (replacement) return;
    int number = victim->r.get();
    victim_watch.reset();
    victim.reset();
    replacement = std::make_unique<Pipe>();  // lowest free numbers: the victim's read end first
    reused = replacement->r.get() == number ? number : -1;
    auto w = loop->watch(replacement->r.get(), EPOLLIN, [&](uint32_t) { seen += 'n'; });
    ASSERT_TRUE(w.ok());
    fresh.emplace(std::move(*w));
  };
  auto ma = loop->watch(a->r.get(), EPOLLIN, [&](uint32_t) { first('a', b, wb); });
  auto mb = loop->watch(b->r.get(), EPOLLIN, [&](uint32_t) { first('b', a, wa); });
  ASSERT_TRUE(ma.ok() && mb.ok());
  wa.emplace(std::move(*ma));
  wb.emplace(std::move(*mb));
  a->poke();
  b->poke();  // both ready before the loop runs: one batch
  run_until(
      *loop, [&] { return !seen.empty(); }, 3);
  ASSERT_NE(reused, -1) << "the test needs the number reused";
  EXPECT_EQ(seen.size(), 1U) << seen;  // not "an": the new pipe is not readable
}

TEST(EventLoop, TimersRunOnceOrEveryPeriodUntilReset) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop.ok());
  int once = 0, every = 0, cancelled = 0;
  auto t1 = loop->after(std::chrono::milliseconds(1), [&] { ++once; });
  EventLoop::Timer t2;
  t2 = loop->every(std::chrono::milliseconds(1), [&] {
    if (++every == 3) t2.reset();  // a timer may cancel itself
  });
  auto t3 = loop->after(std::chrono::milliseconds(1), [&] { ++cancelled; });
  t3.reset();
  EXPECT_FALSE(t3.active());
  // Ends at the third run, or when a fourth would have come long before (timers do not
  // repeat once reset).
  auto stop = loop->after(std::chrono::milliseconds(50), [&] { loop->stop(); });
  ASSERT_TRUE(loop->run().ok());
  EXPECT_EQ(once, 1);
  EXPECT_FALSE(t1.active());  // a one-shot that fired
  EXPECT_EQ(every, 3);
  EXPECT_EQ(cancelled, 0);
}

// A timer destroyed by another's callback in the same turn does not run.
TEST(EventLoop, TimerCancelledByAnEarlierOneDoesNotRun) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop.ok());
  int ran = 0;
  EventLoop::Timer second;
  auto first = loop->after(std::chrono::milliseconds(1), [&] { second.reset(); });
  second = loop->after(std::chrono::milliseconds(1), [&] { ++ran; });
  auto stop = loop->after(std::chrono::milliseconds(20), [&] { loop->stop(); });
  ASSERT_TRUE(loop->run().ok());
  EXPECT_EQ(ran, 0);
}

}  // namespace
}  // namespace agentos
