#include "common/url.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>

namespace agentos {

Result<Url> parse_url(std::string_view text, DotSegments dots) {
  if (text.find('\0') != std::string_view::npos) return error("holds a NUL byte");
  std::unique_ptr<CURLU, void (*)(CURLU*)> u(curl_url(), curl_url_cleanup);
  if (!u) return error("out of memory");
  unsigned flags = CURLU_NON_SUPPORT_SCHEME | (dots == DotSegments::kAsWritten ? CURLU_PATH_AS_IS : 0);
  CURLUcode rc = curl_url_set(u.get(), CURLUPART_URL, std::string(text).c_str(), flags);
  // curl reads "https:///x" as https://x/: a host-less URL is a mistake, not that.
  if (size_t sep = text.find("://"); rc == CURLUE_NO_HOST || (sep != std::string_view::npos && text.substr(sep + 3).starts_with('/')))
    return error("has no host");
  if (rc == CURLUE_BAD_PORT_NUMBER) return error("has a port out of range (1..65535)");
  if (rc != CURLUE_OK) return error(std::string("is not a URL (scheme://host/path): ") + curl_url_strerror(rc));
  auto part = [&](CURLUPart p) -> std::optional<std::string> {
    char* v = nullptr;
    if (curl_url_get(u.get(), p, &v, 0) != CURLUE_OK || !v) return std::nullopt;
    std::string s = v;
    curl_free(v);
    return s;
  };
  Url url;
  url.scheme = part(CURLUPART_SCHEME).value_or("");
  std::transform(url.scheme.begin(), url.scheme.end(), url.scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  url.host = part(CURLUPART_HOST).value_or("");
  if (url.host.empty()) return error("has no host");
  url.port = part(CURLUPART_PORT);
  url.path = part(CURLUPART_PATH).value_or("/");
  url.query = part(CURLUPART_QUERY);
  url.fragment = part(CURLUPART_FRAGMENT);
  url.user_info = part(CURLUPART_USER) || part(CURLUPART_PASSWORD) || part(CURLUPART_OPTIONS);
  url.zone_id = part(CURLUPART_ZONEID).has_value();
  return url;
}

}  // namespace agentos
