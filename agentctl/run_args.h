// Splits `agentctl ... run ... -- CMD ARGS...` before CLI11 sees it.
//
// CLI11 hands everything after "--" to the positionals in order, so the agent's command would
// land in run's NAME positional. Taking it out first keeps "--" meaning what it means to every
// other Unix tool: all that follows is the agent's argv, even words that look like options.
#pragma once

#include <string>
#include <vector>

namespace agentos::ctl {

struct SplitArgs {
  std::vector<std::string> cli;      // argv[0] and everything CLI11 should parse
  std::vector<std::string> command;  // the agent's argv (after "--" in run), possibly empty
};

// Splits only when the subcommand is `run`; for other commands "--" is left to CLI11.
[[nodiscard]] SplitArgs split_run_command(const std::vector<std::string>& argv);

}  // namespace agentos::ctl
