// [tools] and [delegate] of a policy: the platform tools an agent may call through the broker,
// which of them wait for the owner's consent, how arguments are narrowed, and whom it may hand
// tasks to (docs/policy.md).
#include <algorithm>
#include <map>

#include "policy/builtin_tools.h"
#include "policy/names.h"
#include "policy/quote.h"
#include "policy/tool_names.h"
#include "policy/walker.h"

namespace agentos::policy {

std::optional<uint32_t> Walker::bounded(const toml::table& t, std::string_view key, const std::string& what,
                                        uint32_t min, uint32_t max) {
  const toml::node* n = t.get(key);
  if (!n) return std::nullopt;
  const toml::value<int64_t>* i = n->as_integer();
  if (!i || i->get() < min || i->get() > max) {
    error(*n, what + " must be an integer " + std::to_string(min) + ".." + std::to_string(max));
    return std::nullopt;
  }
  return static_cast<uint32_t>(i->get());
}

void Walker::tools(const toml::table& t) {
  check_keys(t, {"allow", "ask", "constraints", "calls_per_minute", "concurrent", "consent_timeout", "calendar", "email"},
             "tools");
  Tools& out = out_.tools.emplace();
  out.allow_at = {file_, t.source().begin.line, t.source().begin.column};
  std::map<std::string, toml::source_position> seen;
  for (auto [key, list] : {std::pair{"allow", &out.allow}, {"ask", &out.ask}}) {
    const toml::node* n = t.get(key);
    if (!n) continue;
    const std::string what = "tools." + std::string(key);
    if (std::string_view(key) == "allow") out.allow_at = {file_, n->source().begin.line, n->source().begin.column};
    const toml::array* a = array_value(*n, what);
    if (!a) continue;
    for (const toml::node& entry : *a) {
      std::optional<std::string> name = string_value(entry, what + " entry");
      if (!name) continue;
      if (Status s = check_tool_grant(*name); !s) {
        error(entry, what + ": " + s.error().what);
        continue;
      }
      if (auto [it, inserted] = seen.emplace(*name, entry.source().begin); !inserted) {
        error(entry, what + ": " + quote_text(*name) + " is already granted at " + position_text(it->second));
        continue;
      }
      if (auto unknown = unknown_tool(*name)) {
        error(entry, what + ": " + *unknown);
        continue;
      }
      out.where[*name] = {file_, entry.source().begin.line, entry.source().begin.column};
      list->push_back(std::move(*name));
    }
  }
  if (const toml::node* n = t.get("constraints")) tool_constraints(*n, out);
  if (auto v = bounded(t, "calls_per_minute", "tools.calls_per_minute", 1, 1'000'000'000)) out.calls_per_minute = *v;
  if (auto v = bounded(t, "concurrent", "tools.concurrent", 1, 1024)) out.concurrent = *v;
  if (auto v = bounded(t, "consent_timeout", "tools.consent_timeout (seconds)", 1, 86'400)) out.consent_timeout_s = *v;
  tool_accounts(t, out);
}

// Why a grant names no platform tool, or nothing: "kv.delet" is a typo of "kv.delete", "kvv.get" of
// "kv.get"; a family that is no platform family's neighbour is a [serve] prefix, checked later.
std::optional<std::string> Walker::unknown_tool(const std::string& name) {
  std::string family = name.substr(0, name.find('.'));
  std::vector<std::string_view> names;
  for (const auto& t : builtin_tools()) names.push_back(t.name);
  if (platform_family(family)) {
    if (name == family || builtin_tool(name)) return std::nullopt;
    auto near = closest(name, names);
    std::string list;
    for (auto n : names)
      if (grant_covers(family, n)) list += (list.empty() ? "" : ", ") + std::string(n);
    return "no platform tool " + quote_text(name) + (near ? " (did you mean " + quote_text(*near) + "?)" : "; the " + family + " tools are: " + list);
  }
  std::vector<std::string_view> families(platform_families().begin(), platform_families().end());
  if (auto near = closest(family, families)) {
    std::string suggestion = *near + name.substr(family.size());
    return "no tool family " + quote_text(family) + " (did you mean " + quote_text(suggestion) +
           "?); only a [serve] policy's prefix names other tools";
  }
  return std::nullopt;
}

void Walker::tool_constraints(const toml::node& n, Tools& out) {
  const toml::table* t = n.as_table();
  if (!t) {
    error(n, "tools.constraints must be a table: \"tool\" = { argument = [\"pattern\", ...] }");
    return;
  }
  for (auto&& [key, value] : *t) {
    std::string tool(key.str());
    const std::string what = "tools.constraints." + quote_text(tool);
    bool granted = std::find(out.allow.begin(), out.allow.end(), tool) != out.allow.end() ||
                   std::find(out.ask.begin(), out.ask.end(), tool) != out.ask.end();
    if (!granted) {
      error(key.source().begin, what + " narrows a tool that tools.allow and tools.ask do not grant (as written)");
      continue;
    }
    const toml::table* args = value.as_table();
    if (!args) {
      error(value, what + " must be a table of argument = [\"pattern\", ...]");
      continue;
    }
    // A platform tool's arguments are known; a server's are its own (checked by the server).
    std::vector<std::string_view> known = builtin_arguments(tool);
    bool platform = platform_family(tool.substr(0, tool.find('.')));
    for (auto&& [arg, patterns] : *args) {
      ToolConstraint c;
      c.argument = std::string(arg.str());
      if (Status s = check_argument_name(c.argument); !s) {
        error(arg.source().begin, what + ": " + s.error().what);
        continue;
      }
      if (platform && std::find(known.begin(), known.end(), c.argument) == known.end()) {
        auto near = closest(c.argument, known);
        std::string list;
        for (auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
        error(arg.source().begin, what + ": " + quote_text(tool) + " has no argument " + quote_text(c.argument) +
                                      (near ? " (did you mean " + quote_text(*near) + "?)" : "; its arguments: " + list));
        continue;
      }
      const toml::array* list = array_value(patterns, what + "." + c.argument);
      if (!list) continue;
      for (const toml::node& p : *list)
        if (std::optional<std::string> pattern = string_value(p, what + "." + c.argument + " entry"))
          c.patterns.push_back(std::move(*pattern));
      if (c.patterns.empty()) error(patterns, what + "." + c.argument + " is empty: no value would pass");
      out.constraints[tool].push_back(std::move(c));
    }
  }
}

void Walker::delegate(const toml::table& t) {
  check_keys(t, {"allow", "max_depth", "deadline"}, "delegate");
  Delegate& out = out_.delegate.emplace();
  if (const toml::node* n = t.get("allow"))
    if (const toml::array* a = array_value(*n, "delegate.allow"))
      for (const toml::node& entry : *a) {
        std::optional<std::string> name = string_value(entry, "delegate.allow entry");
        if (!name) continue;
        if (Status s = check_agent_name(*name); !s) {
          error(entry, "delegate.allow: " + s.error().what);
          continue;
        }
        if (std::find(out.allow.begin(), out.allow.end(), *name) != out.allow.end()) {
          error(entry, "delegate.allow: " + quote_text(*name) + " is listed twice");
          continue;
        }
        out.allow.push_back(std::move(*name));
      }
  if (auto v = bounded(t, "max_depth", "delegate.max_depth", 1, 16)) out.max_depth = *v;
  if (auto v = bounded(t, "deadline", "delegate.deadline (seconds)", 1, 86'400)) out.deadline_s = *v;
}

void Walker::serve(const toml::table& t) {
  check_keys(t, {"mcp", "prefix"}, "serve");
  Serve& out = out_.serve.emplace();
  out.where = {file_, t.source().begin.line, t.source().begin.column};
  if (const toml::node* n = t.get("mcp")) {
    if (auto v = string_value(*n, "serve.mcp"); v && *v != "stdio")
      error(*n, "serve.mcp must be \"stdio\" (the server speaks MCP on its stdin and stdout)");
  } else {
    error(t.source().begin, "serve.mcp is required: \"stdio\"");
  }
  out.prefix = out_.name;
  if (const toml::node* n = t.get("prefix"))
    if (auto v = string_value(*n, "serve.prefix")) out.prefix = *v;
  const toml::node* at = t.get("prefix");
  if (Status s = check_tool_grant(out.prefix); !s || out.prefix.find('.') != std::string::npos) {
    error(at ? at->source().begin : t.source().begin,
          "serve.prefix " + quote_text(out.prefix) + " must be one tool family name: [a-z0-9_-], no dots");
  } else if (platform_family(out.prefix)) {
    error(at ? at->source().begin : t.source().begin,
          "serve.prefix " + quote_text(out.prefix) + " is a platform tool family; choose another");
  }
}

}  // namespace agentos::policy
