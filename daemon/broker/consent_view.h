// What the owner sees of a call that waits for consent: every argument by name; small values and
// paths, URLs and recipients in full; large values as a marked prefix with their size and
// sha256. Nothing in a value can hide or reorder text on a terminal: control characters and
// Unicode's invisible and bidirectional characters are shown as escapes (\u202e).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "broker/arguments.h"
#include "broker/jsonrpc.h"
#include "common/result.h"

namespace agentos::broker {

struct ShownArgument {
  std::string name;  // the name, or a JSON string literal of it when it is not plain [A-Za-z0-9_.-]
  std::string shown;  // the value as JSON (a string in quotes), escaped; a prefix when `cut`
  uint64_t size = 0;  // bytes the tool gets: a string's UTF-8, otherwise the value's JSON text
  std::string sha256;  // hex, of those bytes
  bool cut = false;
};

inline constexpr size_t kShowWhole = 512;  // values up to this many bytes are shown whole
inline constexpr size_t kShowPrefix = 200;  // of longer ones, this many
inline constexpr size_t kMaxShownArguments = 256;

// The call as the owner is shown it, or why it cannot be shown faithfully (too many arguments, or
// too large for the API to carry whole, with its full JSON, in one frame): then it is refused.
[[nodiscard]] Result<std::vector<ShownArgument>> show_arguments(const Json& args, const ArgRules& rules,
                                                                size_t json_size);

// JSON text with Unicode's format, separator and invisible characters escaped as \uXXXX (JSON
// escapes, so the text stays valid JSON). `json` is valid UTF-8, as Json::dump writes it.
[[nodiscard]] std::string escape_invisible(std::string_view json);

[[nodiscard]] std::string sha256_hex(std::string_view bytes);

}  // namespace agentos::broker
