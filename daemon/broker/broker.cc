// The broker's agents: their grants and quotas as attached and updated, and the tools its
// providers offer (broker.h). Sessions, calls and consent are in broker_session.cc,
// broker_calls.cc and broker_consent.cc.
#include "broker/broker.h"

#include <algorithm>

#include "broker/broker_parts.h"

namespace agentos::broker {

using namespace detail;

Broker::Broker(EventLoop& loop, Listeners& listeners, std::vector<std::unique_ptr<Provider>> providers, Hooks hooks,
               Limits limits)
    : loop_(loop), listeners_(listeners), providers_(std::move(providers)), hooks_(std::move(hooks)), limits_(limits) {
  refresh_tools();
  partial_sweep_ = loop_.every(std::chrono::seconds(1), [this] { close_partial(Clock::now()); });
}

void Broker::refresh_tools() {
  by_tool_.clear();
  rules_.clear();
  specs_.clear();
  for (auto& p : providers_)
    for (auto& t : p->tools()) {
      if (by_tool_.contains(t.name)) continue;  // the first provider of a name keeps it
      by_tool_[t.name] = p.get();
      rules_[t.name] = t.rules;
      specs_.push_back(std::move(t));
    }
}

Broker::~Broker() {
  for (auto& [id, a] : agents_) listeners_.remove(a->listener.get());
}

void Broker::attach(AgentInfo info, UniqueFd listener) {
  auto a = std::make_unique<Agent>();
  a->info = std::move(info);
  a->listener = std::move(listener);
  if (a->info.tools) {
    a->quota.calls_per_minute = a->info.tools->calls_per_minute;
    a->quota.concurrent = a->info.tools->concurrent;
    a->quota.rate = TokenBucket(a->quota.calls_per_minute / 60.0, a->quota.calls_per_minute);
  }
  Agent* raw = a.get();
  std::string id = a->info.caller.agent_id;
  if (agents_.contains(id)) detach(id);
  agents_[id] = std::move(a);
  (void)listeners_.add(raw->listener.get(), [this, id](UniqueFd fd) { accepted(id, std::move(fd)); });
}

void Broker::update(const std::string& agent_id, std::optional<policy::Tools> tools) {
  auto it = agents_.find(agent_id);
  if (it == agents_.end()) return;
  Agent& a = *it->second;
  a.info.tools = std::move(tools);
  a.quota.calls_per_minute = a.info.tools ? a.info.tools->calls_per_minute : 0;
  a.quota.concurrent = a.info.tools ? a.info.tools->concurrent : 0;
  a.quota.rate.set(a.quota.calls_per_minute / 60.0, a.quota.calls_per_minute);
}

std::optional<policy::Tools> Broker::tools_of(const std::string& agent_id) const {
  auto it = agents_.find(agent_id);
  return it == agents_.end() ? std::nullopt : it->second->info.tools;
}

void Broker::detach(const std::string& agent_id) {
  auto it = agents_.find(agent_id);
  if (it == agents_.end()) return;
  for (int fd : std::vector<int>(it->second->conns.begin(), it->second->conns.end())) close_conn(fd);
  std::erase_if(waiting_, [&](auto& w) { return w.second->call.agent_id == agent_id; });
  listeners_.remove(it->second->listener.get());
  for (auto& p : providers_) p->forget(it->second->info.caller);
  agents_.erase(it);
}

void Broker::report(const std::string& agent_id, LimitHit which, const std::string& what) {
  auto a = agents_.find(agent_id);
  if (a == agents_.end() || (a->second->reported & which)) return;
  a->second->reported |= which;
  if (hooks_.limit) hooks_.limit(a->second->info.caller, "broker: " + what);
}

size_t Broker::buffered(const Agent& a) const {
  size_t n = 0;
  for (int fd : a.conns) {
    const Conn& c = *conns_.at(fd);
    n += c.in.size() + c.out.size() + (c.proto ? c.proto->kept_bytes() : 0);
  }
  return n;
}

std::optional<Broker::Quota> Broker::quota(const std::string& agent_id) const {
  auto it = agents_.find(agent_id);
  if (it == agents_.end()) return std::nullopt;
  return it->second->quota;
}

}  // namespace agentos::broker
