// Errors that carry errno and context. Library code returns them; the edges log them once.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

namespace agentos {

struct Error {
  int err = 0;  // errno, or 0 when the failure is not a system call's
  std::string what;

  [[nodiscard]] std::string str() const {
    return err ? what + ": " + std::strerror(err) : what;
  }
};

// The errno of the call that just failed, with what we were doing.
[[nodiscard]] inline Error sys_error(std::string what) { return Error{errno, std::move(what)}; }
[[nodiscard]] inline Error error(std::string what) { return Error{0, std::move(what)}; }

// E is the failure type: Error for library code; the CLI uses its own, which carries an exit code.
template <typename T, typename E = Error>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(E e) : v_(std::move(e)) {}

  [[nodiscard]] bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& value() const& { return std::get<0>(v_); }
  T* operator->() { return &value(); }
  T& operator*() { return value(); }
  [[nodiscard]] const E& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, E> v_;
};

template <typename E>
class [[nodiscard]] Result<void, E> {
 public:
  Result() = default;
  Result(E e) : e_(std::move(e)), failed_(true) {}
  [[nodiscard]] bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  [[nodiscard]] const E& error() const { return e_; }

 private:
  E e_;
  bool failed_ = false;
};

using Status = Result<void>;

}  // namespace agentos
