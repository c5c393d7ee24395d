#include "agentctl/run_args.h"

namespace agentos::ctl {

SplitArgs split_run_command(const std::vector<std::string>& argv) {
  SplitArgs out{argv, {}};
  // Find the subcommand: the first word that is neither a global option nor its value.
  size_t i = 1;
  for (; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "--") return out;
    if (a == "--socket") {
      ++i;  // its value may be any word, "run" included
      continue;
    }
    if (a.starts_with("-")) continue;
    break;
  }
  if (i >= argv.size() || argv[i] != "run") return out;
  for (size_t j = i + 1; j < argv.size(); ++j) {
    if (argv[j] == "--") {
      out.cli.assign(argv.begin(), argv.begin() + static_cast<std::ptrdiff_t>(j));
      out.command.assign(argv.begin() + static_cast<std::ptrdiff_t>(j) + 1, argv.end());
      return out;
    }
  }
  return out;
}

}  // namespace agentos::ctl
