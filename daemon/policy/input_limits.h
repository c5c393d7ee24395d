// Bounds on untrusted policy text, checked before toml++ sees it.
//
// Size: a policy is a page or two; a cap keeps a stray multi-gigabyte file from being read into
// the daemon.
//
// Structure: toml++ caps nested arrays and inline tables (256) but not dotted keys: a header such
// as [a.a.a.a...] with ~100k parts recurses deep enough, in the parser and in the table
// destructors, to overflow the stack. A policy needs a few dozen tables, arrays and dotted-key
// parts, so we count them outside strings and comments and refuse the document past a limit far
// below any depth that matters for the stack.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace agentos::policy {

inline constexpr size_t kMaxPolicyBytes = 1 << 20;
inline constexpr size_t kMaxStructure = 1024;
// A policy with more errors than this is not worth reading to the end; the rest are counted.
inline constexpr size_t kMaxErrors = 100;

struct TextPosition {
  uint32_t line = 0;
  uint32_t column = 0;
};

// Where the (limit+1)th '[', '{' or '.' outside strings and comments sits, or nullopt when there
// are no more than `limit`. Every table or array toml++ builds needs one of those characters, so
// the count bounds the tree's depth.
[[nodiscard]] std::optional<TextPosition> find_structure_excess(std::string_view text,
                                                                size_t limit = kMaxStructure);

}  // namespace agentos::policy
