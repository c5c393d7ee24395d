// How agentctl shows daemon data: the JSON forms (one place for each message type) and the
// small text helpers the human-readable tables share.
#pragma once

#include <cstdint>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "agentos.pb.h"
#include "common/result.h"

namespace agentos::ctl {

using Json = nlohmann::json;

// "running", "exited", ...: the lower-case proto enum name.
[[nodiscard]] std::string state_name(agentos::v1::AgentInfo::State state);

// Whether exit_code means anything for an agent in this state.
[[nodiscard]] bool has_exit_code(const agentos::v1::AgentInfo& agent);

[[nodiscard]] Json agent_json(const agentos::v1::AgentInfo& agent);
[[nodiscard]] Json agents_json(
    const google::protobuf::RepeatedPtrField<agentos::v1::AgentInfo>& agents);
// `flag` names what `available` means: "available" for the machine, "in_force" for one agent.
[[nodiscard]] Json layer_json(const agentos::v1::Layer& layer, const char* flag = "available");
// What a change did to running agents: each as JSON (with its line as "text"), or as lines.
Json changes_json(const google::protobuf::RepeatedPtrField<agentos::v1::AgentChange>& changes);
void print_changes(const google::protobuf::RepeatedPtrField<agentos::v1::AgentChange>& changes);
[[nodiscard]] Json policy_summary_json(const agentos::v1::PolicySummary& policy);

// Prints one JSON document on stdout. Invalid UTF-8 (names, commands and policy text come from
// users) is replaced rather than thrown on.
void print_json(const Json& doc);

// Joins argv for display so that it can be pasted back into a shell.
[[nodiscard]] std::string shell_join(const std::vector<std::string>& args);
[[nodiscard]] std::string shell_join(const google::protobuf::RepeatedPtrField<std::string>& args);

// "alice", or the number when the uid has no passwd entry.
[[nodiscard]] std::string user_name(uint32_t uid);

// "45s", "12m", "3h", "2d": how long ago `then` was; "-" when unknown (0).
[[nodiscard]] std::string age(uint64_t then_unix, std::time_t now);
// "2024-05-01 12:03:04" in local time; "-" when unknown (0).
[[nodiscard]] std::string local_time(uint64_t unix_seconds);
// "3d 4h 12m", "5m 3s": a duration for humans.
[[nodiscard]] std::string duration(uint64_t seconds);

// Writes all of `data` to fd, retrying short writes; used for agent output, which must reach
// the terminal as it arrives rather than when a stdio buffer fills.
[[nodiscard]] Status write_all(int fd, std::string_view data);

}  // namespace agentos::ctl
