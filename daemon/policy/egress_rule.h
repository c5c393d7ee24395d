// The values of [egress]: destination grants, route paths, upstream URLs, header templates and
// secret names. Each check refuses anything ambiguous, since these decide where data may go.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "policy/policy.h"

namespace agentos::policy {

// Each secret travels to the gateway as a descriptor; this bounds how many one message carries.
inline constexpr size_t kMaxSecretsPerAgent = 32;

// "api.openai.com:443", "*.wikipedia.org:443", "10.20.0.0/16:5432", "[2001:db8::1]:443". The
// port is required; names are lower-cased DNS names; "*." only as the whole first label.
[[nodiscard]] Result<EgressGrant> parse_egress_grant(std::string_view text);

// A DNS name as a grant or upstream may name it: 1..253 bytes of labels [a-z0-9-] (upper case
// folded), 1..63 each, not starting or ending with '-'. Returns it lower-cased.
[[nodiscard]] Result<std::string> parse_dns_name(std::string_view text);

// "/openai": '/' then segments of [A-Za-z0-9._~-], none "." or "..", no trailing '/'.
[[nodiscard]] Status check_route_path(std::string_view path);

// "https://api.openai.com", "http://10.0.0.5:8080/v1": scheme, host, optional port and path;
// fills tls, host, port and base_path of `route`.
[[nodiscard]] Status parse_upstream(std::string_view url, EgressRoute& route);

// "Authorization: Bearer {secret:openai}": a header name (an HTTP token) and a value without
// control characters, whose {secret:NAME} placeholders are appended to `secrets`.
[[nodiscard]] Result<std::pair<std::string, std::string>> parse_header_template(std::string_view text,
                                                                              std::vector<std::string>& secrets);

// 1..64 characters of [A-Za-z0-9_.-], not starting with '.': a secret's name is a file name.
[[nodiscard]] Status check_secret_name(std::string_view name);

// The header value with every {secret:NAME} replaced by lookup(NAME).
template <typename Lookup>
[[nodiscard]] std::string fill_secrets(std::string_view value, Lookup lookup) {
  std::string out;
  for (size_t i = 0; i < value.size();) {
    size_t open = value.find("{secret:", i);
    size_t close = open == std::string_view::npos ? open : value.find('}', open);
    if (close == std::string_view::npos) {
      out.append(value.substr(i));
      break;
    }
    out.append(value.substr(i, open - i));
    out.append(lookup(std::string(value.substr(open + 8, close - open - 8))));
    i = close + 1;
  }
  return out;
}

}  // namespace agentos::policy
