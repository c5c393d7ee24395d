// libFuzzer entry: parse_policy must return, without crashing or throwing, on any bytes; and a
// policy it accepts must take the edits an owner's consent answers make to its text.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "policy/policy.h"
#include "policy/policy_edit.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agentos::policy;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ParseResult r = parse_policy(text, "fuzz.toml");
  // The contract: a policy exactly when there are no errors.
  if (r.policy.has_value() == !r.errors.empty()) __builtin_trap();
  if (!r.policy) return 0;
  for (auto edit : {grant_tool, revoke_tool})
    if (auto edited = edit(text, "fuzz.toml", "kv.get"); edited && !parse_policy(*edited, "fuzz.toml").policy) __builtin_trap();
  return 0;
}
