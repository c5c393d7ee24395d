// The platform's own tools and their arguments, as [tools] may name them: the one table the parser
// checks grants and constraints against, so a typo ("kv.delet", a constraint on "paht") is an error
// at its line, never a consent or a constraint silently dropped. The broker's providers are held to
// this table by a unit test. Names under a [serve] prefix belong to an MCP server and are checked
// when it lists its tools.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace agentos::policy {

struct BuiltinTool {
  std::string_view name;  // "kv.get"
  std::string_view arguments[5];  // its argument names; unused slots empty
};

[[nodiscard]] std::span<const BuiltinTool> builtin_tools();
// "kv", "fs", "http", "agent", "calendar", "email": families a [serve] prefix may not take.
[[nodiscard]] std::span<const std::string_view> platform_families();
[[nodiscard]] bool platform_family(std::string_view family);
[[nodiscard]] const BuiltinTool* builtin_tool(std::string_view name);
// The arguments a grant may constrain: the tool's own, or for a family every tool's in it.
[[nodiscard]] std::vector<std::string_view> builtin_arguments(std::string_view grant);

// Edit distance, for "did you mean": only ever run on short names.
[[nodiscard]] size_t edit_distance(std::string_view a, std::string_view b);
// The candidate nearest to `word` within `max` edits (and at most half its length), if any.
[[nodiscard]] std::optional<std::string> closest(std::string_view word, const std::vector<std::string_view>& candidates,
                                                 size_t max = 2);

}  // namespace agentos::policy
