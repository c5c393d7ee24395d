#include "policy/quote.h"

#include <cstdio>

namespace agentos::policy {
namespace {

constexpr size_t kMaxQuoted = 100;

// Length of the valid UTF-8 sequence at the start of `s`, or 0 if there is none. Valid as RFC
// 3629 and protobuf have it: no overlong forms, no surrogates, nothing past U+10FFFF (a string
// field protobuf finds invalid makes the whole message unreadable).
size_t utf8_length(std::string_view s) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char lead = byte(0);
  size_t n = lead >= 0xF0 && lead <= 0xF4 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC2 ? 2 : 0;
  if (lead >= 0xF5 || n == 0 || s.size() < n) return 0;
  for (size_t i = 1; i < n; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return 0;
  }
  if ((lead == 0xE0 && byte(1) < 0xA0) || (lead == 0xED && byte(1) >= 0xA0) || (lead == 0xF0 && byte(1) < 0x90) ||
      (lead == 0xF4 && byte(1) >= 0x90))
    return 0;
  // C1 controls (U+0080..U+009F) act on some terminals as escape sequences do.
  if (lead == 0xC2 && byte(1) < 0xA0) return 0;
  return n;
}

void append_hex(std::string& out, unsigned char c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02x", c);
  out += buf;
}

void append_escaped(std::string& out, std::string_view s, bool escape_quotes) {
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      size_t n = utf8_length(s.substr(i));
      if (n == 0) {
        append_hex(out, c);
        ++i;
      } else {
        out.append(s.substr(i, n));
        i += n;
      }
      continue;
    }
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (escape_quotes && (c == '"' || c == '\\')) {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      append_hex(out, c);
    } else {
      out += static_cast<char>(c);
    }
    ++i;
  }
}

}  // namespace

std::string quote_text(std::string_view s) {
  bool cut = s.size() > kMaxQuoted;
  if (cut) {
    size_t n = kMaxQuoted;
    // Back up to a UTF-8 lead byte so the cut never splits a character.
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    s = s.substr(0, n);
  }
  std::string out = "\"";
  append_escaped(out, s, true);
  out += cut ? "...\"" : "\"";
  return out;
}

std::string escape_text(std::string_view s) {
  std::string out;
  append_escaped(out, s, false);
  return out;
}

}  // namespace agentos::policy
