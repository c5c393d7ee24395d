#include "policy/policy_diff.h"

#include <string>
#include <tuple>
#include <vector>

namespace agentos::policy {
namespace {

std::vector<std::string> texts(const std::vector<NetRule>& rules) {
  std::vector<std::string> out;
  for (const auto& r : rules) out.push_back(r.text);
  return out;
}

auto limits(const Limits& l) { return std::tuple(l.memory_bytes, l.cpu_percent, l.pids, l.tmp_bytes, l.shm_bytes); }

bool same_tools(const std::optional<Tools>& a, const std::optional<Tools>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || (a->allow == b->allow && a->ask == b->ask && a->calls_per_minute == b->calls_per_minute &&
                a->concurrent == b->concurrent);
}

}  // namespace

PolicyDiff diff(const Policy& now, const Policy& next) {
  PolicyDiff d;
  d.files = now.read != next.read || now.write != next.write || now.exec != next.exec;
  d.sockets = texts(now.connect) != texts(next.connect) || texts(now.bind) != texts(next.bind);
  d.tools = !same_tools(now.tools, next.tools);
  d.sandbox = now.command != next.command || now.workdir != next.workdir || now.env != next.env ||
              now.host_filesystem != next.host_filesystem || now.host_network != next.host_network ||
              now.devices != next.devices || limits(now.limits) != limits(next.limits);
  return d;
}

}  // namespace agentos::policy
