#include "egress/route.h"

#include <algorithm>
#include <cctype>

namespace agentos::egress {
namespace {

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

// Why `rest` (what follows the route's path: empty, or "/" and more) could resolve outside the
// base path at some upstream; empty if it cannot.
std::string escape_of(std::string_view rest) {
  for (size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == '\\') return "a backslash";
    if (rest[i] != '%') continue;
    if (i + 2 >= rest.size() || !std::isxdigit(static_cast<unsigned char>(rest[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(rest[i + 2])))
      return "a malformed percent-encoding";
    auto hex = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (c | 0x20) - 'a' + 10; };
    char decoded = static_cast<char>(hex(rest[i + 1]) * 16 + hex(rest[i + 2]));
    if (decoded == '/' || decoded == '.' || decoded == '\\')
      return "an encoded '" + std::string(1, decoded) + "' (" + std::string(rest.substr(i, 3)) + ")";
  }
  // Segment by segment; some servers drop ";parameters" before resolving ("..;" is "..").
  for (size_t start = 1; start <= rest.size();) {
    size_t end = std::min(rest.find('/', start), rest.size());
    std::string_view segment = rest.substr(start, end - start);
    segment = segment.substr(0, segment.find(';'));
    if (segment == "." || segment == "..") return "a dot segment (\"" + std::string(segment) + "\")";
    if (segment.empty() && end < rest.size()) return "an empty segment (\"//\")";
    start = end + 1;
  }
  return {};
}

}  // namespace

const policy::EgressRoute* route_for(const policy::Egress& e, std::string_view target) {
  const policy::EgressRoute* best = nullptr;
  std::string_view path = path_of(target);
  for (const auto& r : e.routes) {
    bool match = path == r.path || (path.starts_with(r.path) && path[r.path.size()] == '/');
    if (match && (!best || r.path.size() > best->path.size())) best = &r;
  }
  return best;
}

Result<std::string> upstream_target(const policy::EgressRoute& r, std::string_view target) {
  std::string_view rest = target.substr(r.path.size());
  if (std::string why = escape_of(path_of(rest)); !why.empty())
    return error("the path after " + r.path + " holds " + why + ", which could leave the route's upstream path");
  std::string out = r.base_path + std::string(rest);
  if (!out.starts_with('/')) out.insert(0, "/");
  return out;
}

}  // namespace agentos::egress
