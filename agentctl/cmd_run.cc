// run: start an agent, then either print its id (--detach) or stay attached to its output.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <iostream>

#include "agentctl/agent_output.h"
#include "agentctl/commands.h"
#include "agentctl/console.h"
#include "agentctl/connection.h"
#include "agentctl/output.h"
#include "agentctl/policy_file.h"

namespace agentos::ctl {
namespace {

Outcome<int> exit_status(const agentos::v1::AgentExit& exit) {
  if (exit.signal() != 0) {
    std::cerr << "agentctl: agent " << exit.id() << ": "
              << (exit.reason().empty() ? "killed by signal " + std::to_string(exit.signal())
                                        : exit.reason())
              << '\n';
  }
  int code = exit.exit_code();
  // A status the shell cannot represent must not wrap around to 0 (success).
  return code >= 0 && code <= 255 ? code : kExitFailed;
}

// The console until the agent ends (its status is ours) or we detach (0).
Outcome<int> follow_console(Connection& conn, const std::string& id, ConsoleOptions opts) {
  auto end = run_console(conn, opts);
  if (!end) return end.error();
  if (end->detached) {
    std::cerr << "\nagentctl: detached; agent " << id << " keeps running (agentctl attach " << id << ", agentctl stop "
              << id << ")\n";
    return kExitOk;
  }
  if (!end->exit) return failed("daemon ended the stream without agent " + id + "'s exit status");
  return exit_status(*end->exit);
}

// Sends a run (attached) or attach request. Signals wait from here on: one that arrives while the
// agent starts is passed to it once the console is ours (console.cc), not lost nor taken as ours.
struct Console {
  Connection conn;
  agentos::v1::AgentInfo agent;  // from the first reply
};

Outcome<Console> open_console(const Globals& g, const agentos::v1::Request& req, const char* what) {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGWINCH}) sigaddset(&set, sig);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  auto conn = Connection::open(g.socket);
  if (!conn) return conn.error();
  if (auto s = conn->send(req); !s) return s.error();
  auto first = conn->next();
  if (!first) return first.error();
  if (!first->has_run()) return unexpected_reply(what);
  return Console{std::move(*conn), first->run().agent()};
}

}  // namespace

Outcome<int> cmd_run(const Globals& g, const RunOptions& opts) {
  if (opts.print_policy) {
    if (!opts.here) return usage_error("--print-policy goes with --here");
    auto text = here_policy(opts.here_opts);
    if (!text) return text.error();
    std::cout << *text;
    return kExitOk;
  }
  if (g.json && !opts.detach) {
    return usage_error("run --json needs --detach: attached, the output is the agent's own");
  }
  if (opts.detach && (opts.tty || opts.interactive)) return usage_error("run --detach takes no -t or -i: attach later");
  if (!opts.detach)
    if (auto why = stdin_misuse(opts.interactive, opts.tty)) return usage_error(*why);
  agentos::v1::Request req;
  auto* run = req.mutable_run();
  if (opts.here) {
    auto text = here_policy(opts.here_opts);
    if (!text) return text.error();
    run->mutable_policy()->set_path("agentctl-run-here.toml");
    run->mutable_policy()->set_content(std::move(text).value());
  } else if (!opts.policy_file.empty()) {
    auto content = read_policy_file(opts.policy_file);
    if (!content) return content.error();
    run->mutable_policy()->set_path(opts.policy_file);
    run->mutable_policy()->set_content(std::move(content).value());
  } else {
    run->set_name(opts.name);
  }
  if (!opts.here)
    for (const auto& arg : opts.command) run->add_command(arg);
  run->set_attach(!opts.detach);
  run->set_interactive(opts.interactive || opts.tty);
  run->set_tty(opts.tty);
  if (opts.tty) {
    if (auto ws = terminal_size(STDIN_FILENO)) *run->mutable_size() = *ws;
    if (const char* term = std::getenv("TERM")) run->set_term(term);
  }

  if (opts.detach) {
    auto resp = call(g.socket, req);
    if (!resp) return resp.error();
    if (!resp->has_run()) return unexpected_reply("run");
    if (g.json) {
      print_json(agent_json(resp->run().agent()));
    } else {
      std::cout << resp->run().agent().id() << '\n';
    }
    return kExitOk;
  }

  auto c = open_console(g, req, "run");
  if (!c) return c.error();
  if (c->conn.finished())
    return failed("daemon ended the stream before agent " + c->agent.id() + " exited");
  return follow_console(c->conn, c->agent.id(), {opts.interactive || opts.tty, opts.tty});
}

Outcome<int> cmd_attach(const Globals& g, const std::string& agent_key) {
  agentos::v1::Request req;
  req.mutable_attach()->set_agent(agent_key);
  if (auto ws = terminal_size(STDIN_FILENO)) *req.mutable_attach()->mutable_size() = *ws;
  auto c = open_console(g, req, "attach");
  if (!c) return c.error();
  const auto& agent = c->agent;
  // Raw mode only in the terminal's foreground: from the background, taking it would stop us.
  bool terminal = agent.terminal() && ::isatty(STDIN_FILENO) && ::tcgetpgrp(STDIN_FILENO) == ::getpgrp();
  if (terminal) std::cerr << "agentctl: attached to agent " << agent.id() << " (detach: Ctrl-P Ctrl-Q)\r\n";
  return follow_console(c->conn, agent.id(), {agent.interactive(), terminal});
}

}  // namespace agentos::ctl
