#include "egress/http_request.h"

#include <strings.h>

#include <charconv>
#include <climits>

namespace agentos::egress {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

RequestParser* self(http_parser* p) { return static_cast<RequestParser*>(p->data); }

std::optional<uint16_t> port_of(std::string_view s) {
  unsigned v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v == 0 || v > 65535) return std::nullopt;
  return static_cast<uint16_t>(v);
}

// Headers that concern one hop only (RFC 9110 7.6.1), or the agent's dealings with the gateway.
constexpr std::string_view kHopByHop[] = {"connection", "proxy-connection", "keep-alive", "proxy-authorization",
                                          "proxy-authenticate", "te", "trailer", "upgrade"};

}  // namespace

const std::string* RequestHead::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return &v;
  return nullptr;
}

RequestParser::RequestParser() {
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
  settings_.on_url = on_url;
  settings_.on_header_field = on_field;
  settings_.on_header_value = on_value;
  settings_.on_headers_complete = on_headers_complete;
  settings_.on_message_complete = on_message_complete;
}

int RequestParser::on_url(http_parser* p, const char* at, size_t len) {
  self(p)->head_.target.append(at, len);
  return 0;
}

int RequestParser::on_field(http_parser* p, const char* at, size_t len) {
  auto* s = self(p);
  if (s->in_value_ || s->head_.headers.empty()) s->head_.headers.emplace_back();
  s->in_value_ = false;
  s->head_.headers.back().first.append(at, len);
  return 0;
}

int RequestParser::on_value(http_parser* p, const char* at, size_t len) {
  auto* s = self(p);
  s->in_value_ = true;
  s->head_.headers.back().second.append(at, len);
  return 0;
}

int RequestParser::on_headers_complete(http_parser* p) {
  auto* s = self(p);
  s->head_.method = http_method_str(static_cast<http_method>(p->method));
  http_parser_pause(p, 1);  // execute() returns here, so the head's length is known
  return 0;
}

int RequestParser::on_message_complete(http_parser* p) {
  self(p)->state_ = State::kDone;
  http_parser_pause(p, 1);
  return 0;
}

size_t RequestParser::feed(std::span<const char> data) {
  // http_parser takes zero bytes as the end of the stream, and a body cut short there as an error;
  // but nothing read is not an end here (the body often comes in a later write).
  if (state_ == State::kDone || state_ == State::kBad || data.empty()) return 0;
  size_t n = http_parser_execute(&parser_, &settings_, data.data(), data.size());
  auto err = HTTP_PARSER_ERRNO(&parser_);
  if (err != HPE_OK && err != HPE_PAUSED) {
    state_ = State::kBad;
    error_ = http_errno_description(err);
    return 0;
  }
  if (state_ == State::kHead) {
    head_bytes_ += n;
    if (err != HPE_PAUSED) {
      if (head_bytes_ > kMaxHeadBytes) {
        state_ = State::kBad;
        error_ = "request head larger than " + std::to_string(kMaxHeadBytes) + " bytes";
      }
      return n;
    }
    // Paused in on_headers_complete, just before the head's final LF. That byte is the head's,
    // and parsing it tells a body (kBody) from none (on_message_complete: kDone).
    http_parser_pause(&parser_, 0);
    state_ = State::kBody;
    size_t lf = http_parser_execute(&parser_, &settings_, data.data() + n, 1);
    err = HTTP_PARSER_ERRNO(&parser_);
    if (lf != 1 || (err != HPE_OK && err != HPE_PAUSED)) {
      state_ = State::kBad;
      error_ = err != HPE_OK ? http_errno_description(err) : "truncated head";
      return 0;
    }
    if (err == HPE_PAUSED) http_parser_pause(&parser_, 0);
    if (parser_.method == HTTP_CONNECT) state_ = State::kDone;  // what follows is the tunnel's
    return n + 1;
  }
  if (err == HPE_PAUSED) http_parser_pause(&parser_, 0);
  return n;
}

std::optional<Destination> parse_authority(std::string_view target) {
  http_parser_url u;
  http_parser_url_init(&u);
  if (http_parser_parse_url(target.data(), target.size(), 1, &u) != 0) return std::nullopt;
  auto port = port_of(target.substr(u.field_data[UF_PORT].off, u.field_data[UF_PORT].len));
  if (!port || !(u.field_set & (1 << UF_HOST))) return std::nullopt;
  return Destination{std::string(target.substr(u.field_data[UF_HOST].off, u.field_data[UF_HOST].len)), *port, ""};
}

std::optional<Destination> parse_absolute(std::string_view target, bool allow_https) {
  http_parser_url u;
  http_parser_url_init(&u);
  if (http_parser_parse_url(target.data(), target.size(), 0, &u) != 0) return std::nullopt;
  auto field = [&](int f) { return target.substr(u.field_data[f].off, u.field_data[f].len); };
  if (!(u.field_set & (1 << UF_SCHEMA)) || !(u.field_set & (1 << UF_HOST))) return std::nullopt;
  bool tls = allow_https && iequals(field(UF_SCHEMA), "https");
  if (!tls && !iequals(field(UF_SCHEMA), "http")) return std::nullopt;
  if (u.field_set & (1 << UF_USERINFO)) return std::nullopt;
  Destination d{std::string(field(UF_HOST)), static_cast<uint16_t>(tls ? 443 : 80), "/", tls};
  if (u.field_set & (1 << UF_PORT)) {
    auto port = port_of(field(UF_PORT));
    if (!port) return std::nullopt;
    d.port = *port;
  }
  if (u.field_set & (1 << UF_PATH)) d.path = std::string(field(UF_PATH));
  if (u.field_set & (1 << UF_QUERY)) d.path += "?" + std::string(field(UF_QUERY));
  return d;
}

std::string rewrite_head(const RequestHead& head, std::string_view target,
                         const std::vector<std::pair<std::string, std::string>>& replace) {
  std::string out = head.method + " " + std::string(target) + " HTTP/1.1\r\n";
  for (const auto& [k, v] : head.headers) {
    bool drop = false;
    for (auto h : kHopByHop) drop = drop || iequals(k, h);
    for (const auto& r : replace) drop = drop || iequals(k, r.first);
    if (!drop) out += k + ": " + v + "\r\n";
  }
  for (const auto& [k, v] : replace) out += k + ": " + v + "\r\n";
  out += "Connection: close\r\n\r\n";
  return out;
}

}  // namespace agentos::egress
