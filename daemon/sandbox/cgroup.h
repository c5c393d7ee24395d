// The agents' cgroup v2 tree: <base>/agents/<id> for each agent, <base> being /agentos (or
// --cgroup). The daemon and the monitors stay in the daemon's own cgroup (under systemd, its unit's).
#pragma once

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "policy/policy.h"

namespace agentos::sandbox {

struct LimitState {
  std::string name;  // "memory", "cpu", "pids"
  bool in_force = false;
  std::string detail;
};

class Cgroups;

// One agent's cgroup while its start is under way: when destroyed, its processes are killed and
// the cgroup removed, unless release() was called once the agent ran. From then its end is
// the agent manager's, which may be a later daemon's.
class AgentCgroup {
 public:
  AgentCgroup() = default;
  AgentCgroup(const Cgroups& all, std::string id, UniqueFd dir) : all_(&all), id_(std::move(id)), dir_(std::move(dir)) {}
  AgentCgroup(AgentCgroup&& o) noexcept
      : all_(std::exchange(o.all_, nullptr)), id_(std::move(o.id_)), dir_(std::move(o.dir_)) {}
  AgentCgroup& operator=(AgentCgroup&& o) noexcept;
  ~AgentCgroup() { undo(); }

  [[nodiscard]] int fd() const { return dir_.get(); }  // for CLONE_INTO_CGROUP
  void release() { all_ = nullptr; }
  // Kills every process in it and waits (bounded) until they are gone: before its grants are
  // undone, so that nothing runs in the cgroup without them.
  void kill() const;

 private:
  void undo();
  const Cgroups* all_ = nullptr;
  std::string id_;
  UniqueFd dir_;
};

class Cgroups {
 public:
  // base_override: a cgroup path relative to the cgroup2 mount, e.g. "/agentos-test".
  [[nodiscard]] static Result<Cgroups> init(const std::string& base_override);

  // Creates <base>/agents/<id> and applies the limits it can. `limits` says, per limit the
  // policy sets, whether it is in force.
  [[nodiscard]] Result<AgentCgroup> create(const std::string& id, const policy::Limits& l,
                                        std::vector<LimitState>* limits) const;
  [[nodiscard]] Status kill(const std::string& id) const;  // every process in it, via cgroup.kill
  [[nodiscard]] Status remove(const std::string& id) const;
  [[nodiscard]] bool populated(const std::string& id) const;
  // Kills what runs in it and waits (at most 2 s) until it is gone, so that rmdir can succeed.
  void empty(const std::string& id) const;
  // How many processes the OOM killer took from the agent's cgroup (memory.events oom_kill).
  [[nodiscard]] uint64_t oom_kills(const std::string& id) const;

  [[nodiscard]] std::string path(const std::string& id) const;  // relative to the mount, for display
  [[nodiscard]] const std::string& mount() const { return mount_; }
  [[nodiscard]] const std::string& base() const { return base_; }
  [[nodiscard]] const std::set<std::string>& controllers() const { return controllers_; }

 private:
  [[nodiscard]] std::string dir(const std::string& id) const { return mount_ + base_ + "/agents/" + id; }
  // Until no process is left in it or the timeout passes; true when it is empty.
  [[nodiscard]] bool wait_empty(const std::string& id, std::chrono::milliseconds timeout) const;
  std::string mount_;  // e.g. /sys/fs/cgroup or /sys/fs/cgroup/unified
  std::string base_;
  std::set<std::string> controllers_;  // enabled for agents
};

}  // namespace agentos::sandbox
