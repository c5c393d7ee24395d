#include "enforce/lsm_guard.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <optional>
#include <vector>

#include "common/log.h"
#include "enforce/maps.h"
#include "lsm.skel.h"

namespace agentos::enforce {
namespace {

Status put_grants(int map, uint64_t cg, uint32_t gen, const std::vector<FsGrant>& grants) {
  for (const auto& g : grants) {
    agentos_fs_key k{cg, kernel_dev(g.dev), g.ino, gen, 0};
    uint32_t rights = g.rights;
    uint32_t existing = 0;
    if (bpf_map_lookup_elem(map, &k, &existing) == 0) rights |= existing;  // two paths, one inode
    if (bpf_map_update_elem(map, &k, &rights, BPF_ANY) != 0) return sys_error("grant " + g.path);
  }
  return {};
}

// Whether the kernel's LSM hook NAME takes PARAM first: hooks change signature across releases,
// and a BPF_PROG reads its arguments by position.
bool hook_starts_with(const btf* vmlinux, const char* hook, const char* param) {
  int id = vmlinux ? btf__find_by_name_kind(vmlinux, (std::string("bpf_lsm_") + hook).c_str(), BTF_KIND_FUNC) : -1;
  if (id < 0) return false;
  const btf_type* proto = btf__type_by_id(vmlinux, btf__type_by_id(vmlinux, id)->type);
  if (!proto || btf_vlen(proto) == 0) return false;
  const char* name = btf__name_by_offset(vmlinux, btf_params(proto)[0].name_off);
  return name && std::strcmp(name, param) == 0;
}

}  // namespace

uint64_t kernel_dev(uint64_t st_dev) {
  return (static_cast<uint64_t>(major(st_dev)) << 20) | minor(st_dev);  // MKDEV()
}

Result<std::unique_ptr<LsmGuard>> LsmGuard::load(const std::string& pin_dir, EventHandler on_denial) {
  std::unique_ptr<LsmGuard> g(new LsmGuard());
  g->skel_ = agentos_lsm__open();
  if (!g->skel_) return sys_error("open the LSM programs");
  if (auto s = ensure_pin_dir(pin_dir); !s) return s.error();
  for (auto [map, name] : {std::pair{g->skel_->maps.lsm_agents, "lsm_agents"}, {g->skel_->maps.fs_grants, "fs_grants"}})
    if (int rc = bpf_map__set_pin_path(map, (pin_dir + "/" + name).c_str()); rc < 0) return Error{-rc, "pin path"};
  btf* vmlinux = btf__load_vmlinux_btf();
  bool plain_setattr = hook_starts_with(vmlinux, "inode_setattr", "dentry");
  btf__free(vmlinux);
  bpf_program__set_autoload(g->skel_->progs.inode_setattr, plain_setattr);
  bpf_program__set_autoload(g->skel_->progs.inode_setattr_idmap, !plain_setattr);
  if (int rc = agentos_lsm__load(g->skel_); rc < 0) return Error{-rc, "load the LSM programs"};

  bpf_program* prog;
  bpf_object__for_each_program(prog, g->skel_->obj) {
    if (!bpf_program__autoload(prog)) continue;
    bpf_link* link = bpf_program__attach_lsm(prog);
    if (!link) return sys_error(std::string("attach ") + bpf_program__name(prog));
    g->links_.emplace_back(link);
    g->link_fds_.push_back(bpf_link__fd(link));
  }

  auto& maps = g->skel_->maps;
  if (auto s = g->events_.open(bpf_map__fd(maps.lsm_events), bpf_map__fd(maps.lsm_lost), std::move(on_denial)); !s)
    return s.error();
  return g;
}

void LsmGuard::LinkDeleter::operator()(bpf_link* l) const { bpf_link__destroy(l); }

LsmGuard::~LsmGuard() {
  agentos_lsm__destroy(skel_);  // maps stay pinned; the monitors hold the links
}

Status LsmGuard::add(uint64_t cg, const std::vector<FsGrant>& grants, bool host_network, bool audit) {
  int map = bpf_map__fd(skel_->maps.fs_grants);
  return govern(
      bpf_map__fd(skel_->maps.lsm_agents), cg,
      (host_network ? uint32_t{AGENTOS_AGENT_HOST_NET} : 0) | (audit ? uint32_t{AGENTOS_AGENT_AUDIT} : 0),
      [&] { return put_grants(map, cg, 0, grants); }, [&] { drop_rules<agentos_fs_key>(map, cg, std::nullopt); });
}

Status LsmGuard::replace(uint64_t cg, const std::vector<FsGrant>& grants) {
  int map = bpf_map__fd(skel_->maps.fs_grants);
  return flip_generation(
      bpf_map__fd(skel_->maps.lsm_agents), cg, [&](uint32_t gen) { return put_grants(map, cg, gen, grants); },
      [&](uint32_t gen) { drop_rules<agentos_fs_key>(map, cg, gen); });
}

void LsmGuard::remove(uint64_t cg) {
  bpf_map_delete_elem(bpf_map__fd(skel_->maps.lsm_agents), &cg);
  drop_rules<agentos_fs_key>(bpf_map__fd(skel_->maps.fs_grants), cg, std::nullopt);
}




}  // namespace agentos::enforce
