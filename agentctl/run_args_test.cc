#include "agentctl/run_args.h"

#include <gtest/gtest.h>

namespace agentos::ctl {
namespace {

using V = std::vector<std::string>;

TEST(SplitRunCommand, TakesEverythingAfterDoubleDashForRun) {
  SplitArgs s = split_run_command({"agentctl", "run", "web", "--", "/bin/sh", "-c", "--", "x"});
  EXPECT_EQ(s.cli, V({"agentctl", "run", "web"}));
  EXPECT_EQ(s.command, V({"/bin/sh", "-c", "--", "x"}));
}

TEST(SplitRunCommand, SkipsGlobalOptionsAndTheSocketValue) {
  SplitArgs s = split_run_command(
      {"agentctl", "--socket", "run", "--json", "run", "--detach", "web", "--", "ls"});
  EXPECT_EQ(s.cli, V({"agentctl", "--socket", "run", "--json", "run", "--detach", "web"}));
  EXPECT_EQ(s.command, V({"ls"}));
}

TEST(SplitRunCommand, EmptyCommandAfterDoubleDash) {
  SplitArgs s = split_run_command({"agentctl", "run", "web", "--"});
  EXPECT_EQ(s.cli, V({"agentctl", "run", "web"}));
  EXPECT_TRUE(s.command.empty());
}

TEST(SplitRunCommand, LeavesOtherCommandsToCli11) {
  V argv{"agentctl", "policy", "check", "--", "-odd.toml"};
  SplitArgs s = split_run_command(argv);
  EXPECT_EQ(s.cli, argv);
  EXPECT_TRUE(s.command.empty());

  V before{"agentctl", "--", "run", "x", "--", "y"};
  EXPECT_EQ(split_run_command(before).cli, before);
}

}  // namespace
}  // namespace agentos::ctl
