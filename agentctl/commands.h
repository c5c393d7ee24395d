// The agentctl subcommands. Each returns the exit status or a Failure that main reports.
#pragma once

#include <string>
#include <vector>

#include "agentctl/here.h"
#include "agentctl/outcome.h"

namespace agentos::ctl {

struct Globals {
  std::string socket;
  bool json = false;
};

// cmd_status.cc
Outcome<int> cmd_status(const Globals& g);
Outcome<int> cmd_doctor(const Globals& g);

// cmd_policy.cc
Outcome<int> cmd_policy_check(const Globals& g, const std::vector<std::string>& files);
Outcome<int> cmd_policy_list(const Globals& g);
Outcome<int> cmd_policy_apply(const Globals& g, const std::vector<std::string>& files);

// cmd_run.cc
struct RunOptions {
  std::string name;  // exactly one of name and policy_file
  std::string policy_file;
  std::vector<std::string> command;  // empty: the policy's command
  bool detach = false;
  bool tty = false;  // a terminal of the agent's own, driven from ours
  bool interactive = false;  // our stdin to the agent's
  bool here = false;  // a policy made from profiles and flags (here.h), instead of name/policy_file
  bool print_policy = false;  // with here: print it, run nothing
  HereOptions here_opts;
};
Outcome<int> cmd_run(const Globals& g, const RunOptions& opts);
Outcome<int> cmd_attach(const Globals& g, const std::string& agent);

// cmd_completion.cc: the scripts, and the words they ask for (agents, policies, profiles).
Outcome<int> cmd_completion(const std::string& shell);
Outcome<int> cmd_complete(const Globals& g, const std::string& what);

// cmd_agents.cc
Outcome<int> cmd_ps(const Globals& g, bool all);
Outcome<int> cmd_stop(const Globals& g, const std::string& agent);
// rm AGENT... (a running one is refused), prune (every ended agent the caller may see).
Outcome<int> cmd_remove(const Globals& g, const std::vector<std::string>& agents, bool all_ended);
Outcome<int> cmd_logs(const Globals& g, const std::string& agent, bool follow);
Outcome<int> cmd_inspect(const Globals& g, const std::string& agent);

// cmd_secret.cc
Outcome<int> cmd_secret_set(const Globals& g, const std::string& name, const std::string& file);
Outcome<int> cmd_secret_list(const Globals& g);
Outcome<int> cmd_secret_remove(const Globals& g, const std::string& name);

// cmd_consent.cc
Outcome<int> cmd_pending(const Globals& g, bool follow);
Outcome<int> cmd_answer(const Globals& g, const std::string& id, bool approve, const std::string& scope);
Outcome<int> cmd_revoke(const Globals& g, const std::string& agent, const std::string& tool);

// cmd_audit.cc
Outcome<int> cmd_audit(const Globals& g, const std::string& agent, bool follow);
// cmd_audit_verify.cc: `path` is audit.log; audit.log.1 beside it is read first.
Outcome<int> cmd_audit_verify(const Globals& g, const std::string& path, const std::vector<std::string>& anchors);

}  // namespace agentos::ctl
