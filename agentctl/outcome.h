// How agentctl commands fail, and what each failure means for the exit status.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

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

// A Result whose failure carries an exit status, not only errno.
template <typename T>
using Outcome = Result<T, Failure>;

}  // namespace agentos::ctl
