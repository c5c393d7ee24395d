#include "enforce/dev_guard.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/unique_fd.h"
#include "dev.skel.h"

namespace agentos::enforce {

Result<std::unique_ptr<DevGuard>> DevGuard::load(const std::string& agents_cgroup, const std::string& pin_dir,
                                                 EventHandler on_denial) {
  if (auto s = ensure_pin_dir(pin_dir); !s) return s.error();
  std::unique_ptr<DevGuard> g(new DevGuard());
  g->skel_ = agentos_dev__open();
  if (!g->skel_) return sys_error("open the device hook");
  auto& maps = g->skel_->maps;
  for (auto [map, name] : {std::pair{maps.dev_agents, "dev_agents"}, {maps.dev_grants, "dev_grants"}})
    if (int rc = bpf_map__set_pin_path(map, (pin_dir + "/" + name).c_str()); rc < 0) return Error{-rc, "pin path"};
  if (int rc = agentos_dev__load(g->skel_); rc < 0) return Error{-rc, "load the cgroup device hook"};
  UniqueFd cg(::open(agents_cgroup.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cg.valid()) return sys_error("open " + agents_cgroup);
  if (auto s = attach_replacing({cgroup_program(g->skel_->progs.agentos_dev)}, cg.get()); !s) return s.error();
  if (auto s = g->events_.open(bpf_map__fd(maps.dev_events), bpf_map__fd(maps.dev_lost), std::move(on_denial)); !s)
    return s.error();
  return g;
}

DevGuard::~DevGuard() {
  agentos_dev__destroy(skel_);  // the maps stay pinned, the program attached
}

Status DevGuard::add(uint64_t cg, const std::vector<dev_t>& granted) {
  uint32_t one = 1;
  // The grants first: from the moment the agent is governed, what it was granted is there.
  for (dev_t d : granted) {
    agentos_dev_key key{cg, major(d), minor(d)};
    if (bpf_map_update_elem(bpf_map__fd(skel_->maps.dev_grants), &key, &one, BPF_ANY) != 0)
      return sys_error("grant the agent's devices");
  }
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.dev_agents), &cg, &one, BPF_ANY) != 0)
    return sys_error("govern the agent's devices");
  return {};
}

void DevGuard::remove(uint64_t cg) {
  bpf_map_delete_elem(bpf_map__fd(skel_->maps.dev_agents), &cg);
  int grants = bpf_map__fd(skel_->maps.dev_grants);
  std::vector<agentos_dev_key> mine;
  agentos_dev_key key{}, next{};
  for (void* at = nullptr; bpf_map_get_next_key(grants, at, &next) == 0; at = &key) {
    if (next.cgroup_id == cg) mine.push_back(next);
    key = next;
  }
  for (auto& k : mine) bpf_map_delete_elem(grants, &k);
}




}  // namespace agentos::enforce
