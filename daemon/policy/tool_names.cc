#include "policy/tool_names.h"

#include "policy/quote.h"

namespace agentos::policy {

Status check_tool_grant(std::string_view name) {
  const std::string what = "tool " + quote_text(name);
  if (name.empty() || name.size() > 64) return error(what + " must be 1..64 characters");
  bool part_start = true;
  for (char c : name) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (c == '.') {
      if (part_start) return error(what + " has an empty part");
      part_start = true;
      continue;
    }
    if (part_start && !alnum) return error(what + ": each part starts with a lower-case letter or digit");
    if (!alnum && c != '_' && c != '-') return error(what + " may hold only [a-z0-9_-] and dots");
    part_start = false;
  }
  if (part_start) return error(what + " ends with a dot");
  return {};
}

bool grant_covers(std::string_view grant, std::string_view tool) {
  return tool == grant || (tool.size() > grant.size() && tool.starts_with(grant) && tool[grant.size()] == '.');
}

Status check_argument_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return error("argument " + quote_text(name) + " must be 1..64 characters");
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
      return error("argument " + quote_text(name) + " may hold only [A-Za-z0-9_]");
  return {};
}

bool glob_match(std::string_view p, std::string_view t) {
  // Iterative, with one backtrack point: linear in practice, never exponential.
  size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == t[ti])) {
      ++pi;
      ++ti;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

}  // namespace agentos::policy
