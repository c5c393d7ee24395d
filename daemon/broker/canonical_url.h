// An http(s) URL in the one form the broker matches, shows and sends to the egress gateway.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace agentos::broker {

struct CanonicalUrl {
  std::string text;
  size_t path_at = 0;  // text.substr(0, path_at) is scheme://host[:port]; the rest is the path and query
};

inline constexpr size_t kMaxUrl = 8192;

// Read with libcurl's URL parser and rebuilt from its parts: scheme and host in lower case (a
// trailing dot dropped), the port only when it is not the scheme's default, dot segments removed,
// percent-encoding normalised (RFC 3986 6.2.2), the fragment dropped. Refused: other schemes, a
// user or password, zone ids, port 0, hosts that are not ASCII names or IP literals, and paths with
// encoded dot segments, encoded slashes or backslashes (servers disagree on what those mean). The
// result is parsed again as the gateway parses it (http_parser), and refused unless both agree.
[[nodiscard]] Result<CanonicalUrl> canonical_url(std::string_view url);

// A URL constraint's pattern, or a canonical URL, split where its path begins: "https://h:1" and
// "/p?q". A pattern without a path allows any ("*").
struct UrlParts {
  std::string_view origin, rest;
};
[[nodiscard]] UrlParts split_url(std::string_view url_or_pattern);

}  // namespace agentos::broker
