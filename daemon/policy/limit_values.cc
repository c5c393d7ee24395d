#include "policy/limit_values.h"

#include <charconv>
#include <string>

#include "policy/quote.h"

namespace agentos::policy {
namespace {

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::string size_text(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"", "K", "M", "G", "T"};
  int unit = 0;
  while (unit < 4 && bytes != 0 && bytes % 1024 == 0) {
    bytes /= 1024;
    ++unit;
  }
  return std::to_string(bytes) + kUnits[unit];
}

}  // namespace

Result<uint64_t> check_memory_bytes(int64_t bytes) {
  if (bytes <= 0) return error("must be positive");
  if (static_cast<uint64_t>(bytes) < kMinMemoryBytes) {
    return error(std::to_string(bytes) + " bytes is below the minimum of " +
                 size_text(kMinMemoryBytes));
  }
  return static_cast<uint64_t>(bytes);
}

Result<uint64_t> parse_size(std::string_view text) {
  std::string_view digits = text;
  unsigned shift = 0;
  if (!digits.empty()) {
    switch (digits.back()) {
      case 'K': shift = 10; break;
      case 'M': shift = 20; break;
      case 'G': shift = 30; break;
      case 'T': shift = 40; break;
      default: break;
    }
    if (shift != 0) digits.remove_suffix(1);
  }
  if (!all_digits(digits)) {
    return error(quote_text(text) +
                 " is not a size: write a whole number of bytes, optionally followed by K, M, G "
                 "or T (1024-based), e.g. \"512M\"");
  }
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  // from_chars reports overflow instead of wrapping; the shift is checked before it is made.
  if (ec != std::errc() || end != digits.data() + digits.size() ||
      (shift != 0 && n > (kMaxMemoryBytes >> shift)) || (n << shift) > kMaxMemoryBytes) {
    return error(quote_text(text) + " is too large (at most 2^63-1 bytes)");
  }
  uint64_t bytes = n << shift;
  if (bytes == 0) return error(quote_text(text) + " must be positive");
  return bytes;
}

Result<uint64_t> parse_memory(std::string_view text) {
  Result<uint64_t> bytes = parse_size(text);
  if (bytes && *bytes < kMinMemoryBytes) {
    return error(quote_text(text) + " is below the minimum of " + size_text(kMinMemoryBytes));
  }
  return bytes;
}

Result<uint32_t> parse_cpu(std::string_view text) {
  std::string_view digits = text;
  if (!digits.ends_with('%')) {
    return error(quote_text(text) + " is not a percentage of one CPU, e.g. \"50%\" or \"200%\"");
  }
  digits.remove_suffix(1);
  if (!all_digits(digits)) {
    return error(quote_text(text) +
                 " is not a whole percentage of one CPU, e.g. \"50%\" or \"200%\"");
  }
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || end != digits.data() + digits.size() || n < 1 || n > kMaxCpuPercent) {
    return error(quote_text(text) + " is out of range 1%.." + std::to_string(kMaxCpuPercent) + "%");
  }
  return static_cast<uint32_t>(n);
}

Result<uint32_t> check_pids(int64_t pids) {
  if (pids < 1 || pids > kMaxPids) {
    return error(std::to_string(pids) + " is out of range 1.." + std::to_string(kMaxPids));
  }
  return static_cast<uint32_t>(pids);
}

}  // namespace agentos::policy
