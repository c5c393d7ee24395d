// The one reading of a URL in agentos: libcurl's parser (CURLU), which the tool host also sends
// with. Policies' upstreams and accounts, the broker's http.fetch and the tool host all split a URL
// here, so no two parts disagree on where its host ends.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace agentos {

struct Url {
  std::string scheme;  // lower case
  std::string host;  // as written; an IPv6 literal in brackets
  std::optional<std::string> port;  // the digits written after the host, if any
  std::string path;  // "/" when none is written; dot segments as written, unless removed
  std::optional<std::string> query, fragment;  // without '?' and '#'
  bool user_info = false;  // a user, password or login options before the host
  bool zone_id = false;  // an IPv6 literal with a zone id
};

enum class DotSegments { kAsWritten, kRemoved /* RFC 3986 5.2.4, as curl sends */ };

// `text` must be an absolute URL with a host; any scheme is read (the caller says which it takes).
[[nodiscard]] Result<Url> parse_url(std::string_view text, DotSegments dots = DotSegments::kAsWritten);

}  // namespace agentos
