// How the daemon's parts learn what happens to agents: each subscribes to AgentManager once, at
// construction, instead of the manager knowing them.
#pragma once

#include <string>
#include <string_view>

#include "sandbox/console.h"
#include "server/agent_record.h"

namespace agentos {

class AgentObserver {
 public:
  virtual void started(const AgentRecord&) {}  // it runs
  virtual void adopted(const AgentRecord&) {}  // a restarted daemon found it running
  virtual void exited(const AgentRecord&) {}   // its record says how it ended
  // Output from its console as it arrives, and the monitor having taken all input queued for it.
  virtual void console_output(const std::string& /*id*/, sandbox::ConsoleKind, std::string_view /*data*/) {}
  virtual void console_drained(const std::string& /*id*/) {}

 protected:
  ~AgentObserver() = default;  // not owned through this interface
};

}  // namespace agentos
