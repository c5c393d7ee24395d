// run: start an agent, then either print its id (--detach) or stay attached to its output.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <iostream>

#include "agentctl/agent_output.h"
#include "agentctl/commands.h"
#include "agentctl/connection.h"
#include "agentctl/output.h"
#include "agentctl/policy_file.h"

namespace agentos::ctl {
namespace {

// What to say when Ctrl-C detaches us. Prepared before it is needed because the handler may
// only call async-signal-safe functions; swapped whole so the handler never sees half a text.
struct InterruptNote {
  char text[512];
  size_t len;
};
InterruptNote g_notes[2];
std::atomic<const InterruptNote*> g_note{nullptr};

void on_interrupt(int) {
  if (const InterruptNote* n = g_note.load()) {
    ssize_t ignored = ::write(STDERR_FILENO, n->text, n->len);
    (void)ignored;
  }
  // Exiting only closes our connection: the daemon owns the agent, which keeps running.
  ::_exit(130);
}

void set_interrupt_note(int slot, const std::string& text) {
  InterruptNote& n = g_notes[slot];
  n.len = static_cast<size_t>(std::snprintf(n.text, sizeof n.text, "%s", text.c_str()));
  if (n.len >= sizeof n.text) n.len = sizeof n.text - 1;
  g_note.store(&n);
}

void detach_on_interrupt() {
  set_interrupt_note(0, "\nagentctl: interrupted; the agent may have started (see agentctl ps)\n");
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
}

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

}  // namespace

Outcome<int> cmd_run(const Globals& g, const RunOptions& opts) {
  if (g.json && !opts.detach) {
    return usage_error("run --json needs --detach: attached, the output is the agent's own");
  }
  agentos::v1::Request req;
  auto* run = req.mutable_run();
  if (!opts.policy_file.empty()) {
    auto content = read_policy_file(opts.policy_file);
    if (!content) return content.error();
    run->mutable_policy()->set_path(opts.policy_file);
    run->mutable_policy()->set_content(std::move(content).value());
  } else {
    run->set_name(opts.name);
  }
  for (const auto& arg : opts.command) run->add_command(arg);
  run->set_attach(!opts.detach);

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

  auto conn = Connection::open(g.socket);
  if (!conn) return conn.error();
  detach_on_interrupt();
  if (auto s = conn->send(req); !s) return s.error();
  auto started = conn->next();
  if (!started) return started.error();
  if (!started->has_run()) return unexpected_reply("run");
  const auto& agent = started->run().agent();
  set_interrupt_note(1, "\nagentctl: detached; agent " + agent.id() +
                            " keeps running (stop it with: agentctl stop " + agent.id() + ")\n");
  if (conn->finished())
    return failed("daemon ended the stream before agent " + agent.id() + " exited");

  auto exit = copy_agent_output(*conn, STDOUT_FILENO);
  if (!exit) return exit.error();
  if (!exit->has_value()) {
    return failed("daemon ended the stream without agent " + agent.id() + "'s exit status");
  }
  return exit_status(**exit);
}

}  // namespace agentos::ctl
