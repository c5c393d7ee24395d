// Names in [tools]: tool grants ("kv", "kv.get", "email.send") and the argument names that
// constraints narrow, and the glob patterns constraints use.
#pragma once

#include <string_view>

#include "common/result.h"

namespace agentos::policy {

// 1..64 characters: dot-separated parts of [a-z0-9_-], each starting with a letter or digit.
[[nodiscard]] Status check_tool_grant(std::string_view name);
// Whether the grant covers the tool: the same name, or a family ("kv" covers "kv.get").
[[nodiscard]] bool grant_covers(std::string_view grant, std::string_view tool);
// 1..64 characters of [A-Za-z0-9_].
[[nodiscard]] Status check_argument_name(std::string_view name);
// A glob: '*' matches any run of characters, '?' any one; everything else itself.
[[nodiscard]] bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace agentos::policy
