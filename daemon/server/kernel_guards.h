// The kernel's own enforcement, loaded once at start: the cgroup-BPF socket hooks (agents on the
// host's network) and BPF LSM (every agent). Each reports its denials into the audit trail,
// attributed to their agent by cgroup id, and says in the layer list whether it loaded, or why not.
// A guard that cannot load leaves the others to hold alone; the agent manager refuses the
// policies that need it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/event_loop.h"
#include "enforce/dev_guard.h"
#include "enforce/lsm_guard.h"
#include "enforce/net_guard.h"
#include "enforce/unix_guard.h"
#include "sandbox/layer_probe.h"
#include "server/agent_record.h"
#include "server/audit.h"

namespace agentos {

class KernelGuards {
 public:
  using FindAgent = std::function<const AgentRecord*(uint64_t cgroup_id)>;

  // `agents_cgroup`: the cgroup v2 directory that holds every agent; `bpf_dir`: where their maps
  // are pinned for the next daemon. Updates `probe.layers` with what loaded.
  KernelGuards(EventLoop& loop, const std::string& agents_cgroup, const std::string& bpf_dir, AuditLog& audit,
               FindAgent find, sandbox::ProbeResult& probe);
  KernelGuards(const KernelGuards&) = delete;  // the guards' callbacks hold `this`
  KernelGuards& operator=(const KernelGuards&) = delete;

  [[nodiscard]] enforce::NetGuard* net() const { return net_.get(); }
  [[nodiscard]] const std::string& net_missing() const { return net_missing_; }
  [[nodiscard]] enforce::LsmGuard* lsm() const { return lsm_.get(); }
  // The Unix socket hooks, loaded only where BPF LSM is missing (it governs those sockets itself).
  [[nodiscard]] enforce::UnixGuard* unix_sockets() const { return unix_.get(); }
  // The device hook: with or without BPF LSM, it decides by device number, not by path.
  [[nodiscard]] enforce::DevGuard* devices() const { return dev_.get(); }


 private:
  template <typename Event>
  void deny(const Event& e, v1::AuditLayer layer);
  template <typename Guard>
  void watch_events(EventLoop& loop, Guard& guard);
  void record_lost();  // once a second: what the kernel could not queue, into the audit trail

  AuditLog& audit_;
  FindAgent find_;
  std::unique_ptr<enforce::NetGuard> net_;
  std::string net_missing_;
  std::unique_ptr<enforce::LsmGuard> lsm_;
  std::unique_ptr<enforce::UnixGuard> unix_;
  std::unique_ptr<enforce::DevGuard> dev_;
  std::vector<EventLoop::Watch> watches_;  // on each guard's ring buffer
  EventLoop::Timer lost_;
};

}  // namespace agentos
