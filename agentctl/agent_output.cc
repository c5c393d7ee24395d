#include "agentctl/agent_output.h"

#include "agentctl/output.h"

namespace agentos::ctl {

Outcome<std::optional<agentos::v1::AgentExit>> copy_agent_output(Connection& conn, int out_fd) {
  std::optional<agentos::v1::AgentExit> exit;
  while (!conn.finished()) {
    auto resp = conn.next();
    if (!resp) return resp.error();
    if (resp->has_log()) {
      // Unbuffered: an interactive agent's prompt must show before it waits for anything.
      if (auto s = write_all(out_fd, resp->log().data()); !s) {
        return failed("writing the agent's output: " + s.error().str());
      }
    } else if (resp->has_exit()) {
      exit = resp->exit();
    }
    // Other kinds are ignored, so that a newer daemon can add progress messages.
  }
  return exit;
}

}  // namespace agentos::ctl
