// Helpers shared by the policy tests.
#pragma once

#include <string>
#include <string_view>

#include "policy/policy.h"

namespace agentos::policy::test {

inline ParseResult parse(std::string_view text, std::string_view path = "test.toml") {
  return parse_policy(text, path);
}

// Every diagnostic, one per line, for failure messages.
inline std::string errors_text(const ParseResult& r) {
  std::string out;
  for (const Diagnostic& d : r.errors) out += d.str() + "\n";
  return out;
}

}  // namespace agentos::policy::test
