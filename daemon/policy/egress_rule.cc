#include "policy/egress_rule.h"

#include <sys/socket.h>

#include <charconv>

#include "common/url.h"
#include "policy/net_rule.h"
#include "policy/quote.h"

namespace agentos::policy {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

Result<uint16_t> parse_port(std::string_view port, const std::string& what) {
  if (port.empty() || port.size() > 5) return error(what + ": port " + quote_text(port) + " is not a number 1..65535");
  for (char c : port)
    if (!is_digit(c)) return error(what + ": port " + quote_text(port) + " is not a number 1..65535");
  uint32_t v = 0;
  std::from_chars(port.data(), port.data() + port.size(), v);
  if (v == 0 || v > 65535) return error(what + ": port " + std::string(port) + " is out of range 1..65535");
  return static_cast<uint16_t>(v);
}

// An address or range is written as the network rules write theirs, without the scheme.
bool looks_like_address(std::string_view host) {
  if (host.starts_with('[') || host.find(':') != std::string_view::npos) return true;
  for (char c : host)
    if (!is_digit(c) && c != '.' && c != '/') return false;
  return !host.empty();
}

}  // namespace

Result<std::string> parse_dns_name(std::string_view text) {
  const std::string what = quote_text(text);
  if (text.empty() || text.size() > 253) return error(what + " is not a DNS name (1..253 characters)");
  std::string name;
  size_t label = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '.') {
      std::string_view l = text.substr(label, i - label);
      if (l.empty()) return error(what + " has an empty label");
      if (l.size() > 63) return error(what + " has a label longer than 63 characters");
      if (l.front() == '-' || l.back() == '-') return error(what + ": a label may not start or end with '-'");
      label = i + 1;
    } else if (!is_alnum(text[i]) && text[i] != '-') {
      return error(what + " is not a DNS name: " + quote_text(text.substr(i, 1)) + " is not a letter, digit, '-' or '.'");
    }
    if (i < text.size()) name += static_cast<char>(text[i] >= 'A' && text[i] <= 'Z' ? text[i] - 'A' + 'a' : text[i]);
  }
  // All-numeric names would read as addresses to some resolvers and to people.
  if (looks_like_address(name)) return error(what + " is an address, not a name");
  return name;
}

Result<EgressGrant> parse_egress_grant(std::string_view text) {
  EgressGrant g;
  g.text = std::string(text);
  const std::string what = quote_text(text);
  size_t colon = text.rfind(':');
  size_t bracket = text.rfind(']');
  if (colon == std::string_view::npos || (bracket != std::string_view::npos && colon < bracket))
    return error(what + " has no port: write \"NAME:PORT\", \"*.NAME:PORT\" or \"ADDRESS[/PREFIX]:PORT\"");
  std::string_view host = text.substr(0, colon);
  if (looks_like_address(host)) {
    Result<NetRule> r = parse_net_rule("tcp://" + std::string(text));
    if (!r) return error(what + " is not an address or range with a port (" + r.error().what + ")");
    g.range = std::move(*r);
    g.port = g.range->port;
    return g;
  }
  Result<uint16_t> port = parse_port(text.substr(colon + 1), what);
  if (!port) return port.error();
  g.port = *port;
  if (host.starts_with("*.")) {
    g.subdomains = true;
    host.remove_prefix(2);
  }
  if (host.find('*') != std::string_view::npos)
    return error(what + ": '*' may only be the whole first label, as in \"*.example.com:443\"");
  Result<std::string> name = parse_dns_name(host);
  if (!name) return error(what + ": " + name.error().what);
  g.name = std::move(*name);
  return g;
}

Status check_route_path(std::string_view path) {
  const std::string what = quote_text(path);
  if (!path.starts_with('/') || path.size() < 2) return error(what + " must start with '/' and name at least one segment");
  if (path.size() > 256) return error(what + " is longer than 256 characters");
  if (path.ends_with('/')) return error(what + " ends with '/'");
  size_t seg = 1;
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      std::string_view s = path.substr(seg, i - seg);
      if (s.empty() || s == "." || s == "..") return error(what + " has an empty, \".\" or \"..\" segment");
      seg = i + 1;
    } else if (!is_alnum(path[i]) && std::string_view("._~-").find(path[i]) == std::string_view::npos) {
      return error(what + ": " + quote_text(path.substr(i, 1)) + " is not allowed in a route path");
    }
  }
  return {};
}

Status parse_upstream(std::string_view url, EgressRoute& route) {
  const std::string what = quote_text(url);
  auto parsed = parse_url(url);
  if (!parsed) return error(what + " " + parsed.error().str());
  if (parsed->scheme != "https" && parsed->scheme != "http")
    return error(what + " does not start with \"https://\" or \"http://\"");
  route.tls = parsed->scheme == "https";
  route.port = route.tls ? 443 : 80;
  if (parsed->user_info) return error(what + ": credentials belong in a header, not the URL");
  if (parsed->query || parsed->fragment) return error(what + ": an upstream has no query or fragment");
  if (parsed->zone_id) return error(what + ": an IPv6 zone id is refused");
  if (parsed->port) {
    Result<uint16_t> port = parse_port(*parsed->port, what);
    if (!port) return port.error();
    route.port = *port;
  }
  std::string_view host = parsed->host;
  std::string_view path = parsed->path;
  if (looks_like_address(host)) {
    Result<NetRule> r = parse_net_rule("tcp://" + std::string(host) + ":1");
    if (!r || r->prefix_len != (r->family == AF_INET ? 32 : 128)) return error(what + ": " + quote_text(host) + " is not a host");
    route.host = host.starts_with('[') ? std::string(host.substr(1, host.size() - 2)) : std::string(host);
  } else {
    Result<std::string> name = parse_dns_name(host);
    if (!name) return error(what + ": " + name.error().what);
    route.host = std::move(*name);
  }
  if (path == "/") path = "";
  if (!path.empty())
    if (Status s = check_route_path(path); !s) return error(what + ": its path " + s.error().what);
  route.base_path = std::string(path);
  return {};
}

Result<std::pair<std::string, std::string>> parse_header_template(std::string_view text,
                                                                  std::vector<std::string>& secrets) {
  const std::string what = quote_text(text);
  size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) return error(what + " is not \"Name: value\"");
  std::string_view name = text.substr(0, colon);
  for (char c : name)
    if (!is_alnum(c) && std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos)
      return error(what + ": the header name " + quote_text(name) + " is not an HTTP token");
  std::string_view value = text.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  for (char c : value)
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f)
      return error(what + ": the header value contains a control character");
  for (size_t i = 0; (i = value.find('{', i)) != std::string_view::npos;) {
    size_t close = value.find('}', i);
    std::string_view inner = value.substr(i + 1, close == std::string_view::npos ? close : close - i - 1);
    if (close == std::string_view::npos || !inner.starts_with("secret:"))
      return error(what + ": '{' only opens a placeholder such as {secret:NAME}");
    inner.remove_prefix(7);
    if (Status s = check_secret_name(inner); !s) return error(what + ": " + s.error().what);
    secrets.emplace_back(inner);
    i = close + 1;
  }
  return std::pair{std::string(name), std::string(value)};
}

Status check_secret_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || name.front() == '.')
    return error("secret name " + quote_text(name) + " must be 1..64 characters of [A-Za-z0-9_.-], not starting with '.'");
  for (char c : name)
    if (!is_alnum(c) && c != '_' && c != '.' && c != '-')
      return error("secret name " + quote_text(name) + " must be 1..64 characters of [A-Za-z0-9_.-], not starting with '.'");
  return {};
}

}  // namespace agentos::policy
