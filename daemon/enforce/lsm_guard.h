// The BPF LSM programs (bpf/lsm.bpf.c): the one owner of their links and maps. Where the kernel
// refuses BPF LSM (not in lsm=, or no trampolines, as on this project's own host), load() fails
// and the fallback layers (Landlock, cgroup-BPF, seccomp, the mount namespace) hold alone.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agentos_bpf.h"
#include "common/result.h"
#include "enforce/maps.h"

struct agentos_lsm;
struct bpf_link;

namespace agentos::enforce {

// One granted object, as the launcher resolved it (sandbox/grant_object.h): known by device and
// inode, never looked up by its path again.
struct FsGrant {
  std::string path;  // real path on the host, for messages
  uint64_t dev = 0;  // st_dev
  uint64_t ino = 0;
  uint32_t rights = 0;  // AGENTOS_FS_*
};

class LsmGuard {
 public:
  using EventHandler = std::function<void(const agentos_lsm_event&)>;

  // Loads and attaches the programs, reusing the maps an earlier daemon pinned under pin_dir.
  // The links cannot be pinned on the kernels we run on (EPERM), so every agent's monitor holds
  // them open instead (link_fds()): the programs stay attached for as long as any agent runs,
  // through a crash or kill -9 of the daemon.
  [[nodiscard]] static Result<std::unique_ptr<LsmGuard>> load(const std::string& pin_dir, EventHandler on_denial);
  ~LsmGuard();
  LsmGuard(const LsmGuard&) = delete;
  LsmGuard& operator=(const LsmGuard&) = delete;

  // Installs the agent's grants, then starts governing its cgroup.
  [[nodiscard]] Status add(uint64_t cgroup_id, const std::vector<FsGrant>& grants, bool host_network, bool audit);
  // Replaces a governed agent's grants atomically (new generation, one flip, old ones dropped).
  [[nodiscard]] Status replace(uint64_t cgroup_id, const std::vector<FsGrant>& grants);
  void remove(uint64_t cgroup_id);

  [[nodiscard]] const std::vector<int>& link_fds() const { return link_fds_; }
  [[nodiscard]] int events_fd() const { return events_.fd(); }
  void drain_events() { events_.drain(); }
  [[nodiscard]] uint64_t take_lost() { return events_.take_lost(); }

 private:
  struct LinkDeleter {
    void operator()(bpf_link* l) const;
  };
  LsmGuard() = default;
  agentos_lsm* skel_ = nullptr;
  EventStream<agentos_lsm_event> events_;
  // Destroying a link closes our descriptor only: the programs stay attached while a monitor holds
  // its copy. A load that fails at the Nth attach thus leaves none of the first N-1 attached.
  std::vector<std::unique_ptr<bpf_link, LinkDeleter>> links_;
  std::vector<int> link_fds_;  // the links' descriptors
};

// The kernel's encoding of a device number (super_block.s_dev), from stat()'s.
[[nodiscard]] uint64_t kernel_dev(uint64_t st_dev);

}  // namespace agentos::enforce
