#include "policy/paths.h"

#include <limits.h>

#include "policy/quote.h"

namespace agentos::policy {
namespace {

struct Refused {
  std::string_view root;
  std::string_view why;
};

// Host trees never granted: the sandbox builds its own /proc and /dev (the host's /proc, /sys
// and /dev would show the agent every host process, device and kernel knob). Grants beneath /tmp
// are fine: the launcher mounts them on top of the agent's private /tmp.
constexpr Refused kRefusedTrees[] = {
    {"/proc", "the sandbox mounts its own /proc; the host's would expose every host process"},
    {"/sys", "the host's /sys would expose host devices and kernel settings"},
    {"/dev", "the sandbox provides a minimal /dev; the host's would expose host devices"},
};

}  // namespace

Status check_normalized_path(std::string_view path) {
  if (path.empty()) return error("path is empty");
  if (path.find('\0') != std::string_view::npos) {
    return error(quote_text(path) + " contains a NUL byte");
  }
  if (path.find_first_of("\n\r") != std::string_view::npos) {
    return error(quote_text(path) + " contains a line break");
  }
  if (path.front() != '/')
    return error(quote_text(path) + " is not absolute (must start with \"/\")");
  if (path.size() >= PATH_MAX) {
    return error(quote_text(path) + " is longer than " + std::to_string(PATH_MAX - 1) + " bytes");
  }
  if (path == "/") return {};
  if (path.back() == '/') {
    return error(quote_text(path) + " ends with \"/\" (write " +
                 quote_text(path.substr(0, path.find_last_not_of('/') + 1)) + ")");
  }
  // Each part sits between two slashes; skip the leading one.
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (part.empty()) return error(quote_text(path) + " contains \"//\"");
    if (part == "." || part == "..") {
      return error(quote_text(path) + " is not normalized (contains a \"" + std::string(part) +
                   "\" part)");
    }
    if (part.size() > NAME_MAX) {
      return error(quote_text(path) + " has a part longer than " + std::to_string(NAME_MAX) +
                   " bytes");
    }
    start = end + 1;
  }
  return {};
}

Status check_grant_path(std::string_view path) {
  if (Status s = check_normalized_path(path); !s) return s;
  if (path == "/") {
    return error("\"/\" cannot be granted: it would give the agent the whole host filesystem");
  }
  for (const Refused& r : kRefusedTrees) {
    if (path_covers(r.root, path)) {
      return error(quote_text(path) + " cannot be granted: " + std::string(r.why));
    }
  }
  return {};
}

bool path_covers(std::string_view grant, std::string_view path) {
  if (!path.starts_with(grant)) return false;
  if (path.size() == grant.size()) return true;
  return grant == "/" || path[grant.size()] == '/';
}

}  // namespace agentos::policy
