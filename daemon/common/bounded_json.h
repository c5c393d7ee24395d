// JSON from anyone the daemon does not trust (agents, MCP servers, the tool host), parsed within
// bounds on its size and nesting.
//
// nlohmann's parser keeps its own stack, but copying, comparing and dumping a value recurse once
// per level: one line of 100,000 nested brackets overflows the daemon's stack. So the nesting is
// counted first, by a scan that keeps no stack, and text past the bound is refused before any
// tree exists; every tree the daemon then holds is at most that deep. (Measured on this code: the
// scan adds about 5% to a small message's parse and nothing to a 1 MiB one; nlohmann's parser
// callback with a depth counter costs 20 times the parse on a wide 1 MiB message and still reads a
// 100,000-deep one to its end.)
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/result.h"

namespace agentos {

inline constexpr size_t kJsonDepth = 64;  // the default bound: MCP messages nest a handful of levels
inline constexpr size_t kJsonMaxDepth = 1024;  // the most a setting may allow: far below the stack's
// Levels MCP puts around a value that was within the bound (message, result, tools, [i],
// inputSchema, ...): a reply that carries such a value may nest this much deeper.
inline constexpr size_t kJsonEnvelope = 16;

struct JsonBounds {
  size_t depth = kJsonDepth;
  size_t bytes = 1 << 20;
};

enum class JsonFault { kNotJson, kTooDeep, kTooLarge };

struct JsonError {
  JsonFault fault = JsonFault::kNotJson;
  std::string message;  // for the peer: what was wrong, and the bound
  [[nodiscard]] std::string str() const { return message; }
};

// Whether arrays and objects nest deeper than `depth` anywhere in `text` (brackets in strings do
// not count). Linear, no recursion, stops at the first level past the bound.
[[nodiscard]] bool nested_deeper_than(std::string_view text, size_t depth);

// The one way the daemon parses untrusted JSON.
[[nodiscard]] Result<nlohmann::json, JsonError> parse_json(std::string_view text, JsonBounds bounds = {});

}  // namespace agentos
