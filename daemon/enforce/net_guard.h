// The cgroup-BPF socket hooks (bpf/net.bpf.c) for agents that share the host's network
// namespace: the only owner of those programs, their links and their maps.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "agentos_bpf.h"
#include "common/result.h"
#include "enforce/maps.h"
#include "policy/policy.h"

struct agentos_net;

namespace agentos::enforce {

class NetGuard {
 public:
  using EventHandler = std::function<void(const agentos_net_event&)>;

  // Loads the hooks, reusing the maps an earlier daemon pinned under pin_dir (so running agents
  // keep their grants), and attaches them to the cgroup that holds every agent, where they stay
  // when the daemon dies or is killed. A previous daemon's programs are detached only after the
  // new ones are attached, so there is no unguarded instant.
  [[nodiscard]] static Result<std::unique_ptr<NetGuard>> load(const std::string& agents_cgroup,
                                                               const std::string& pin_dir,
                                                               EventHandler on_denial);
  ~NetGuard();
  NetGuard(const NetGuard&) = delete;
  NetGuard& operator=(const NetGuard&) = delete;

  // Installs the agent's connect/bind grants, then starts governing its cgroup.
  [[nodiscard]] Status add(uint64_t cgroup_id, const policy::Policy& p);
  // Replaces a governed agent's grants atomically: the new rules go in under a new generation,
  // one map update switches the agent to it, then the old rules go.
  [[nodiscard]] Status replace(uint64_t cgroup_id, const policy::Policy& p);
  void remove(uint64_t cgroup_id);

  [[nodiscard]] int events_fd() const { return events_.fd(); }  // readable when denials are waiting
  void drain_events() { events_.drain(); }
  // Denials the kernel could not queue since the last call.
  [[nodiscard]] uint64_t take_lost() { return events_.take_lost(); }

 private:
  NetGuard() = default;
  agentos_net* skel_ = nullptr;
  EventStream<agentos_net_event> events_;
};

// The rule map's key for a grant: the one place user space builds it (the tests use it too).
[[nodiscard]] agentos_net_key net_key(uint8_t op, uint64_t cgroup_id, uint32_t generation, const policy::NetRule& r);

// The cgroup id that bpf_get_current_cgroup_id() reports for a cgroup v2 directory.
[[nodiscard]] Result<uint64_t> cgroup_id(int cgroup_dir_fd);

}  // namespace agentos::enforce
