#include "server/consent_policy.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "common/atomic_file.h"
#include "common/log.h"

namespace agentos {

Result<std::vector<v1::AgentChange>> edit_agent_policy(PolicyStore& store, AgentManager& agents, const AgentRecord& r,
                                                       const PolicyChange& change, const std::string& tool) {
  const std::string& path = r.policy_path;
  // Only a file the daemon itself loaded for this agent, by name: a client's `run --policy FILE`
  // may claim any path, one in the policy directory included.
  const policy::Policy* loaded = store.find(r.name);
  struct stat st;
  if (!r.from_policy_dir || !loaded || loaded->source_path != path || ::lstat(path.c_str(), &st) != 0 ||
      !S_ISREG(st.st_mode))
    return error("agent " + r.name + "'s policy did not come from the policy directory " + store.dir() +
                 ": only this run of it changes");
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (text.str() != r.policy_text) return error(path + " changed since the agent started; apply it first");
  auto edited = change(text.str(), path, tool);
  if (!edited) return edited.error();
  if (auto s = write_file_atomic(path, *edited, st.st_mode & 07777); !s) return s.error();
  log::info("policy " + path + " edited for agent " + r.name + ": " + tool, {{"AGENT_ID", r.id}, {"POLICY", path}});
  for (const auto& d : store.reload()) log::warning("policy not applied: " + d);
  return agents.update_running(store.all());
}

}  // namespace agentos
