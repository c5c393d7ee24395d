#include "server/agent_record.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace agentos {
namespace {

TEST(AgentRecord, RoundTripsThroughJson) {
  AgentRecord r;
  r.id = "0123456789ab";
  r.name = "researcher";
  r.owner_uid = 1000;
  r.uid = 1000;
  r.gid = 1000;
  r.command = {"/usr/bin/python3", "main.py", "with space"};
  r.policy_path = "/etc/agentos/policy.d/researcher.toml";
  r.policy_text = "[agent]\ncommand = [\"/bin/true\"]\n";
  r.monitor_pid = 42;
  r.monitor_start = 123456;
  r.init_pid = 43;
  r.cgroup = "/agentos/agents/0123456789ab";
  r.log_path = "/var/lib/agentos/logs/0123456789ab.log";
  r.started_unix = 1700000000;
  r.state = AgentState::kExited;
  r.exit_code = 137;
  r.signal = 9;
  r.reason = "killed by the OOM killer: memory limit reached";
  r.ended = v1::AgentInfo::END_OOM_KILLED;
  r.limits = {{"memory", false, "not available"}};
  r.namespaces = {"user:[4026532301]"};
  r.stop_requested = true;

  auto back = record_from_json(to_json(r));
  ASSERT_TRUE(back.ok()) << back.error().str();
  EXPECT_EQ(back->command, r.command);
  EXPECT_EQ(back->policy_text, r.policy_text);
  EXPECT_EQ(back->state, AgentState::kExited);
  EXPECT_EQ(back->exit_code, 137);
  EXPECT_EQ(back->signal, 9);
  EXPECT_EQ(back->reason, r.reason);
  EXPECT_EQ(back->ended, v1::AgentInfo::END_OOM_KILLED);
  ASSERT_EQ(back->limits.size(), 1u);
  EXPECT_FALSE(back->limits[0].in_force);
  EXPECT_TRUE(back->stop_requested);
}

TEST(AgentRecord, RejectsDamagedRecords) {
  for (const char* text : {"", "not json", "[]", "{}", R"({"id": 5})",
                           R"({"id":"x","name":"y","owner_uid":-1})"}) {
    EXPECT_FALSE(record_from_json(text).ok()) << text;
  }
  AgentRecord r;
  std::string json = to_json(r);
  json.replace(json.find("\"state\": 0"), 10, "\"state\": 99");
  EXPECT_FALSE(record_from_json(json).ok());
}

TEST(ProcessStartTime, KnowsItselfAndNotTheDead) {
  EXPECT_TRUE(process_start_time(::getpid()).has_value());
  EXPECT_FALSE(process_start_time(0x3fffffff).has_value());
}

}  // namespace
}  // namespace agentos
