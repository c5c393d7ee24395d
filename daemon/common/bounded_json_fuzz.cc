// libFuzzer entry: parse_json must return on any bytes, and what it accepts is within its bound.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/bounded_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = agentos::parse_json(text, {.depth = 8, .bytes = 1 << 16});
  if (parsed && agentos::nested_deeper_than(parsed->dump(), 8)) __builtin_trap();
  return 0;
}
