#include "policy/builtin_tools.h"

#include <algorithm>

#include "policy/tool_names.h"

namespace agentos::policy {
namespace {

constexpr BuiltinTool kTools[] = {
    {"kv.get", {"key"}},
    {"kv.set", {"key", "value"}},
    {"kv.delete", {"key"}},
    {"kv.list", {"prefix"}},
    {"fs.read", {"path"}},
    {"fs.write", {"path", "content"}},
    {"fs.list", {"path"}},
    {"http.fetch", {"url", "method", "headers", "body"}},
    {"agent.delegate", {"agent", "task"}},
    {"calendar.read", {"from", "to"}},
    {"calendar.create", {"summary", "start", "end", "location", "description"}},
    {"calendar.delete", {"id"}},
    {"email.list", {"mailbox", "limit"}},
    {"email.read", {"uid", "mailbox"}},
    {"email.send", {"to", "subject", "body"}},
};

constexpr std::string_view kFamilies[] = {"kv", "fs", "http", "agent", "calendar", "email"};

}  // namespace

std::span<const BuiltinTool> builtin_tools() { return kTools; }
std::span<const std::string_view> platform_families() { return kFamilies; }

bool platform_family(std::string_view family) {
  return std::find(std::begin(kFamilies), std::end(kFamilies), family) != std::end(kFamilies);
}

const BuiltinTool* builtin_tool(std::string_view name) {
  for (const auto& t : kTools)
    if (t.name == name) return &t;
  return nullptr;
}

std::vector<std::string_view> builtin_arguments(std::string_view grant) {
  std::vector<std::string_view> out;
  for (const auto& t : kTools)
    if (grant_covers(grant, t.name))
      for (auto a : t.arguments)
        if (!a.empty() && std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  return out;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::optional<std::string> closest(std::string_view word, const std::vector<std::string_view>& candidates, size_t max) {
  if (word.size() > 64) return std::nullopt;
  max = std::min(max, word.size() / 2);  // "cc" is two edits from "to", and no typo of it
  std::optional<std::string> best;
  size_t best_d = max + 1;
  for (auto c : candidates)
    if (size_t d = edit_distance(word, c); d < best_d) {
      best_d = d;
      best = std::string(c);
    }
  return best;
}

}  // namespace agentos::policy
