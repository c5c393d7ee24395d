#include "common/agent_change_text.h"

namespace agentos {
namespace {

struct Words {
  const char* noun;
  const char* done;  // in force
  const char* refused;
};

Words words_of(v1::AgentChange::Part part) {
  switch (part) {
    case v1::AgentChange::PART_NETWORK: return {"network grants", "replaced", "NOT replaced"};
    case v1::AgentChange::PART_FILES: return {"file grants", "replaced", "NOT replaced"};
    case v1::AgentChange::PART_EGRESS: return {"egress grants", "replaced", "NOT replaced"};
    case v1::AgentChange::PART_TOOLS: return {"tool grants", "replaced", "NOT replaced"};
    case v1::AgentChange::PART_ROUTES: return {"egress routes", "use the secrets as they are now", "NOT changed"};
    case v1::AgentChange::PART_APPROVALS: return {"approvals for this run", "taken back", "NOT taken back"};
    case v1::AgentChange::PART_POLICY_FILE: return {"its policy file", "changed", "is unchanged"};
    case v1::AgentChange::PART_OTHER: return {"other changes", "in force", "refused"};
    default: return {"part", "changed", "NOT changed"};
  }
}

}  // namespace

std::string agent_change_text(const v1::AgentChange& c) {
  Words w = words_of(c.part());
  std::string line = "agent " + c.agent_name() + " (" + c.agent_id() + "): " + w.noun + " ";
  switch (c.outcome()) {
    case v1::AgentChange::OUTCOME_IN_FORCE: line += w.done; break;
    case v1::AgentChange::OUTCOME_AT_NEXT_START: line += "take effect when it next starts"; break;
    case v1::AgentChange::OUTCOME_REFUSED: line += w.refused; break;
    default: line += "changed"; break;
  }
  if (!c.detail().empty()) line += (c.outcome() == v1::AgentChange::OUTCOME_IN_FORCE ? " (" + c.detail() + ")" : ": " + c.detail());
  return line;
}

v1::AgentChange agent_change(const std::string& agent_id, const std::string& agent_name, v1::AgentChange::Part part,
                             v1::AgentChange::Outcome outcome, const std::string& detail) {
  v1::AgentChange c;
  c.set_agent_id(agent_id);
  c.set_agent_name(agent_name);
  c.set_part(part);
  c.set_outcome(outcome);
  c.set_detail(detail);
  return c;
}

}  // namespace agentos
