// An agent's entries in one guard's BPF maps (its grants, keyed by its cgroup's id) while its
// start is under way: removed when destroyed, unless release() was called once the agent ran.
// From then they are the agent's until it ends, which may be under a later daemon.
#pragma once

#include <cstdint>
#include <utility>

#include "common/result.h"

namespace agentos::enforce {

template <typename Guard>
class GrantEntry {
 public:
  GrantEntry() = default;
  GrantEntry(Guard& guard, uint64_t cgroup_id) : guard_(&guard), cgroup_id_(cgroup_id) {}
  GrantEntry(GrantEntry&& o) noexcept : guard_(std::exchange(o.guard_, nullptr)), cgroup_id_(o.cgroup_id_) {}
  GrantEntry& operator=(GrantEntry&& o) noexcept {
    if (this != &o) {
      undo();
      guard_ = std::exchange(o.guard_, nullptr);
      cgroup_id_ = o.cgroup_id_;
    }
    return *this;
  }
  GrantEntry(const GrantEntry&) = delete;
  GrantEntry& operator=(const GrantEntry&) = delete;
  ~GrantEntry() { undo(); }

  void release() { guard_ = nullptr; }

 private:
  void undo() {
    if (guard_) std::exchange(guard_, nullptr)->remove(cgroup_id_);
  }
  Guard* guard_ = nullptr;
  uint64_t cgroup_id_ = 0;
};

// Guard::add(cgroup_id, args...), owned: a guard's add installs all of its entries or none.
template <typename Guard, typename... Args>
[[nodiscard]] Result<GrantEntry<Guard>> grant(Guard& guard, uint64_t cgroup_id, Args&&... args) {
  if (auto s = guard.add(cgroup_id, std::forward<Args>(args)...); !s) return s.error();
  return GrantEntry<Guard>(guard, cgroup_id);
}

}  // namespace agentos::enforce
