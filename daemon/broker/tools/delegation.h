// The `agent.delegate` tool: an agent hands a task to another agent, through the daemon, which
// starts the delegate under its own policy narrowed to the delegator's (policy/narrow.h), gives
// it the task (AGENTOS_TASK), and answers the call with the delegate's result once it exits: its
// exit status and its output. [delegate] allow, max_depth and deadline apply, and cycles are
// refused; the whole chain shares one trace id in the audit trail.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>

#include "broker/tool.h"
#include "common/event_loop.h"
#include "common/result.h"

namespace agentos::broker {

class Delegation : public Provider {
 public:
  struct Started {
    std::string agent_id;
    std::string trace;
    uint32_t deadline_s = 0;
  };
  using Start = std::function<Result<Started>(const Caller& by, const std::string& agent, const std::string& task)>;
  using Stop = std::function<void(const std::string& agent_id)>;

  Delegation(EventLoop& loop, Start start, Stop stop) : loop_(loop), start_(std::move(start)), stop_(std::move(stop)) {}
  [[nodiscard]] std::vector<ToolSpec> tools() const override;
  [[nodiscard]] ToolResult call(const Caller&, const std::string&, const Json&) override;
  void call_async(const Caller& who, const std::string& tool, const Json& args, Done done) override;

  // The delegate `agent_id` ended: its exit code, how, and the tail of its output.
  void finished(const std::string& agent_id, int exit_code, const std::string& reason, const std::string& output);

 private:
  struct Waiting {
    Done done;
    std::string trace;
    EventLoop::Timer deadline;  // [delegate] deadline
    bool timed_out = false;
  };
  EventLoop& loop_;
  Start start_;
  Stop stop_;
  std::map<std::string, Waiting> waiting_;  // by the delegate's agent id
};

}  // namespace agentos::broker
