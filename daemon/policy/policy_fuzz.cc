// libFuzzer entry: parse_policy must return, without crashing or throwing, on any bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "policy/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  agentos::policy::ParseResult r = agentos::policy::parse_policy(text, "fuzz.toml");
  // The contract: a policy exactly when there are no errors.
  if (r.policy.has_value() == !r.errors.empty()) __builtin_trap();
  return 0;
}
