// The cgroup device hook (bpf/dev.bpf.c): which device nodes each agent may open, by type and
// number, whichever path reaches them. The only owner of that program and its maps.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agentos_bpf.h"
#include "common/result.h"
#include "enforce/maps.h"

struct agentos_dev;

namespace agentos::enforce {

class DevGuard {
 public:
  using EventHandler = std::function<void(const agentos_dev_event&)>;

  // Loads and attaches the hook to the cgroup that holds every agent, reusing the maps an earlier
  // daemon pinned under pin_dir.
  [[nodiscard]] static Result<std::unique_ptr<DevGuard>> load(const std::string& agents_cgroup,
                                                               const std::string& pin_dir, EventHandler on_denial);
  ~DevGuard();
  DevGuard(const DevGuard&) = delete;
  DevGuard& operator=(const DevGuard&) = delete;

  // From now on the agent opens the sandbox's own devices and these character devices, nothing else.
  [[nodiscard]] Status add(uint64_t cgroup_id, const std::vector<dev_t>& granted);
  void remove(uint64_t cgroup_id);

  [[nodiscard]] int events_fd() const { return events_.fd(); }
  void drain_events() { events_.drain(); }
  [[nodiscard]] uint64_t take_lost() { return events_.take_lost(); }

 private:
  DevGuard() = default;
  agentos_dev* skel_ = nullptr;
  EventStream<agentos_dev_event> events_;
};

}  // namespace agentos::enforce
