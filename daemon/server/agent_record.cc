#include "server/agent_record.h"

#include "common/enum_words.h"
#include "policy/narrow.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace agentos {

using nlohmann::json;

std::string to_json(const AgentRecord& r) {
  json limits = json::array();
  for (const auto& l : r.limits) limits.push_back({{"name", l.name}, {"in_force", l.in_force}, {"detail", l.detail}});
  json j = {{"id", r.id},
            {"name", r.name},
            {"owner_uid", r.owner_uid},
            {"uid", r.uid},
            {"gid", r.gid},
            {"groups", r.groups},
            {"command", r.command},
            {"from_policy_dir", r.from_policy_dir},
            {"policy_path", r.policy_path},
            {"policy_text", r.policy_text},
            {"monitor_pid", r.monitor_pid},
            {"monitor_start", r.monitor_start},
            {"init_pid", r.init_pid},
            {"cgroup", r.cgroup},
            {"cgroup_id", r.cgroup_id},
            {"host_network", r.host_network},
            {"log_path", r.log_path},
            {"started_unix", r.started_unix},
            {"ended_unix", r.ended_unix},
            {"state", static_cast<int>(r.state)},
            {"exit_code", r.exit_code},
            {"signal", r.signal},
            {"reason", r.reason},
            {"ended", enum_word(r.ended)},
            {"limits", limits},
            {"namespaces", r.namespaces},
            {"stop_requested", r.stop_requested},
            {"gateway_fds", r.gateway_fds},
            {"broker_fd", r.broker_fd},
            {"console_fd", r.console_fd},
            {"terminal", r.terminal},
            {"interactive", r.interactive},
            {"delegator_policies", r.delegator_policies},
            {"chain", r.chain},
            {"trace", r.trace},
            {"delegated_by", r.delegated_by}};
  return j.dump(2) + "\n";
}

Result<AgentRecord> record_from_json(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return error("not a JSON object");
  AgentRecord r;
  try {
    r.id = j.at("id").get<std::string>();
    r.name = j.at("name").get<std::string>();
    r.owner_uid = j.at("owner_uid").get<uid_t>();
    r.uid = j.at("uid").get<uid_t>();
    r.gid = j.at("gid").get<gid_t>();
    r.groups = j.value("groups", std::vector<gid_t>{});
    r.command = j.at("command").get<std::vector<std::string>>();
    r.from_policy_dir = j.value("from_policy_dir", false);
    r.policy_path = j.at("policy_path").get<std::string>();
    r.policy_text = j.at("policy_text").get<std::string>();
    r.monitor_pid = j.at("monitor_pid").get<pid_t>();
    r.monitor_start = j.at("monitor_start").get<uint64_t>();
    r.init_pid = j.at("init_pid").get<pid_t>();
    r.cgroup = j.at("cgroup").get<std::string>();
    r.cgroup_id = j.value("cgroup_id", uint64_t{0});
    r.host_network = j.value("host_network", false);
    r.log_path = j.at("log_path").get<std::string>();
    r.started_unix = j.at("started_unix").get<uint64_t>();
    r.ended_unix = j.value("ended_unix", r.started_unix);
    int state = j.at("state").get<int>();
    if (state < 0 || state > static_cast<int>(AgentState::kLost)) return error("bad state");
    r.state = static_cast<AgentState>(state);
    r.exit_code = j.at("exit_code").get<int>();
    r.signal = j.at("signal").get<int>();
    r.reason = j.at("reason").get<std::string>();
    r.ended = enum_from_word<v1::AgentInfo::End>(j.value("ended", "")).value_or(v1::AgentInfo::END_UNSPECIFIED);
    for (const auto& l : j.at("limits"))
      r.limits.push_back({l.at("name").get<std::string>(), l.at("in_force").get<bool>(),
                          l.at("detail").get<std::string>()});
    r.namespaces = j.at("namespaces").get<std::vector<std::string>>();
    r.stop_requested = j.value("stop_requested", false);
    r.gateway_fds = j.value("gateway_fds", std::vector<int>{});
    r.broker_fd = j.value("broker_fd", -1);
    r.console_fd = j.value("console_fd", -1);
    r.terminal = j.value("terminal", false);
    r.interactive = j.value("interactive", false);
    r.delegator_policies = j.value("delegator_policies", std::vector<std::string>{});
    r.chain = j.value("chain", std::vector<std::string>{});
    r.trace = j.value("trace", "");
    r.delegated_by = j.value("delegated_by", "");
  } catch (const json::exception& e) {
    return error(e.what());
  }
  return r;
}

std::optional<uint64_t> process_start_time(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return std::nullopt;
  // The command name may hold spaces and parentheses; fields resume after the last ')'.
  auto close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream f(stat.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && f >> field; ++i)
    if (i == 22) return std::stoull(field);
  return std::nullopt;
}

Result<policy::Policy> policy_of(const AgentRecord& r) {
  auto own = policy::parse_policy(r.policy_text, r.policy_path);
  if (!own.policy) return error(r.policy_path + ": " + (own.errors.empty() ? "unparsable" : own.errors.front().str()));
  std::optional<policy::Policy> eff;
  for (const auto& text : r.delegator_policies) {
    auto d = policy::parse_policy(text, "delegator");
    if (!d.policy) return error("a delegator's policy no longer parses");
    eff = eff ? policy::narrow(*d.policy, *eff) : *d.policy;
  }
  return eff ? policy::narrow(*own.policy, *eff) : *own.policy;
}

}  // namespace agentos
