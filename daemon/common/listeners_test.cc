#include "common/listeners.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace agentos {
namespace {

// A listener on an abstract Unix address, and a way to connect to it.
struct TestListener {
  sockaddr_un addr{};
  UniqueFd fd;
  TestListener() {
    addr.sun_family = AF_UNIX;
    std::string name = "agentos-listeners-test-" + std::to_string(::getpid());
    std::memcpy(addr.sun_path + 1, name.data(), name.size());
    len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    fd.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), len), 0);
    EXPECT_EQ(::listen(fd.get(), 16), 0);
  }
  UniqueFd connect() const {
    UniqueFd c(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    EXPECT_EQ(::connect(c.get(), reinterpret_cast<const sockaddr*>(&addr), len), 0);
    return c;
  }
  socklen_t len = 0;
};

// Takes every free descriptor under a lowered soft limit, so that the next accept fails with EMFILE.
struct Exhaust {
  rlimit saved{};
  std::vector<UniqueFd> held;
  Exhaust() {
    ::getrlimit(RLIMIT_NOFILE, &saved);
    rlimit low = saved;
    low.rlim_cur = 64;
    ::setrlimit(RLIMIT_NOFILE, &low);
    for (;;) {
      UniqueFd f(::open("/dev/null", O_RDONLY | O_CLOEXEC));
      if (!f.valid()) break;
      held.push_back(std::move(f));
    }
  }
  ~Exhaust() {
    held.clear();
    ::setrlimit(RLIMIT_NOFILE, &saved);
  }
};

// Runs the loop for a few turns (epoll without blocking), then stops it.
void turns(EventLoop& loop, int n) {
  auto left = std::make_shared<int>(n);
  std::function<void()> step = [&loop, left, &step] {
    if (--*left <= 0) return loop.stop();
    loop.defer(step);
  };
  loop.defer(step);
  ASSERT_TRUE(loop.run().ok());
}

TEST(Listeners, OutOfDescriptorsPausesInsteadOfSpinningAndResumes) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop.ok());
  int shortages = 0, accepted = 0;
  std::string why;
  Listeners listeners(*loop, [&](const Error& e) {
    ++shortages;
    why = e.str();
  });
  TestListener l;
  ASSERT_TRUE(listeners.add(l.fd.get(), [&](UniqueFd) { ++accepted; }).ok());

  UniqueFd first = l.connect();
  {
    Exhaust full;
    turns(*loop, 20);
    EXPECT_TRUE(listeners.paused(l.fd.get()));
    EXPECT_EQ(shortages, 1);  // once, though the loop turned 20 times with the client waiting
    EXPECT_NE(why.find("Too many open files"), std::string::npos) << why;
    listeners.resume();  // the tick, while still short: paused again, not reported again
    turns(*loop, 5);
    EXPECT_TRUE(listeners.paused(l.fd.get()));
    EXPECT_EQ(shortages, 1);
    EXPECT_EQ(accepted, 0);
  }
  listeners.resume();  // descriptors are free again: the waiting client is served
  turns(*loop, 5);
  EXPECT_FALSE(listeners.paused(l.fd.get()));
  EXPECT_EQ(accepted, 1);

  listeners.resume();  // a tick with nothing paused ends the shortage: the next is reported
  UniqueFd second = l.connect();
  {
    Exhaust full;
    turns(*loop, 5);
  }
  EXPECT_EQ(shortages, 2);
  listeners.remove(l.fd.get());  // removing a paused listener leaves nothing on the loop
  listeners.resume();
  turns(*loop, 5);
  EXPECT_EQ(accepted, 1);
}

TEST(Listeners, TheCallbackMayRemoveItsListener) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop.ok());
  Listeners listeners(*loop, nullptr);
  TestListener l;
  int accepted = 0;
  ASSERT_TRUE(listeners.add(l.fd.get(), [&](UniqueFd) {
    ++accepted;
    listeners.remove(l.fd.get());
  }).ok());
  UniqueFd a = l.connect(), b = l.connect();
  turns(*loop, 5);
  EXPECT_EQ(accepted, 1);  // the second waits: its listener is gone
}

TEST(Listeners, AnOwnersLimitHoldsTheListenerUntilReleasedAndTakesNothingOver) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop.ok());
  Listeners listeners(*loop, nullptr);
  TestListener l;
  std::vector<UniqueFd> served;
  int refused_while_waiting = 0;
  auto admit = [&](bool client_waits) {
    if (served.size() < 2) return true;
    refused_while_waiting += client_waits;
    return false;
  };
  ASSERT_TRUE(listeners.add(l.fd.get(), [&](UniqueFd c) { served.push_back(std::move(c)); }, admit).ok());
  UniqueFd a = l.connect(), b = l.connect(), c = l.connect();
  turns(*loop, 5);
  EXPECT_EQ(served.size(), 2u);  // the third waits in the backlog, not accepted and closed
  EXPECT_TRUE(listeners.held(l.fd.get()));
  EXPECT_EQ(refused_while_waiting, 1);  // held: off the loop, not asked again on every turn
  listeners.resume();  // the tick resumes only a shortage's pause
  turns(*loop, 5);
  EXPECT_EQ(served.size(), 2u);
  served.erase(served.begin());
  listeners.release(l.fd.get());
  turns(*loop, 5);
  EXPECT_EQ(served.size(), 2u);  // the third, taken once there was room
  EXPECT_FALSE(listeners.held(l.fd.get()));  // full again, but nobody waits: still watched
  EXPECT_EQ(refused_while_waiting, 1);
  UniqueFd d = l.connect();
  turns(*loop, 5);
  EXPECT_TRUE(listeners.held(l.fd.get()));
  EXPECT_EQ(refused_while_waiting, 2);
  listeners.remove(l.fd.get());  // a held listener leaves nothing on the loop either
}

}  // namespace
}  // namespace agentos
