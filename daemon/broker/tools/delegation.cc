#include "broker/tools/delegation.h"

namespace agentos::broker {

std::vector<ToolSpec> Delegation::tools() const {
  return {{"agent.delegate", "Hand a task to another agent ([delegate] allow); answers with its exit status and output",
           {{"type", "object"},
            {"properties", {{"agent", {{"type", "string"}}}, {"task", {{"type", "string"}, {"maxLength", 65536}}}}},
            {"required", {"agent", "task"}}}}};
}

ToolResult Delegation::call(const Caller&, const std::string&, const Json&) { return tool_error("agent.delegate answers later"); }

void Delegation::call_async(const Caller& who, const std::string&, const Json& args, Done done) {
  std::string why;
  const std::string* agent = string_arg(args, "agent", &why);
  const std::string* task = agent ? string_arg(args, "task", &why) : nullptr;
  if (!task) return done(tool_error(why));
  auto started = start_(who, *agent, *task);
  if (!started) return done(tool_error(started.error().str()));
  // Past the deadline the delegate is stopped, and the call answered once it has ended, so
  // nothing of it outlives the call.
  const std::string id = started->agent_id;
  waiting_[id] = {std::move(done), started->trace, loop_.after(std::chrono::seconds(started->deadline_s), [this, id] {
                    waiting_[id].timed_out = true;
                    stop_(id);
                  })};
}

void Delegation::finished(const std::string& agent_id, int exit_code, const std::string& reason, const std::string& output) {
  auto it = waiting_.find(agent_id);
  if (it == waiting_.end()) return;
  Waiting w = std::move(it->second);
  waiting_.erase(it);
  if (w.timed_out) return w.done(tool_error("the delegate did not finish before the deadline ([delegate] deadline)"));
  w.done({exit_code != 0, Json{{"agent_id", agent_id}, {"trace", w.trace}, {"exit_code", exit_code}, {"reason", reason}, {"output", output}}});
}

}  // namespace agentos::broker
