// libFuzzer entry: one MCP line from an agent, and all the broker does with it before a tool
// runs: the message read, `initialize` answered, a call's arguments put in the form its tool reads
// (arguments.h), the call decided against grants with constraints, and shown for consent. Checked:
// the canonical form is a fixed point, a refusal's reason is UTF-8, and what consent shows hides
// no invisible character.
#include <cstdint>
#include <map>

#include "broker/tools/account_tools.h"
#include "broker/consent_view.h"
#include "broker/grants.h"
#include "broker/tools/http_fetch.h"
#include "broker/tools/kv_store.h"
#include "broker/tools/workspace.h"

namespace agentos::broker {
namespace {

// Each tool's argument rules, from the providers the daemon runs (none of them is called).
std::map<std::string, ArgRules> tool_rules() {
  static auto loop = EventLoop::create();
  std::vector<std::unique_ptr<Provider>> providers;
  providers.push_back(std::make_unique<KvStore>("/nonexistent"));
  providers.push_back(std::make_unique<Workspace>("/nonexistent"));
  providers.push_back(std::make_unique<HttpFetch>(*loop, nullptr));
  providers.push_back(std::make_unique<AccountTools>(*loop, AccountTools::Deps{}));
  std::map<std::string, ArgRules> rules;
  for (const auto& p : providers)
    for (auto& t : p->tools()) rules.emplace(t.name, std::move(t.rules));
  return rules;
}

// Grants with constraints on text, path, URL and recipient arguments.
policy::Tools grants() {
  auto r = policy::parse_policy(R"([agent]
command = ["/bin/true"]
[tools]
allow = ["kv", "fs.list", "http.fetch"]
ask = ["fs", "email.send", "calendar"]
[tools.constraints]
"kv" = { key = ["notes/*"] }
"fs" = { path = ["out/*", "notes.txt"] }
"http.fetch" = { url = ["https://*.example.com/*", "http://10.0.0.1:8080/api/*"] }
"email.send" = { to = ["*@example.com"] }
)", "fuzz.toml");
  if (!r.policy || !r.policy->tools) __builtin_trap();
  return *r.policy->tools;
}

// A refusal's reason goes to the agent and the audit trail: UTF-8, however the agent's text in it
// was cut (the audit's JSON lines threw on anything else, and protobuf refuses it).
int refused(const std::string& why) {
  (void)Json(why).dump();  // throws on anything else
  return 0;
}

}  // namespace
}  // namespace agentos::broker

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agentos::broker;
  static const auto rules = tool_rules();
  static const std::optional<agentos::policy::Tools> tools = grants();
  auto parsed = parse_message({reinterpret_cast<const char*>(data), size});
  if (auto* f = std::get_if<ParseFailure>(&parsed)) return (void)error_line(f->id, f->code, f->message), 0;
  const Message& m = std::get<Message>(parsed);
  if (m.method == "initialize") return (void)result_line(m.id, initialize_result(m.params)), 0;
  auto name = m.params.find("name");
  auto args = m.params.find("arguments");
  if (m.method != "tools/call" || name == m.params.end() || !name->is_string() || args == m.params.end() ||
      !args->is_object())
    return (void)result_line(m.id, m.params), 0;
  auto rule = rules.find(name->get<std::string>());
  const ArgRules& r = rule == rules.end() ? ArgRules{} : rule->second;
  auto canonical = canonical_arguments(r, *args);
  if (!canonical) return refused(canonical.error().what);
  auto again = canonical_arguments(r, *canonical);
  if (!again || *again != *canonical) __builtin_trap();
  Decision d = decide(tools, {"fs.read"}, name->get<std::string>(), *canonical, r);
  if (d.verdict == Verdict::kDeny) return refused(d.reason);
  auto view = show_arguments(*canonical, r, canonical->dump(-1, ' ', false, Json::error_handler_t::replace).size());
  if (!view) return refused(view.error().what);
  for (const auto& a : *view)
    if (escape_invisible(a.shown) != a.shown || escape_invisible(a.name) != a.name) __builtin_trap();
  return 0;
}
