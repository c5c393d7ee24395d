#include "server/delegate_start.h"

#include <algorithm>
#include <fstream>

#include "common/random_id.h"
#include "policy/narrow.h"

namespace agentos {

Result<broker::Delegation::Started> start_delegate(AgentManager& agents, const PolicyStore& policies,
                                                   const broker::Caller& by, const std::string& target,
                                                   const std::string& task) {
  const AgentRecord* caller = agents.find(by.agent_id);
  if (!caller) return error("the delegating agent is gone");
  auto mine = policy_of(*caller);
  if (!mine) return mine.error();
  if (!mine->delegate || std::find(mine->delegate->allow.begin(), mine->delegate->allow.end(), target) == mine->delegate->allow.end())
    return error(caller->name + " may not delegate to \"" + target + "\" ([delegate] allow)");
  std::vector<std::string> chain = caller->chain;
  chain.push_back(caller->name);
  if (std::find(chain.begin(), chain.end(), target) != chain.end())
    return error("delegating to " + target + " would close a cycle: " + [&] {
      std::string s;
      for (const auto& n : chain) s += n + " -> ";
      return s + target;
    }());
  if (chain.size() >= mine->delegate->max_depth)
    return error("the chain is already " + std::to_string(chain.size()) + " deep ([delegate] max_depth = " +
                 std::to_string(mine->delegate->max_depth) + ")");
  const policy::Policy* theirs = policies.find(target);
  if (!theirs) return error("no policy \"" + target + "\" in the policy directory");

  DelegateStart d;
  d.task = task;
  d.trace = caller->trace.empty() ? random_hex(8) : caller->trace;
  agents.set_trace(caller->id, d.trace);  // the chain's first agent carries the trace too
  d.delegated_by = caller->id;
  d.delegator_policies = caller->delegator_policies;
  d.delegator_policies.push_back(caller->policy_text);
  d.chain = chain;
  d.delegator = &*mine;

  // The delegate runs for the delegator's owner, as the owner's own agents do, with the groups
  // the delegator started with (its record's: no NSS lookup on the event loop). Root's agents run
  // as dynamic users, without groups.
  Peer owner;
  owner.uid = caller->owner_uid;
  if (owner.uid != 0) {
    owner.gid = caller->gid;
    owner.groups = caller->groups;
  }
  auto r = agents.run(policy::narrow(*theirs, *mine), owner, &d);
  if (!r) return error("cannot start " + target + ": " + r.error().str());
  return broker::Delegation::Started{(*r)->id, d.trace, mine->delegate->deadline_s};
}

std::string output_tail(const std::string& log_path, size_t max) {
  std::ifstream in(log_path, std::ios::binary | std::ios::ate);
  if (!in) return "";
  auto size = static_cast<size_t>(in.tellg());
  size_t from = size > max ? size - max : 0;
  in.seekg(static_cast<std::streamoff>(from));
  std::string out(size - from, '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  return out;
}

}  // namespace agentos
