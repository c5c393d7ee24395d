#include "policy/policy_edit.h"

#include <toml++/toml.h>

#include <algorithm>
#include <vector>

#include "policy/policy.h"
#include "policy/quote.h"

namespace agentos::policy {
namespace {

struct Edit {
  size_t at, erase;
  std::string insert;
};

// The byte offset of a 1-based line and column.
size_t offset_of(std::string_view text, const toml::source_position& p) {
  size_t off = 0;
  for (uint32_t line = 1; line < p.line && off < text.size(); ++line) {
    size_t nl = text.find('\n', off);
    off = nl == std::string_view::npos ? text.size() : nl + 1;
  }
  return std::min(text.size(), off + (p.column ? p.column - 1 : 0));
}

// Past a string token starting at `i` (basic or literal, one line).
size_t skip_string(std::string_view t, size_t i) {
  char q = t[i++];
  while (i < t.size() && t[i] != q && t[i] != '\n') i += (q == '"' && t[i] == '\\') ? 2 : 1;
  return std::min(t.size(), i + 1);
}

// Past whitespace, newlines and comments.
size_t skip_blank(std::string_view t, size_t i) {
  while (i < t.size()) {
    if (t[i] == '#') {
      while (i < t.size() && t[i] != '\n') ++i;
    } else if (t[i] == ' ' || t[i] == '\t' || t[i] == '\r' || t[i] == '\n') {
      ++i;
    } else {
      break;
    }
  }
  return i;
}

// Where the array that opens at `open` closes, and whether its last token is a comma (or it is
// empty: then nothing separates a new element either).
struct ArrayEnd {
  size_t close = std::string_view::npos;
  bool needs_comma = false;
};
ArrayEnd array_end(std::string_view t, size_t open) {
  char last = '[';
  for (size_t i = open + 1; i < t.size();) {
    i = skip_blank(t, i);
    if (i >= t.size()) break;
    if (t[i] == ']') return {i, last != ',' && last != '['};
    if (t[i] == '"' || t[i] == '\'') {
      i = skip_string(t, i);
      last = 's';
    } else {
      last = t[i++];
    }
  }
  return {};
}

std::string quoted(std::string_view tool) { return "\"" + std::string(tool) + "\""; }

// Removing one string element of an array, with the comma that separated it.
std::optional<Edit> remove_element(std::string_view t, const toml::array& a, std::string_view tool) {
  for (const toml::node& n : a) {
    const auto* s = n.as_string();
    if (!s || s->get() != tool) continue;
    size_t begin = offset_of(t, n.source().begin);
    if (begin >= t.size() || (t[begin] != '"' && t[begin] != '\'')) return std::nullopt;
    size_t end = skip_string(t, begin);
    size_t after = skip_blank(t, end);
    if (after < t.size() && t[after] == ',') return Edit{begin, skip_blank(t, after + 1) - begin, ""};
    // The last element: take the comma before it instead.
    size_t before = begin;
    while (before > 0 && (t[before - 1] == ' ' || t[before - 1] == '\t' || t[before - 1] == '\n' || t[before - 1] == '\r')) --before;
    if (before > 0 && t[before - 1] == ',') return Edit{before - 1, end - (before - 1), ""};
    return Edit{begin, end - begin, ""};
  }
  return std::nullopt;
}

Result<std::string> apply(std::string_view text, std::vector<Edit> edits, std::string_view path) {
  std::sort(edits.begin(), edits.end(), [](const Edit& a, const Edit& b) { return a.at > b.at; });
  std::string out(text);
  for (const auto& e : edits) out.replace(e.at, e.erase, e.insert);
  ParseResult check = parse_policy(out, path);
  if (!check.policy) return error("the edited policy would not parse (" + check.errors.front().str() + "); left unchanged");
  return out;
}

Result<toml::table> parse_toml(std::string_view text, std::string_view path) {
  try {
    return toml::parse(text, std::string_view(path));
  } catch (const toml::parse_error& e) {
    return error(std::string(path) + ": " + std::string(e.description()));
  }
}

}  // namespace

Result<std::string> grant_tool(std::string_view text, std::string_view path, std::string_view tool) {
  auto root = parse_toml(text, path);
  if (!root) return root.error();
  std::vector<Edit> edits;
  const toml::table* tools = (*root)["tools"].as_table();
  if (!tools) {
    std::string tail = text.empty() || text.back() == '\n' ? "" : "\n";
    edits.push_back({text.size(), 0, tail + "\n[tools]\nallow = [" + quoted(tool) + "]\n"});
    return apply(text, std::move(edits), path);
  }
  if (const toml::array* ask = (*tools)["ask"].as_array())
    if (auto e = remove_element(text, *ask, tool)) edits.push_back(*e);
  if (const toml::array* allow = (*tools)["allow"].as_array()) {
    for (const toml::node& n : *allow)
      if (n.as_string() && n.as_string()->get() == tool) return apply(text, std::move(edits), path);  // already there
    size_t open = text.find('[', offset_of(text, allow->source().begin));
    ArrayEnd end = open == std::string_view::npos ? ArrayEnd{} : array_end(text, open);
    if (end.close == std::string_view::npos) return error("cannot find the end of tools.allow in " + std::string(path));
    edits.push_back({end.close, 0, (end.needs_comma ? ", " : "") + quoted(tool)});
  } else {
    // A new key on the line after the [tools] header (or the first key of a dotted table).
    size_t header = offset_of(text, tools->source().begin);
    size_t eol = text.find('\n', header);
    size_t at = eol == std::string_view::npos ? text.size() : eol + 1;
    edits.push_back({at, 0, std::string(eol == std::string_view::npos ? "\n" : "") + "allow = [" + quoted(tool) + "]\n"});
  }
  return apply(text, std::move(edits), path);
}

Result<std::string> revoke_tool(std::string_view text, std::string_view path, std::string_view tool) {
  auto root = parse_toml(text, path);
  if (!root) return root.error();
  std::vector<Edit> edits;
  if (const toml::table* tools = (*root)["tools"].as_table())
    for (const char* key : {"allow", "ask"})
      if (const toml::array* a = (*tools)[key].as_array())
        if (auto e = remove_element(text, *a, tool)) edits.push_back(*e);
  if (edits.empty()) return error(quote_text(tool) + " is not granted in " + std::string(path) + " as written");
  return apply(text, std::move(edits), path);
}

}  // namespace agentos::policy
