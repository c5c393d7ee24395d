// How agentctl commands fail, and what each failure means for the exit status.
#pragma once

#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace agentos::ctl {

// Exit statuses (docs/agentctl.md, "EXIT STATUS"); scripts rely on them.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitUnreachable = 3;

// A failure that main reports once: the diagnostics one per line, then "agentctl: <message>".
struct Failure {
  int exit_code = kExitFailed;
  std::string message;
  std::vector<std::string> diagnostics;
};

[[nodiscard]] inline Failure failed(std::string message) {
  return Failure{kExitFailed, std::move(message), {}};
}
[[nodiscard]] inline Failure usage_error(std::string message) {
  return Failure{kExitUsage, std::move(message), {}};
}

// agentos::Result, but carrying a Failure: the CLI needs an exit status, not only errno.
template <typename T>
class [[nodiscard]] Outcome {
 public:
  Outcome(T value) : v_(std::move(value)) {}
  Outcome(Failure f) : v_(std::move(f)) {}

  [[nodiscard]] bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& value() const& { return std::get<0>(v_); }
  T* operator->() { return &value(); }
  T& operator*() { return value(); }
  [[nodiscard]] const Failure& failure() const { return std::get<1>(v_); }

 private:
  std::variant<T, Failure> v_;
};

template <>
class [[nodiscard]] Outcome<void> {
 public:
  Outcome() = default;
  Outcome(Failure f) : f_(std::move(f)), failed_(true) {}
  [[nodiscard]] bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  [[nodiscard]] const Failure& failure() const { return f_; }

 private:
  Failure f_;
  bool failed_ = false;
};

}  // namespace agentos::ctl
