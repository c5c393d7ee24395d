// A rate with a burst, refilled continuously: the broker's calls a minute and the egress
// gateway's bytes a second are both one of these. A rate of 0 is no limit.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>

namespace agentos {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  TokenBucket() = default;
  // Starts full.
  TokenBucket(double rate, double burst, Clock::time_point now = Clock::now()) : last_(now) {
    set(rate, burst);
    tokens_ = burst_;
  }

  // A new rate and burst; what was saved up is kept, within the new burst.
  void set(double rate, double burst) {
    rate_ = rate;
    burst_ = burst;
    tokens_ = std::min(tokens_, burst_);
  }
  [[nodiscard]] bool limited() const { return rate_ > 0; }

  // How many of `want` may pass now (whole units); take() what did pass.
  [[nodiscard]] size_t allowance(size_t want, Clock::time_point now = Clock::now()) {
    if (!limited()) return want;
    tokens_ = std::min(burst_, tokens_ + std::chrono::duration<double>(now - last_).count() * rate_);
    last_ = now;
    return tokens_ <= 0 ? 0 : static_cast<size_t>(std::min(tokens_, static_cast<double>(want)));
  }
  void take(size_t n) {
    if (limited()) tokens_ -= static_cast<double>(n);
  }
  // Saved up as of the last allowance(), for display.
  [[nodiscard]] double saved() const { return tokens_; }

 private:
  double rate_ = 0, burst_ = 0, tokens_ = 0;
  Clock::time_point last_ = Clock::now();
};

}  // namespace agentos
