#include "agentctl/output.h"

#include <gtest/gtest.h>

#include <sstream>

#include "agentctl/table.h"

namespace agentos::ctl {
namespace {

using agentos::v1::AgentInfo;

AgentInfo sample_agent() {
  AgentInfo a;
  a.set_id("a1b2");
  a.set_name("web");
  a.set_owner_uid(1000);
  a.set_uid(100000);
  a.set_gid(100000);
  a.set_pid(4242);
  a.set_state(AgentInfo::STATE_RUNNING);
  a.set_exit_code(0);
  a.set_cgroup("/agentos.slice/web");
  a.set_started_unix(1700000000);
  a.add_command("/usr/bin/python3");
  a.add_command("-c");
  a.add_command("print('hi')");
  a.set_policy_path("/etc/agentos/policies/web.toml");
  return a;
}

TEST(AgentJson, HasEveryFieldWithStableNames) {
  Json j = agent_json(sample_agent());
  EXPECT_EQ(j["id"], "a1b2");
  EXPECT_EQ(j["name"], "web");
  EXPECT_EQ(j["owner_uid"], 1000);
  EXPECT_EQ(j["uid"], 100000);
  EXPECT_EQ(j["gid"], 100000);
  EXPECT_EQ(j["pid"], 4242);
  EXPECT_EQ(j["state"], "running");
  EXPECT_TRUE(j["exit_code"].is_null());  // still running: no status yet
  EXPECT_EQ(j["cgroup"], "/agentos.slice/web");
  EXPECT_EQ(j["started_unix"], 1700000000);
  EXPECT_EQ(j["command"], Json({"/usr/bin/python3", "-c", "print('hi')"}));
  EXPECT_EQ(j["policy_path"], "/etc/agentos/policies/web.toml");
}

TEST(AgentJson, ExitedAgentCarriesItsStatus) {
  AgentInfo a = sample_agent();
  a.set_state(AgentInfo::STATE_EXITED);
  a.set_exit_code(3);
  Json j = agent_json(a);
  EXPECT_EQ(j["state"], "exited");
  EXPECT_EQ(j["exit_code"], 3);
}

TEST(PrintJson, InvalidUtf8IsReplacedNotThrown) {
  AgentInfo a = sample_agent();
  a.set_name("bad\xff");
  testing::internal::CaptureStdout();
  EXPECT_NO_THROW(print_json(agent_json(a)));
  std::string out = testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("bad\xef\xbf\xbd"), std::string::npos);
}

TEST(ShellJoin, QuotesOnlyWhatTheShellWouldSplit) {
  EXPECT_EQ(shell_join(std::vector<std::string>{"/bin/sh", "-c", "echo it's"}),
            "/bin/sh -c 'echo it'\\''s'");
  EXPECT_EQ(shell_join(std::vector<std::string>{"a", ""}), "a ''");
  EXPECT_EQ(shell_join(std::vector<std::string>{}), "");
}

TEST(Age, RoundsDownToOneUnit) {
  EXPECT_EQ(age(0, 100), "-");
  EXPECT_EQ(age(100, 145), "45s");
  EXPECT_EQ(age(100, 100 + 125), "2m");
  EXPECT_EQ(age(100, 100 + 3 * 3600 + 5), "3h");
  EXPECT_EQ(age(100, 100 + 2 * 86400), "2d");
  EXPECT_EQ(age(200, 100), "0s");  // clock went backwards
}

TEST(Duration, ShowsTheTwoLargestUnits) {
  EXPECT_EQ(duration(5), "5s");
  EXPECT_EQ(duration(65), "1m 5s");
  EXPECT_EQ(duration(3 * 3600 + 120), "3h 2m");
  EXPECT_EQ(duration(86400 + 3600 + 60), "1d 1h 1m");
}

TEST(Table, PadsAllButTheLastColumn) {
  Table t({"ID", "NAME", "COMMAND"});
  t.add({"a1", "webserver", "/bin/true"});
  std::ostringstream out;
  t.print(out);
  EXPECT_EQ(out.str(),
            "ID  NAME       COMMAND\n"
            "a1  webserver  /bin/true\n");
}

}  // namespace
}  // namespace agentos::ctl
