// agentctl: the command-line client of agentosd (docs/agentctl.md).
//
// This file owns the command line and the one place where failures are reported: commands
// return a Failure, and only main prints it, so every error is a single "agentctl: ..." line.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "common/version.h"
#include "agentctl/commands.h"
#include "agentctl/outcome.h"
#include "agentctl/run_args.h"

namespace agentos::ctl {
namespace {

constexpr const char* kDefaultSocket = "/run/agentos/agentosd.sock";

std::string default_socket() {
  const char* env = std::getenv("AGENTOS_SOCKET");
  return env != nullptr && *env != '\0' ? env : kDefaultSocket;
}

// Messages from CLI11 and from exceptions can span lines; the contract is one line per error.
std::string one_line(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  std::string out;
  for (char c : s) {
    if (c == '\n') {
      out += "; ";
    } else {
      out += c;
    }
  }
  return out;
}

// "agentctl policy check --help": the help of the deepest subcommand the parser reached.
std::string help_hint(const CLI::App& app) {
  std::string cmd = "agentctl";
  const CLI::App* cur = &app;
  while (true) {
    auto subs = cur->get_subcommands();
    if (subs.empty()) break;
    cur = subs.front();
    cmd += " " + cur->get_name();
  }
  return "see '" + cmd + " --help'";
}

int report(const Failure& f, const std::string& hint) {
  std::cout.flush();  // so that what a command printed comes before its error
  for (const auto& d : f.diagnostics) std::cerr << d << '\n';
  std::cerr << "agentctl: " << one_line(f.message);
  if (f.exit_code == kExitUsage) std::cerr << " (" << hint << ")";
  std::cerr << '\n';
  return f.exit_code;
}

int run_main(int argc, char** argv) {
  SplitArgs split = split_run_command(std::vector<std::string>(argv, argv + argc));
  Globals g;
  g.socket = default_socket();

  CLI::App app{"Control agentosd: run AI agents under per-agent confinement policies.", "agentctl"};
  app.set_version_flag("--version", std::string("agentctl ") + agentos::kVersion);
  app.add_option(
      "--socket", g.socket,
      "agentosd's socket (default: $AGENTOS_SOCKET, else " + std::string(kDefaultSocket) + ")");
  app.add_flag("--json", g.json, "Machine-readable output: one JSON document on stdout");
  // At most one; "none" is reported below, so that an unknown word is named as such rather
  // than reported as a missing command.
  app.require_subcommand(0, 1);
  app.fallthrough();  // global options may follow the subcommand: agentctl ps --json

  auto* status = app.add_subcommand("status", "Show the daemon's version, uptime and layers");
  auto* doctor =
      app.add_subcommand("doctor", "Show which confinement layers this machine provides");

  auto* policy = app.add_subcommand("policy", "Check, list and apply policies");
  std::vector<std::string> check_files, apply_files;
  auto* check = policy->add_subcommand("check", "Validate policy files locally (no daemon needed)");
  check->add_option("FILE", check_files, "Policy files")->required();
  auto* list = policy->add_subcommand("list", "List the policies the daemon has loaded");
  auto* apply = policy->add_subcommand(
      "apply", "Install policy files into the policy directory, or reload it (admin only)");
  apply->add_option("FILE", apply_files, "Policy files; none: reread the policy directory");

  RunOptions run_opts;
  auto* run =
      app.add_subcommand("run", "Start an agent: agentctl run NAME|--policy FILE [-- CMD...]");
  auto* run_name = run->add_option("NAME", run_opts.name, "A policy loaded by the daemon");
  auto* run_policy =
      run->add_option("--policy", run_opts.policy_file, "Run under this policy file instead");
  run_name->excludes(run_policy);
  auto* here = run->add_flag("--here", run_opts.here,
                             "Run CMD confined to the current directory (its only writable grant), from profiles and flags");
  here->excludes(run_name)->excludes(run_policy);
  auto& ho = run_opts.here_opts;
  run->add_option("--profile", ho.profiles, "With --here: add a profile (base always; python, node, coding-agent, ...)")
      ->needs(here);
  run->add_option("--read", ho.read, "With --here: a path the agent may read")->needs(here);
  run->add_option("--write", ho.write, "With --here: a path the agent may write")->needs(here);
  run->add_option("--exec", ho.exec, "With --here: a path the agent may run programs from")->needs(here);
  run->add_option("--allow-host", ho.allow_hosts, "With --here: a NAME:PORT it may reach through the egress gateway")
      ->needs(here);
  run->add_option("--tool", ho.tools, "With --here: a platform tool it may call (kv, fs.read, ...)")->needs(here);
  run->add_option("--device", ho.devices, "With --here: a device node it may open (/dev/kvm, ...)")->needs(here);
  run->add_flag("--print-policy", run_opts.print_policy, "With --here: print the policy it would run under, and exit")
      ->needs(here);
  run->add_flag("--detach", run_opts.detach, "Print the agent's id and return once it started");
  run->add_flag("-t,--tty", run_opts.tty,
                "Give the agent a terminal of its own, driven from ours (raw mode; detach: Ctrl-P Ctrl-Q)");
  run->add_flag("-i,--interactive", run_opts.interactive, "Pass our standard input to the agent (its end ends the agent's)");
  run->footer("Words after \"--\" replace the policy's command: agentctl run NAME -- CMD ARGS...\n"
              "Attached (without --detach), the agent ends when agentctl does, unless detached; SIGINT, SIGTERM\n"
              "and SIGHUP sent to agentctl are passed to it, and its exit status is agentctl's.");

  std::string attach_agent;
  auto* attach = app.add_subcommand("attach", "Attach to a running agent's console (detach: Ctrl-P Ctrl-Q)");
  attach->add_option("AGENT", attach_agent, "Agent id or name")->required();

  bool ps_all = false;
  auto* ps = app.add_subcommand("ps", "List agents");
  ps->add_flag("-a,--all", ps_all, "Include agents that have exited");

  std::string stop_agent, logs_agent, inspect_agent;
  auto* stop = app.add_subcommand("stop", "Stop an agent");
  stop->add_option("AGENT", stop_agent, "Agent id or name")->required();
  std::vector<std::string> rm_agents;
  auto* rm = app.add_subcommand("rm", "Forget agents that have ended: their records and logs");
  rm->add_option("AGENT", rm_agents, "Agent ids or names")->required();
  auto* prune = app.add_subcommand("prune", "Forget every ended agent of yours (every one's, for admins)");
  std::string completion_shell, complete_what;
  auto* completion = app.add_subcommand("completion", "Print the shell completion script: agentctl completion bash|zsh|fish");
  completion->add_option("SHELL", completion_shell, "bash, zsh or fish")->required();
  auto* complete = app.add_subcommand("__complete", "");  // for the scripts: agents, policies or profiles, one per line
  complete->group("");
  complete->add_option("WHAT", complete_what)->required();
  bool follow = false;
  auto* logs = app.add_subcommand("logs", "Print an agent's output");
  logs->add_option("AGENT", logs_agent, "Agent id or name")->required();
  logs->add_flag("-f,--follow", follow, "Keep printing output until the agent exits");
  auto* inspect = app.add_subcommand("inspect", "Show an agent, its namespaces, layers and policy");
  inspect->add_option("AGENT", inspect_agent, "Agent id or name")->required();

  std::string audit_agent;
  bool audit_follow = false;
  auto* audit = app.add_subcommand("audit", "Show the audit trail of your agents (every agent's, for admins)");
  audit->add_option("--agent", audit_agent, "Only this agent (id or name)");
  audit->add_flag("-f,--follow", audit_follow, "Keep printing new events");
  audit->require_subcommand(0, 1);
  std::string verify_path = "/var/lib/agentos/audit.log";
  std::vector<std::string> verify_anchors;
  auto* verify = audit->add_subcommand("verify", "Check the audit trail's hash chain in its files (root)");
  verify->add_option("FILE", verify_path, "The trail; FILE.1 beside it is read first")->capture_default_str();
  verify->add_option("--anchor", verify_anchors, "SEQ:HASH of a record, from the journal (AUDIT_SEQ, AUDIT_HASH)");

  std::string secret_name, secret_file;
  auto* secret = app.add_subcommand("secret", "Keep secrets your agents' egress routes use, never see");
  auto* secret_set = secret->add_subcommand("set", "Set a secret from standard input (or --file), never argv");
  secret_set->add_option("NAME", secret_name, "Its name, as {secret:NAME} in a route's header")->required();
  secret_set->add_option("--file", secret_file, "Read the value from this file instead");
  auto* secret_list = secret->add_subcommand("list", "List your secrets (names only)");
  auto* secret_rm = secret->add_subcommand("rm", "Remove a secret");
  secret_rm->add_option("NAME", secret_name, "Its name")->required();

  bool pending_follow = false;
  auto* pending = app.add_subcommand("pending", "List tool calls of your agents that wait for your consent");
  pending->add_flag("-f,--follow", pending_follow, "Keep printing calls as they start waiting");
  std::string answer_id, answer_scope = "once";
  auto* approve = app.add_subcommand("approve", "Let a waiting tool call run");
  approve->add_option("ID", answer_id, "The call, as pending lists it")->required();
  approve->add_option("--scope", answer_scope, "once (this call), session (this tool for this run) or always (written into the policy)");
  auto* deny = app.add_subcommand("deny", "Refuse a waiting tool call");
  deny->add_option("ID", answer_id, "The call, as pending lists it")->required();
  std::string revoke_agent, revoke_tool;
  auto* revoke = app.add_subcommand("revoke", "Take a tool away from a running agent, from its next call");
  revoke->add_option("AGENT", revoke_agent, "Agent id or name")->required();
  revoke->add_option("TOOL", revoke_tool, "The tool or family granted (\"kv\", \"email.send\")")->required();

  app.footer(
      "Exit status: 0 success, 1 request failed, 2 usage error, 3 agentosd unreachable;\n"
      "run without --detach exits with the agent's status. See agentctl(1).");

  std::vector<char*> cli_argv;
  for (auto& a : split.cli) cli_argv.push_back(a.data());
  try {
    app.parse(static_cast<int>(cli_argv.size()), cli_argv.data());
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    return report(usage_error(e.what()), help_hint(app));
  }
  std::string hint = help_hint(app);

  Outcome<int> result = kExitOk;
  if (status->parsed()) {
    result = cmd_status(g);
  } else if (doctor->parsed()) {
    result = cmd_doctor(g);
  } else if (check->parsed()) {
    result = cmd_policy_check(g, check_files);
  } else if (list->parsed()) {
    result = cmd_policy_list(g);
  } else if (apply->parsed()) {
    result = cmd_policy_apply(g, apply_files);
  } else if (run->parsed()) {
    run_opts.command = split.command;
    run_opts.here_opts.command = split.command;
    if (!run_opts.here && run_opts.name.empty() == run_opts.policy_file.empty()) {
      result = usage_error("run needs a policy NAME, --policy FILE or --here");
    } else {
      result = cmd_run(g, run_opts);
    }
  } else if (attach->parsed()) {
    result = cmd_attach(g, attach_agent);
  } else if (ps->parsed()) {
    result = cmd_ps(g, ps_all);
  } else if (stop->parsed()) {
    result = cmd_stop(g, stop_agent);
  } else if (completion->parsed()) {
    result = cmd_completion(completion_shell);
  } else if (complete->parsed()) {
    result = cmd_complete(g, complete_what);
  } else if (rm->parsed()) {
    result = cmd_remove(g, rm_agents, false);
  } else if (prune->parsed()) {
    result = cmd_remove(g, {}, true);
  } else if (logs->parsed()) {
    result = cmd_logs(g, logs_agent, follow);
  } else if (inspect->parsed()) {
    result = cmd_inspect(g, inspect_agent);
  } else if (verify->parsed()) {
    result = cmd_audit_verify(g, verify_path, verify_anchors);
  } else if (audit->parsed()) {
    result = cmd_audit(g, audit_agent, audit_follow);
  } else if (pending->parsed()) {
    result = cmd_pending(g, pending_follow);
  } else if (approve->parsed()) {
    result = cmd_answer(g, answer_id, true, answer_scope);
  } else if (deny->parsed()) {
    result = cmd_answer(g, answer_id, false, "once");
  } else if (revoke->parsed()) {
    result = cmd_revoke(g, revoke_agent, revoke_tool);
  } else if (secret_set->parsed()) {
    result = cmd_secret_set(g, secret_name, secret_file);
  } else if (secret_list->parsed()) {
    result = cmd_secret_list(g);
  } else if (secret_rm->parsed()) {
    result = cmd_secret_remove(g, secret_name);
  } else {
    result = usage_error(policy->parsed()   ? "policy needs a command: check, list or apply"
                         : secret->parsed() ? "secret needs a command: set, list or rm"
                                            : "missing command");
  }

  if (!result) return report(result.error(), hint);
  std::cout.flush();
  if (!std::cout) return report(failed("cannot write to standard output"), hint);
  return *result;
}

}  // namespace
}  // namespace agentos::ctl

int main(int argc, char** argv) {
  try {
    return agentos::ctl::run_main(argc, argv);
  } catch (const std::exception& e) {
    return agentos::ctl::report(agentos::ctl::failed(e.what()), "");
  } catch (...) {
    return agentos::ctl::report(agentos::ctl::failed("unexpected internal error"), "");
  }
}
