#include "enforce/maps.h"

#include <bpf/bpf.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <cerrno>
#include <cstring>

#include "common/unique_fd.h"

#include "agentos_bpf.h"

namespace agentos::enforce {

Status ensure_pin_dir(const std::string& pin_dir) {
  constexpr char kBpfFs[] = "/sys/fs/bpf";
  struct statfs fs;
  if (::statfs(kBpfFs, &fs) != 0 || fs.f_type != BPF_FS_MAGIC) {
    ::mkdir(kBpfFs, 0700);
    if (::mount("bpf", kBpfFs, "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700") != 0)
      return sys_error("mount bpffs on /sys/fs/bpf");
  }
  // mkdir -p, root-only like the bpffs itself, whatever the umask.
  for (size_t pos = 1; pos != std::string::npos;) {
    pos = pin_dir.find('/', pos + 1);
    std::string dir = pin_dir.substr(0, pos);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return sys_error("mkdir " + dir);
  }
  return {};
}

Status govern(int agents_fd, uint64_t cg, uint32_t flags, const std::function<Status()>& put,
              const std::function<void()>& drop_all) {
  drop_all();  // a reused cgroup id inherits nothing
  if (auto s = put(); !s) {
    drop_all();
    return s;
  }
  agentos_agent a{0, flags};
  if (bpf_map_update_elem(agents_fd, &cg, &a, BPF_ANY) != 0) {
    auto e = sys_error("govern cgroup");
    drop_all();
    return e;
  }
  return {};
}

Status flip_generation(int agents_fd, uint64_t cg, const std::function<Status(uint32_t)>& put,
                       const std::function<void(uint32_t)>& drop) {
  agentos_agent a{};
  if (bpf_map_lookup_elem(agents_fd, &cg, &a) != 0) return sys_error("agent is not governed");
  uint32_t next = a.generation + 1;
  if (auto s = put(next); !s) {
    drop(next);
    return s;
  }
  // Only the generation changes; the flags (ARMED) are the programs' to set.
  agentos_agent flipped = a;
  flipped.generation = next;
  if (bpf_map_update_elem(agents_fd, &cg, &flipped, BPF_EXIST) != 0) {
    auto e = sys_error("switch generation");
    drop(next);
    return e;
  }
  drop(a.generation);
  return {};
}

namespace {

// Ids of the programs called `name` attached to the cgroup for `type`: an earlier daemon's.
std::vector<uint32_t> attached(int cg, bpf_attach_type type, const char* name) {
  uint32_t ids[64];
  uint32_t count = 64, flags = 0;
  std::vector<uint32_t> out;
  if (bpf_prog_query(cg, type, 0, &flags, ids, &count) != 0) return out;
  for (uint32_t i = 0; i < count; ++i) {
    UniqueFd fd(bpf_prog_get_fd_by_id(ids[i]));
    bpf_prog_info info{};
    uint32_t len = sizeof info;
    if (fd.valid() && bpf_obj_get_info_by_fd(fd.get(), &info, &len) == 0 && std::strcmp(info.name, name) == 0)
      out.push_back(ids[i]);
  }
  return out;
}

}  // namespace

CgroupProgram cgroup_program(bpf_program* prog) {
  return {bpf_program__fd(prog), bpf_program__expected_attach_type(prog), bpf_program__name(prog)};
}

Status attach_replacing(const std::vector<CgroupProgram>& programs, int cg) {
  std::vector<std::vector<uint32_t>> earlier;
  for (size_t i = 0; i < programs.size(); ++i) {
    const CgroupProgram& p = programs[i];
    earlier.push_back(attached(cg, p.type, p.name.c_str()));
    if (bpf_prog_attach(p.fd, cg, p.type, BPF_F_ALLOW_MULTI) != 0) {
      Error e = sys_error("attach " + p.name);
      while (i-- > 0) bpf_prog_detach2(programs[i].fd, cg, programs[i].type);
      return e;
    }
  }
  for (size_t i = 0; i < programs.size(); ++i)
    for (uint32_t id : earlier[i]) {
      UniqueFd old(bpf_prog_get_fd_by_id(id));
      if (old.valid()) bpf_prog_detach2(old.get(), cg, programs[i].type);
    }
  return {};
}

uint64_t take_counter(int counter_fd, uint64_t* seen) {
  uint32_t zero = 0;
  uint64_t total = 0;
  if (bpf_map_lookup_elem(counter_fd, &zero, &total) != 0) return 0;
  uint64_t fresh = total - *seen;
  *seen = total;
  return fresh;
}

}  // namespace agentos::enforce
