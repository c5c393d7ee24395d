#include "broker/consent_view.h"

#include <openssl/evp.h>

#include <cstdio>
#include <utility>

#include "common/framing.h"

namespace agentos::broker {
namespace {

constexpr size_t kMaxShownName = 256;

// Characters a terminal draws as nothing, as a space that is not one, or that reorder or
// recolour the text around them: C1 controls (and DEL), Unicode's format characters (bidi
// embeddings, overrides and isolates, zero-width ones, tags, variation selectors), separators,
// and fillers that render blank.
bool invisible(char32_t c) {
  static constexpr std::pair<char32_t, char32_t> kRanges[] = {
      {0x7F, 0xA0},       {0xAD, 0xAD},       {0x34F, 0x34F},     {0x61C, 0x61C},     {0x115F, 0x1160},
      {0x1680, 0x1680},   {0x17B4, 0x17B5},   {0x180B, 0x180F},   {0x2000, 0x200F},   {0x2028, 0x202F},
      {0x205F, 0x206F},   {0x3000, 0x3000},   {0x3164, 0x3164},   {0xFE00, 0xFE0F},   {0xFEFF, 0xFEFF},
      {0xFFA0, 0xFFA0},   {0xFFF9, 0xFFFB},   {0xFFFE, 0xFFFF},   {0x1BCA0, 0x1BCA3}, {0x1D173, 0x1D17A},
      {0xE0000, 0xE007F}, {0xE0100, 0xE01EF},
  };
  for (auto [lo, hi] : kRanges)
    if (c >= lo && c <= hi) return true;
  return false;
}

void append_u(std::string& out, unsigned v) {  // v < 0x10000
  char buf[16];
  std::snprintf(buf, sizeof buf, "\\u%04x", v);
  out += buf;
}

// The longest prefix of at most `n` bytes that ends on a character boundary.
std::string_view utf8_prefix(std::string_view s, size_t n) {
  if (s.size() <= n) return s;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

std::string json_text(const Json& v) { return v.dump(-1, ' ', false, Json::error_handler_t::replace); }

bool plain_name(std::string_view s) {
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
      return false;
  return !s.empty();
}

}  // namespace

std::string escape_invisible(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    auto b = static_cast<unsigned char>(s[i]);
    size_t len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > s.size()) {  // not UTF-8 after all: shown as the replacement it is
      append_u(out, 0xFFFD);
      ++i;
      continue;
    }
    char32_t c = len == 1 ? b : b & (0x7F >> len);
    for (size_t k = 1; k < len; ++k) c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    if (!invisible(c)) {
      out.append(s.substr(i, len));
    } else if (c < 0x10000) {
      append_u(out, c);
    } else {  // as JSON writes it: a surrogate pair
      append_u(out, 0xD800 + ((c - 0x10000) >> 10));
      append_u(out, 0xDC00 + ((c - 0x10000) & 0x3FF));
    }
    i += len;
  }
  return out;
}

std::string sha256_hex(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned i = 0; i < len; ++i) {
    char b[3];
    std::snprintf(b, sizeof b, "%02x", md[i]);
    hex += b;
  }
  return hex;
}

Result<std::vector<ShownArgument>> show_arguments(const Json& args, const ArgRules& rules, size_t json_size) {
  if (args.size() > kMaxShownArguments)
    return error(std::to_string(args.size()) + " arguments are more than consent shows (" +
                 std::to_string(kMaxShownArguments) + ")");
  std::vector<ShownArgument> out;
  size_t footprint = json_size;
  for (const auto& [name, v] : args.items()) {
    if (name.size() > kMaxShownName)
      return error("an argument name is longer than consent shows (" + std::to_string(kMaxShownName) + " bytes)");
    ShownArgument a;
    a.name = plain_name(name) ? name : escape_invisible(json_text(Json(name)));
    std::string bytes = v.is_string() ? v.get<std::string>() : json_text(v);
    a.size = bytes.size();
    a.sha256 = sha256_hex(bytes);
    // Paths, URLs and recipients say where a call acts: never cut (their own limits bound them).
    if (bytes.size() <= kShowWhole || rule_of(rules, name).kind != ArgKind::kText) {
      a.shown = escape_invisible(json_text(v));
    } else {
      std::string_view prefix = utf8_prefix(bytes, kShowPrefix);
      a.shown = escape_invisible(v.is_string() ? json_text(Json(std::string(prefix))) : std::string(prefix));
      a.cut = true;
    }
    footprint += a.name.size() + a.shown.size() + a.sha256.size() + 32;
    out.push_back(std::move(a));
  }
  // The whole call travels to agentctl in one API frame, its full arguments with it.
  if (footprint + 4096 > kMaxFrame)
    return error("its arguments (" + std::to_string(json_size) + " bytes as JSON) are larger than consent can show whole (" +
                 std::to_string((kMaxFrame - 4096) / 1024) + " KiB with their view)");
  return out;
}

}  // namespace agentos::broker
