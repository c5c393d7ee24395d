// The one rate limiter: starts full, refills at its rate up to its burst, and a rate of 0 is none.
#include "common/token_bucket.h"

#include <gtest/gtest.h>

namespace agentos {
namespace {

using std::chrono::milliseconds;

TEST(TokenBucket, StartsFullAndRefillsAtItsRateUpToItsBurst) {
  auto t0 = TokenBucket::Clock::now();
  TokenBucket b(10, 5, t0);  // 10 a second, 5 saved up at most
  EXPECT_EQ(b.allowance(100, t0), 5u);
  b.take(5);
  EXPECT_EQ(b.allowance(100, t0), 0u);
  EXPECT_EQ(b.allowance(100, t0 + milliseconds(300)), 3u);  // 0.3 s at 10 a second
  EXPECT_EQ(b.allowance(100, t0 + milliseconds(10'000)), 5u);  // never more than the burst
}

TEST(TokenBucket, AllowanceIsWholeUnitsAndNeverMoreThanAsked) {
  auto t0 = TokenBucket::Clock::now();
  TokenBucket b(1, 60, t0);
  EXPECT_EQ(b.allowance(2, t0), 2u);
  b.take(60);
  EXPECT_EQ(b.allowance(1, t0 + milliseconds(999)), 0u);  // 0.999 of a call is not a call
  EXPECT_EQ(b.allowance(1, t0 + milliseconds(1000)), 1u);
}

TEST(TokenBucket, ANewRateKeepsWhatWasSavedWithinTheNewBurst) {
  auto t0 = TokenBucket::Clock::now();
  TokenBucket b(100, 100, t0);
  b.set(10, 10);
  EXPECT_EQ(b.allowance(1000, t0), 10u);
  b.set(1000, 1000);
  EXPECT_EQ(b.allowance(1000, t0), 10u);  // a raised burst is not a gift
}

TEST(TokenBucket, RateZeroIsNoLimit) {
  TokenBucket b;
  EXPECT_FALSE(b.limited());
  b.take(1 << 30);
  EXPECT_EQ(b.allowance(1 << 20), size_t{1} << 20);
}

}  // namespace
}  // namespace agentos
