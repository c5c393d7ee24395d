// A per-agent byte budget: `rate` bytes a second, with up to a quarter second's worth saved up.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace agentos::egress {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;
  explicit TokenBucket(uint64_t rate = 0) {
    set_rate(rate);
    tokens_ = burst_;
  }

  void set_rate(uint64_t rate) {
    rate_ = static_cast<double>(rate);
    burst_ = std::max(rate_ / 4, 16384.0);
    tokens_ = std::min(tokens_, burst_);
  }
  [[nodiscard]] bool limited() const { return rate_ > 0; }

  // How many of `want` bytes may pass now; consume() what did pass.
  [[nodiscard]] size_t allowance(size_t want, Clock::time_point now = Clock::now()) {
    if (!limited()) return want;
    tokens_ = std::min(burst_, tokens_ + std::chrono::duration<double>(now - last_).count() * rate_);
    last_ = now;
    return static_cast<size_t>(std::min(tokens_, static_cast<double>(want)));
  }
  void consume(size_t n) {
    if (limited()) tokens_ -= static_cast<double>(n);
  }

 private:
  double rate_ = 0, burst_ = 0, tokens_ = 0;
  Clock::time_point last_ = Clock::now();
};

}  // namespace agentos::egress
