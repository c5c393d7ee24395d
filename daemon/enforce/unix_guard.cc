#include "enforce/unix_guard.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <unistd.h>

#include "common/unique_fd.h"
#include "unix.skel.h"

namespace agentos::enforce {
namespace {

// enum bpf_attach_type values from Linux 6.7's uapi, newer than our headers and libbpf 1.1.
constexpr auto kUnixConnect = static_cast<bpf_attach_type>(49);
constexpr auto kUnixSendmsg = static_cast<bpf_attach_type>(50);

}  // namespace

Result<std::unique_ptr<UnixGuard>> UnixGuard::load(const std::string& agents_cgroup, const std::string& pin_dir,
                                                   EventHandler on_denial) {
  if (auto s = ensure_pin_dir(pin_dir); !s) return s.error();
  std::unique_ptr<UnixGuard> g(new UnixGuard());
  g->skel_ = agentos_unix__open();
  if (!g->skel_) return sys_error("open the unix socket hooks");
  if (int rc = bpf_map__set_pin_path(g->skel_->maps.unix_agents, (pin_dir + "/unix_agents").c_str()); rc < 0)
    return Error{-rc, "pin path"};
  bpf_program__set_expected_attach_type(g->skel_->progs.unix_connect, kUnixConnect);
  bpf_program__set_expected_attach_type(g->skel_->progs.unix_sendmsg, kUnixSendmsg);
  if (int rc = agentos_unix__load(g->skel_); rc < 0)
    return Error{-rc, "load the unix socket hooks (cgroup connect_unix and sendmsg_unix need Linux 6.7)"};
  UniqueFd cg(::open(agents_cgroup.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cg.valid()) return sys_error("open " + agents_cgroup);
  if (auto s = attach_replacing({cgroup_program(g->skel_->progs.unix_connect), cgroup_program(g->skel_->progs.unix_sendmsg)},
                                 cg.get());
      !s)
    return s.error();
  auto& maps = g->skel_->maps;
  if (auto s = g->events_.open(bpf_map__fd(maps.unix_events), bpf_map__fd(maps.unix_lost), std::move(on_denial)); !s)
    return s.error();
  return g;
}

UnixGuard::~UnixGuard() {
  agentos_unix__destroy(skel_);  // the map stays pinned, the programs attached
}

Status UnixGuard::add(uint64_t cg) {
  uint32_t one = 1;
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.unix_agents), &cg, &one, BPF_ANY) != 0)
    return sys_error("govern the agent's unix sockets");
  return {};
}

void UnixGuard::remove(uint64_t cg) { bpf_map_delete_elem(bpf_map__fd(skel_->maps.unix_agents), &cg); }




}  // namespace agentos::enforce
