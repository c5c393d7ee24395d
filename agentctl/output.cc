#include "agentctl/output.h"

#include <pwd.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <iostream>

#include "common/agent_change_text.h"
#include "common/enum_words.h"

namespace agentos::ctl {

using agentos::v1::AgentInfo;

std::string state_name(AgentInfo::State state) { return enum_word(state); }

bool has_exit_code(const AgentInfo& agent) {
  return agent.state() == AgentInfo::STATE_EXITED || agent.state() == AgentInfo::STATE_FAILED;
}

Json agent_json(const AgentInfo& agent) {
  return Json{
      {"id", agent.id()},
      {"name", agent.name()},
      {"owner_uid", agent.owner_uid()},
      {"uid", agent.uid()},
      {"gid", agent.gid()},
      {"pid", agent.pid()},
      {"state", state_name(agent.state())},
      // null while running: 0 would read as "succeeded"
      {"exit_code", has_exit_code(agent) ? Json(agent.exit_code()) : Json(nullptr)},
      {"signal", has_exit_code(agent) ? Json(agent.signal()) : Json(nullptr)},
      {"reason", agent.reason()},
      {"ended", agent.ended() == AgentInfo::END_UNSPECIFIED ? Json(nullptr) : Json(enum_word(agent.ended()))},
      {"cgroup", agent.cgroup()},
      {"started_unix", agent.started_unix()},
      {"command", Json(std::vector<std::string>(agent.command().begin(), agent.command().end()))},
      {"policy_path", agent.policy_path()},
      {"terminal", agent.terminal()},
      {"interactive", agent.interactive()},
  };
}

Json agents_json(const google::protobuf::RepeatedPtrField<AgentInfo>& agents) {
  Json out = Json::array();
  for (const auto& a : agents) out.push_back(agent_json(a));
  return out;
}

Json layer_json(const agentos::v1::Layer& layer, const char* flag) {
  return Json{{"name", layer.name()}, {flag, layer.available()}, {"detail", layer.detail()}};
}

Json changes_json(const google::protobuf::RepeatedPtrField<agentos::v1::AgentChange>& changes) {
  Json out = Json::array();
  for (const auto& c : changes)
    out.push_back(Json{{"agent_id", c.agent_id()},       {"agent_name", c.agent_name()},
                       {"part", enum_word(c.part())},    {"outcome", enum_word(c.outcome())},
                       {"detail", c.detail()},           {"text", agent_change_text(c)}});
  return out;
}

void print_changes(const google::protobuf::RepeatedPtrField<agentos::v1::AgentChange>& changes) {
  for (const auto& c : changes) std::cout << agent_change_text(c) << '\n';
}

Json policy_summary_json(const agentos::v1::PolicySummary& policy) {
  return Json{
      {"name", policy.name()},
      {"path", policy.path()},
      {"command", Json(std::vector<std::string>(policy.command().begin(), policy.command().end()))},
  };
}

void print_json(const Json& doc) {
  std::cout << doc.dump(2, ' ', false, Json::error_handler_t::replace) << '\n';
}

namespace {

bool needs_quoting(const std::string& s) {
  if (s.empty()) return true;
  for (unsigned char c : s) {
    if (!(std::isalnum(c) || c == '/' || c == '.' || c == '-' || c == '_' || c == '=' || c == ':' ||
          c == ',' || c == '+' || c == '@' || c == '%')) {
      return true;
    }
  }
  return false;
}

std::string shell_quote(const std::string& s) {
  if (!needs_quoting(s)) return s;
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

template <typename Range>
std::string join_quoted(const Range& args) {
  std::string out;
  for (const auto& a : args) {
    if (!out.empty()) out += ' ';
    out += shell_quote(a);
  }
  return out;
}

}  // namespace

std::string shell_join(const std::vector<std::string>& args) { return join_quoted(args); }
std::string shell_join(const google::protobuf::RepeatedPtrField<std::string>& args) {
  return join_quoted(args);
}

std::string user_name(uint32_t uid) {
  passwd pw{};
  passwd* found = nullptr;
  char buf[4096];
  if (::getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found != nullptr) {
    return found->pw_name;
  }
  return std::to_string(uid);
}

std::string age(uint64_t then_unix, std::time_t now) {
  if (then_unix == 0) return "-";
  // A clock that moved backwards shows as "0s", not as a huge unsigned age.
  uint64_t secs =
      static_cast<uint64_t>(now) > then_unix ? static_cast<uint64_t>(now) - then_unix : 0;
  if (secs < 60) return std::to_string(secs) + "s";
  if (secs < 3600) return std::to_string(secs / 60) + "m";
  if (secs < 86400) return std::to_string(secs / 3600) + "h";
  return std::to_string(secs / 86400) + "d";
}

std::string local_time(uint64_t unix_seconds) {
  if (unix_seconds == 0) return "-";
  auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  if (::localtime_r(&t, &tm) == nullptr) return std::to_string(unix_seconds);
  char buf[64];
  if (std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0) {
    return std::to_string(unix_seconds);
  }
  return buf;
}

std::string duration(uint64_t seconds) {
  uint64_t d = seconds / 86400, h = seconds / 3600 % 24, m = seconds / 60 % 60, s = seconds % 60;
  if (d > 0) return std::to_string(d) + "d " + std::to_string(h) + "h " + std::to_string(m) + "m";
  if (h > 0) return std::to_string(h) + "h " + std::to_string(m) + "m";
  if (m > 0) return std::to_string(m) + "m " + std::to_string(s) + "s";
  return std::to_string(s) + "s";
}

Status write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t w = ::write(fd, data.data(), data.size());
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return sys_error("write");
    data.remove_prefix(static_cast<size_t>(w));
  }
  return {};
}

}  // namespace agentos::ctl
