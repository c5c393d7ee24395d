// Errors that carry errno and context. Library code returns them; the edges log them once.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

namespace agentos {

// What went wrong, for an edge that must tell its caller (the API's status codes, the CLI's exit
// codes): set where the failure is understood, never guessed later from errno.
enum class ErrorKind {
  kInternal,  // the daemon or the kernel failed at something it should manage
  kInvalid,  // the request or its policy is wrong as given
  kNotFound,
  kExists,  // it is already there (a running agent of that name)
  kCannotConfine,  // this machine lacks a layer the policy needs: the agent is not started
};

struct Error {
  int err = 0;  // errno, or 0 when the failure is not a system call's
  std::string what;
  ErrorKind kind = ErrorKind::kInternal;

  [[nodiscard]] std::string str() const {
    return err ? what + ": " + std::strerror(err) : what;
  }
};

// The errno of the call that just failed, with what we were doing.
[[nodiscard]] inline Error sys_error(std::string what) { return Error{errno, std::move(what)}; }
[[nodiscard]] inline Error error(std::string what) { return Error{0, std::move(what)}; }
[[nodiscard]] inline Error error(ErrorKind kind, std::string what) { return Error{0, std::move(what), kind}; }
[[nodiscard]] inline Error with_kind(Error e, ErrorKind kind) {
  e.kind = kind;
  return e;
}

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
