// The cgroup sock_addr hooks for Unix sockets (bpf/unix.bpf.c, Linux 6.7): for agents that see
// the host's filesystem where BPF LSM is missing, the one layer that holds their connects and
// sends to socket files. The only owner of those programs and their map.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "agentos_bpf.h"
#include "common/result.h"
#include "enforce/maps.h"

struct agentos_unix;

namespace agentos::enforce {

class UnixGuard {
 public:
  using EventHandler = std::function<void(const agentos_unix_event&)>;

  // Loads and attaches the hooks to the cgroup that holds every agent (as NetGuard), reusing the
  // map an earlier daemon pinned under pin_dir. Fails on kernels without these attach types.
  [[nodiscard]] static Result<std::unique_ptr<UnixGuard>> load(const std::string& agents_cgroup,
                                                                const std::string& pin_dir, EventHandler on_denial);
  ~UnixGuard();
  UnixGuard(const UnixGuard&) = delete;
  UnixGuard& operator=(const UnixGuard&) = delete;

  [[nodiscard]] Status add(uint64_t cgroup_id);  // from now on, its path connects are refused
  void remove(uint64_t cgroup_id);

  [[nodiscard]] int events_fd() const { return events_.fd(); }
  void drain_events() { events_.drain(); }
  [[nodiscard]] uint64_t take_lost() { return events_.take_lost(); }

 private:
  UnixGuard() = default;
  agentos_unix* skel_ = nullptr;
  EventStream<agentos_unix_event> events_;
};

}  // namespace agentos::enforce
