#include "broker/canonical_url.h"

#include <http_parser.h>

#include <charconv>
#include <optional>

#include "common/url.h"

namespace agentos::broker {
namespace {

bool unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
         c == '~';
}

// Left as they are (RFC 3986 pchar, plus '/' and, in a query, '?'); every other byte is encoded.
bool literal(unsigned char c, bool query) {
  return unreserved(c) || std::string_view("!$&'()*+,;=:@/").find(static_cast<char>(c)) != std::string_view::npos ||
         (query && c == '?');
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_escape(std::string& out, unsigned char c) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out += '%';
  out += kHex[c >> 4];
  out += kHex[c & 15];
}

// One encoding for each text: unreserved characters decoded, everything else escaped in upper case.
Result<std::string> normalise_encoding(std::string_view s, bool query) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '%') {
      int hi = i + 2 < s.size() ? hex_value(s[i + 1]) : -1, lo = i + 2 < s.size() ? hex_value(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) return error("a '%' starts no escape");
      auto v = static_cast<unsigned char>(hi * 16 + lo);
      if (unreserved(v)) out += static_cast<char>(v);
      else append_escape(out, v);
      i += 2;
    } else if (c == '\\' && !query) {
      return error("a backslash in the path is refused");
    } else if (literal(c, query)) {
      out += static_cast<char>(c);
    } else {
      append_escape(out, c);
    }
  }
  return out;
}

// After decoding, a segment that reads as "." or ".." (or "..;x", which some servers take for
// "..") would move the path somewhere the constraint did not see.
Status check_segments(std::string_view path) {
  if (path.find("%2F") != std::string_view::npos || path.find("%5C") != std::string_view::npos)
    return error("an encoded / or \\ in the path is refused");
  for (size_t at = 0; at <= path.size();) {
    size_t end = std::min(path.find('/', at), path.size());
    std::string_view seg = path.substr(at, end - at);
    seg = seg.substr(0, seg.find(';'));
    if (seg == "." || seg == "..") return error("a dot segment in the path is refused");
    at = end + 1;
  }
  return {};
}

bool name_host(std::string_view h) {
  if (h.empty() || h.size() > 253 || h.front() == '.' || h.front() == '-' || h.find("..") != std::string_view::npos)
    return false;
  for (char c : h)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_')) return false;
  return true;
}

bool ipv6_literal(std::string_view h) {
  if (h.size() < 3 || h.front() != '[' || h.back() != ']') return false;
  for (char c : h.substr(1, h.size() - 2))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == ':' || c == '.')) return false;
  return true;
}

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// What the gateway reads from the request line: the same host, port and path, or a refusal.
Status gateway_agrees(const std::string& text, std::string_view host, std::string_view port, size_t path_at) {
  http_parser_url u;
  http_parser_url_init(&u);
  if (http_parser_parse_url(text.data(), text.size(), 0, &u) != 0) return error("the egress gateway could not read it");
  auto field = [&](int f) -> std::optional<std::string_view> {
    if (!(u.field_set & (1 << f))) return std::nullopt;
    return std::string_view(text).substr(u.field_data[f].off, u.field_data[f].len);
  };
  std::string_view bare = host.front() == '[' ? host.substr(1, host.size() - 2) : host;
  bool same = field(UF_HOST) == bare && !field(UF_USERINFO) && field(UF_PORT).value_or("") == port &&
              field(UF_PATH) && u.field_data[UF_PATH].off == path_at;
  if (!same) return error("the egress gateway would read it differently");
  return {};
}

Result<CanonicalUrl> rebuild(std::string_view url) {
  if (url.size() > kMaxUrl) return error("longer than " + std::to_string(kMaxUrl) + " bytes");
  auto parsed = parse_url(url, DotSegments::kRemoved);
  if (!parsed) return error("not a URL (scheme://host/path): " + parsed.error().str());
  const std::string& scheme = parsed->scheme;
  if (scheme != "http" && scheme != "https") return error("only http:// and https:// URLs are fetched");
  if (parsed->user_info) return error("a user or password before the host is refused");
  if (parsed->zone_id) return error("an IPv6 zone id is refused");
  std::string host = lower(parsed->host);
  if (host.ends_with('.') && !host.starts_with('[')) host.pop_back();
  if (!name_host(host) && !ipv6_literal(host)) return error("the host must be an ASCII name (xn-- for others) or an IP address");
  std::string port = parsed->port.value_or("");
  if (!port.empty()) {
    unsigned n = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
    if (ec != std::errc() || end != port.data() + port.size() || n == 0 || n > 65535) return error("port " + port + " is not 1..65535");
    port = std::to_string(n);
    if ((scheme == "http" && n == 80) || (scheme == "https" && n == 443)) port.clear();
  }
  auto path = normalise_encoding(parsed->path, false);
  if (!path) return path.error();
  if (auto s = check_segments(*path); !s) return s.error();
  CanonicalUrl out;
  out.text = scheme + "://" + host + (port.empty() ? "" : ":" + port);
  out.path_at = out.text.size();
  out.text += path->empty() ? "/" : *path;
  if (const auto& q = parsed->query; q && !q->empty()) {
    auto query = normalise_encoding(*q, true);
    if (!query) return query.error();
    out.text += "?" + *query;
  }
  if (auto s = gateway_agrees(out.text, host, port, out.path_at); !s) return s.error();
  return out;
}

}  // namespace

Result<CanonicalUrl> canonical_url(std::string_view url) {
  auto once = rebuild(url);
  if (!once) return once;
  // Rebuilt, a URL must read as itself: "http://25./" names the host "25.", but written without
  // its dot curl reads "25" as the address 0.0.0.25.
  auto again = rebuild(once->text);
  if (!again || again->text != once->text) return error("its host reads as another once rebuilt (a number with a trailing dot?)");
  return once;
}

UrlParts split_url(std::string_view s) {
  size_t scheme_end = s.find("://");
  size_t slash = s.find('/', scheme_end == std::string_view::npos ? 0 : scheme_end + 3);
  if (slash == std::string_view::npos) return {s, "*"};
  return {s.substr(0, slash), s.substr(slash)};
}

}  // namespace agentos::broker#include "common/url.h"

