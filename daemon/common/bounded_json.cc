#include "common/bounded_json.h"

namespace agentos {

bool nested_deeper_than(std::string_view text, size_t depth) {
  size_t level = 0;
  bool in_string = false, escaped = false;
  for (char ch : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (ch == '\\') escaped = true;
      else if (ch == '"') in_string = false;
      continue;
    }
    if (ch == '"') {
      in_string = true;
    } else if (ch == '[' || ch == '{') {
      if (++level > depth) return true;
    } else if ((ch == ']' || ch == '}') && level > 0) {
      --level;  // an unbalanced closer is the parser's to refuse
    }
  }
  return false;
}

Result<nlohmann::json, JsonError> parse_json(std::string_view text, JsonBounds bounds) {
  if (text.size() > bounds.bytes)
    return JsonError{JsonFault::kTooLarge, "a message larger than " + std::to_string(bounds.bytes) + " bytes"};
  if (nested_deeper_than(text, bounds.depth))
    return JsonError{JsonFault::kTooDeep, "JSON nested deeper than " + std::to_string(bounds.depth) + " levels"};
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return JsonError{JsonFault::kNotJson, "not JSON"};
  return j;
}

}  // namespace agentos
