// One MCP request: tools/list and tools/call, each call decided against the agent's grants and
// quotas, run by its provider, and audited.
#include <algorithm>
#include <ctime>

#include "broker/broker_parts.h"
#include "common/random_id.h"
#include "policy/tool_names.h"

namespace agentos::broker {

using namespace detail;

void Broker::handle(Conn& c, std::string_view line) {
  auto started = Clock::now();
  auto parsed = parse_message(line, {limits_.json_depth, kMaxLine});
  if (auto* f = std::get_if<ParseFailure>(&parsed)) {
    if (f->over_bound) report(c.agent_id, kJsonHit, f->message + " (--json-depth): refused");
    return send(c, error_line(f->id, f->code, f->message));
  }
  const Message& m = std::get<Message>(parsed);
  if (m.method == "tools/call") {
    if (m.notification()) return;
    return call_tool(c, m.id, m.params, started);
  }
  if (m.method == "initialize") return send(c, result_line(m.id, initialize_result(m.params)));
  if (m.method == "tools/list") {
    auto a = agents_.find(c.agent_id);
    Json tools = Json::array();
    const auto& t = a->second->info.tools;
    for (const auto& spec : specs_) {
      bool granted = t && (std::any_of(t->allow.begin(), t->allow.end(), [&](auto& g) { return policy::grant_covers(g, spec.name); }) ||
                           std::any_of(t->ask.begin(), t->ask.end(), [&](auto& g) { return policy::grant_covers(g, spec.name); }));
      if (granted) tools.push_back({{"name", spec.name}, {"description", spec.description}, {"inputSchema", spec.input_schema}});
    }
    return send(c, result_line(m.id, {{"tools", tools}}));
  }
  if (m.method == "ping") return send(c, result_line(m.id, Json::object()));
  if (m.notification()) return;  // notifications/initialized, cancelled, ...: nothing to answer
  send(c, error_line(m.id, kMethodNotFound, "no method \"" + m.method.substr(0, 100) + "\""));
}

std::string Broker::describe_call(const std::string& tool, const Json& args) const {
  return "tool " + tool + " (arguments " + digest(args) + ")";
}

void Broker::call_tool(Conn& c, const Json& id, const Json& params, Clock::time_point started) {
  auto name_it = params.find("name");
  if (name_it == params.end() || !name_it->is_string()) return send(c, error_line(id, kInvalidParams, "params.name must be a string"));
  std::string tool = name_it->get<std::string>();
  Json args = params.contains("arguments") ? params["arguments"] : Json::object();
  if (!args.is_object()) return send(c, error_line(id, kInvalidParams, "params.arguments must be an object"));
  if (!by_tool_.contains(tool)) return send(c, error_line(id, kInvalidParams, "no tool \"" + tool.substr(0, 100) + "\""));
  Agent& a = *agents_.at(c.agent_id);
  const Caller& who = a.info.caller;

  auto refuse = [&](int code, const std::string& why) {
    ++a.quota.refused;
    if (hooks_.audit) hooks_.audit(who, describe_call(tool, args) + ": " + why, v1::DECISION_DENY);
    if (code) return send(c, error_line(id, code, why));
    send(c, result_line(id, refusal("refused: " + why)));
  };
  // From here on the arguments are the tool's own reading of them: matched, shown and run as one.
  const ArgRules& rules = rules_[tool];
  auto canonical = canonical_arguments(rules, args);
  if (!canonical) return refuse(0, canonical.error().what);
  args = std::move(*canonical);
  Decision d = decide(a.info.tools, a.approved, tool, args, rules);
  if (d.verdict == Verdict::kDeny) return refuse(0, d.reason);
  std::string args_json;
  std::vector<ShownArgument> shown;
  if (d.verdict == Verdict::kAsk) {
    args_json = args.dump(-1, ' ', false, Json::error_handler_t::replace);
    auto view = show_arguments(args, rules, args_json.size());
    if (!view) return refuse(0, "consent cannot show this call: " + view.error().what);
    shown = std::move(*view);
  }

  // Quotas: a rate a minute (a bucket that refills continuously) and calls at once.
  // Without [tools] no call gets this far; a rate of 0 would be no limit to the bucket.
  if (a.quota.calls_per_minute == 0 || a.quota.rate.allowance(1) < 1)
    return refuse(kBusy, "over the limit of " + std::to_string(a.quota.calls_per_minute) + " calls a minute (tools.calls_per_minute)");
  if (a.quota.in_flight >= a.quota.concurrent)
    return refuse(kBusy, "over the limit of " + std::to_string(a.quota.concurrent) + " calls at once (tools.concurrent)");
  a.quota.rate.take(1);
  ++a.quota.calls;

  if (d.verdict == Verdict::kAsk) {
    auto w = std::make_unique<Waiting>();
    std::string call_id = random_hex(4);
    while (waiting_.contains(call_id)) call_id = random_hex(4);  // an answer must reach the call it names
    w->call = {call_id, who.agent_id, who.agent_name, who.owner, tool, std::move(shown), std::move(args_json),
               static_cast<uint64_t>(std::time(nullptr)), a.info.tools->consent_timeout_s};
    w->fd = c.fd.get();
    w->serial = c.serial;
    w->request_id = id;
    w->args = args;
    w->started = started;
    w->deadline = loop_.after(std::chrono::seconds(a.info.tools->consent_timeout_s),
                              [this, call_id] { consent_timed_out(call_id); });
    ++a.quota.in_flight;
    PendingCall copy = w->call;
    waiting_[w->call.id] = std::move(w);
    if (hooks_.audit) hooks_.audit(who, describe_call(tool, args) + ": waits for consent as " + copy.id, v1::DECISION_ASK);
    if (hooks_.pending) hooks_.pending(copy);
    return;
  }
  finish_call(c.fd.get(), id, a, tool, args, "", started);
}

void Broker::finish_call(int fd, const Json& id, Agent& a, const std::string& tool, const Json& args, const std::string& how,
                         Clock::time_point started) {
  ++a.quota.in_flight;  // until the provider answers, which for http.fetch is later
  uint64_t serial = conns_.contains(fd) ? conns_.at(fd)->serial : 0;
  std::string agent_id = a.info.caller.agent_id;
  auto answered = [=, this](ToolResult r) {
    auto ag = agents_.find(agent_id);
    if (ag == agents_.end()) return;  // it ended meanwhile
    --ag->second->quota.in_flight;
    if (hooks_.audit)
      hooks_.audit(ag->second->info.caller,
                   describe_call(tool, args) + (how.empty() ? "" : ", " + how) + (r.error ? ", failed" : "") + ", " +
                       std::to_string(us_since(started)) + " µs",
                   v1::DECISION_ALLOW);
    auto it = conns_.find(fd);
    if (it != conns_.end() && it->second->serial == serial) send(*it->second, result_line(id, tool_content(r)));
  };
  auto provider = by_tool_.find(tool);  // an external server's tool may be gone since a consent wait began
  if (provider == by_tool_.end()) return answered(tool_error(tool + " is no longer offered"));
  provider->second->call_async(a.info.caller, tool, args, std::move(answered));
}

}  // namespace agentos::broker
