#include "broker/grants.h"

#include "broker/canonical_url.h"
#include "policy/quote.h"
#include "policy/tool_names.h"

namespace agentos::broker {
namespace {

// The most specific grant in `list` covering `tool` ("kv.get" before "kv").
std::optional<std::string> covering(const std::vector<std::string>& list, const std::string& tool) {
  std::optional<std::string> best;
  for (const auto& g : list)
    if (policy::grant_covers(g, tool) && (!best || g.size() > best->size())) best = g;
  return best;
}

// A URL's origin (scheme://host[:port]) and the rest are matched apart, so that a '*' in a
// pattern's host cannot run on into the path ("https://*.example.com/*" is no "https://evil.test/?.example.com/").
bool url_matches(const std::string& pattern, const std::string& url) {
  UrlParts p = split_url(pattern), u = split_url(url);
  return policy::glob_match(p.origin, u.origin) && policy::glob_match(p.rest, u.rest);
}

}  // namespace

std::optional<std::string> violates(const std::vector<policy::ToolConstraint>& constraints, const Json& args,
                                    const ArgRules& rules) {
  for (const auto& c : constraints) {
    const std::string what = "argument \"" + c.argument + "\"";
    auto it = args.find(c.argument);
    // Absent, it would be whatever the tool makes of it; tools.constraints cannot see that.
    if (it == args.end()) return what + " is narrowed by its patterns and must be given";
    std::vector<const Json*> values;
    if (it->is_array()) {
      for (const auto& v : *it) values.push_back(&v);
      if (values.empty()) return what + " is an empty list";
    } else {
      values.push_back(&*it);
    }
    bool url = rule_of(rules, c.argument).kind == ArgKind::kUrl;
    for (const Json* v : values) {
      if (!v->is_string()) return what + " is narrowed to strings matching its patterns";
      const auto& text = v->get_ref<const std::string&>();
      bool ok = false;
      for (const auto& p : c.patterns) ok = ok || (url ? url_matches(p, text) : policy::glob_match(p, text));
      if (!ok) return what + " = " + policy::quote_text(text) + " matches none of its patterns";
    }
  }
  return std::nullopt;
}

Decision decide(const std::optional<policy::Tools>& tools, const std::set<std::string>& approved, const std::string& tool,
                const Json& args, const ArgRules& rules) {
  if (!tools) return {Verdict::kDeny, "", tool + " is not granted: the policy has no [tools]"};
  auto check = [&](const std::string& grant, Verdict v) -> Decision {
    if (auto c = tools->constraints.find(grant); c != tools->constraints.end())
      if (auto why = violates(c->second, args, rules)) return {Verdict::kDeny, grant, *why + " (tools.constraints)"};
    return {v, grant, ""};
  };
  if (auto g = covering(tools->allow, tool)) return check(*g, Verdict::kAllow);
  if (auto g = covering(tools->ask, tool)) {
    Decision d = check(*g, Verdict::kAsk);
    if (d.verdict == Verdict::kAsk && approved.contains(tool)) d.verdict = Verdict::kAllow;  // approved for this run
    return d;
  }
  return {Verdict::kDeny, "", tool + " is not granted (tools.allow, tools.ask)"};
}

}  // namespace agentos::broker
