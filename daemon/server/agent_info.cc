#include "server/agent_info.h"

namespace agentos {

void fill_agent_info(const AgentRecord& r, v1::AgentInfo* out) {
  out->set_id(r.id);
  out->set_name(r.name);
  out->set_owner_uid(r.owner_uid);
  out->set_uid(r.uid);
  out->set_gid(r.gid);
  out->set_pid(r.init_pid);
  switch (r.state) {
    case AgentState::kRunning: out->set_state(v1::AgentInfo::STATE_RUNNING); break;
    case AgentState::kExited: out->set_state(v1::AgentInfo::STATE_EXITED); break;
    case AgentState::kLost: out->set_state(v1::AgentInfo::STATE_LOST); break;
  }
  out->set_exit_code(r.exit_code);
  out->set_cgroup(r.cgroup);
  out->set_started_unix(r.started_unix);
  for (const auto& a : r.command) out->add_command(a);
  out->set_policy_path(r.policy_path);
  out->set_reason(r.reason);
  out->set_ended(r.ended);
  out->set_signal(r.signal);
  out->set_terminal(r.terminal);
  out->set_interactive(r.interactive);
}

}  // namespace agentos
