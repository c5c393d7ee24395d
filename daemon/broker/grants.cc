#include "broker/grants.h"

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

}  // namespace

std::optional<std::string> violates(const std::vector<policy::ToolConstraint>& constraints, const Json& args) {
  for (const auto& c : constraints) {
    auto it = args.find(c.argument);
    if (it == args.end()) continue;  // absent: nothing to narrow (the tool's schema says if it is required)
    std::vector<const Json*> values;
    if (it->is_array()) {
      for (const auto& v : *it) values.push_back(&v);
    } else {
      values.push_back(&*it);
    }
    for (const Json* v : values) {
      if (!v->is_string()) return "argument \"" + c.argument + "\" is narrowed to strings matching its patterns";
      bool ok = false;
      for (const auto& p : c.patterns) ok = ok || policy::glob_match(p, v->get_ref<const std::string&>());
      if (!ok) return "argument \"" + c.argument + "\" = \"" + v->get<std::string>().substr(0, 200) + "\" matches none of its patterns";
    }
  }
  return std::nullopt;
}

Decision decide(const std::optional<policy::Tools>& tools, const std::set<std::string>& approved, const std::string& tool,
                const Json& args) {
  if (!tools) return {Verdict::kDeny, "", tool + " is not granted: the policy has no [tools]"};
  auto check = [&](const std::string& grant, Verdict v) -> Decision {
    if (auto c = tools->constraints.find(grant); c != tools->constraints.end())
      if (auto why = violates(c->second, args)) return {Verdict::kDeny, grant, *why + " (tools.constraints)"};
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
