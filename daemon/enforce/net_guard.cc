#include "enforce/net_guard.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cstdarg>
#include <optional>
#include <cstring>
#include <vector>

#include "common/unique_fd.h"
#include "enforce/maps.h"
#include "net.skel.h"
#include "common/log.h"

namespace agentos::enforce {
namespace {

// libbpf's messages, the verifier's log among them, go to the daemon's log.
int forward_libbpf(libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char buf[4096];
  int n = std::vsnprintf(buf, sizeof buf, fmt, args);
  std::string msg(buf);
  while (!msg.empty() && msg.back() == '\n') msg.pop_back();
  if (!msg.empty()) log::write(level == LIBBPF_WARN ? log::Level::kWarning : log::Level::kInfo, msg);
  return n;
}


}  // namespace

agentos_net_key net_key(uint8_t op, uint64_t cg, uint32_t gen, const policy::NetRule& r) {
  agentos_net_key k{};
  k.generation = gen;
  k.op = op;
  k.proto = r.proto == policy::Proto::kTcp ? AGENTOS_PROTO_TCP : AGENTOS_PROTO_UDP;
  k.port = htons(r.port);
  k.cgroup_id = cg;
  if (r.family == AF_INET) {
    k.addr[10] = k.addr[11] = 0xff;  // IPv4-mapped, as the programs store IPv4
    std::memcpy(&k.addr[12], r.addr.data(), 4);
    k.prefixlen = AGENTOS_NET_FIXED_BITS + 96 + r.prefix_len;
  } else {
    std::memcpy(k.addr, r.addr.data(), 16);
    k.prefixlen = AGENTOS_NET_FIXED_BITS + r.prefix_len;
  }
  return k;
}

namespace {

}  // namespace

Result<uint64_t> cgroup_id(int cgroup_dir_fd) {
  struct stat st;
  if (::fstat(cgroup_dir_fd, &st) != 0) return sys_error("fstat cgroup");
  return static_cast<uint64_t>(st.st_ino);  // kernfs node id, as bpf_get_current_cgroup_id()
}

Result<std::unique_ptr<NetGuard>> NetGuard::load(const std::string& agents_cgroup, const std::string& pin_dir,
                                                 EventHandler on_denial) {
  libbpf_set_print(forward_libbpf);
  if (auto s = ensure_pin_dir(pin_dir); !s) return s.error();
  std::unique_ptr<NetGuard> g(new NetGuard());
  g->skel_ = agentos_net__open();
  if (!g->skel_) return sys_error("open the socket hooks");
  for (auto [map, name] : {std::pair{g->skel_->maps.agents, "agents"}, {g->skel_->maps.net_rules, "net_rules"}})
    if (int rc = bpf_map__set_pin_path(map, (pin_dir + "/" + name).c_str()); rc < 0)
      return Error{-rc, "pin path"};
  if (int rc = agentos_net__load(g->skel_); rc < 0) return Error{-rc, "load the socket hooks"};

  UniqueFd cg(::open(agents_cgroup.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cg.valid()) return sys_error("open " + agents_cgroup);
  // Attached to the cgroup itself (not through a link), the programs outlive this process: a
  // daemon that dies leaves every agent governed. A previous daemon's copies are detached only
  // once ours are attached, so there is no unguarded instant.
  std::vector<CgroupProgram> programs;
  bpf_program* prog;
  bpf_object__for_each_program(prog, g->skel_->obj) programs.push_back(cgroup_program(prog));
  if (auto s = attach_replacing(programs, cg.get()); !s) return s.error();

  auto& maps = g->skel_->maps;
  if (auto s = g->events_.open(bpf_map__fd(maps.events), bpf_map__fd(maps.lost), std::move(on_denial)); !s)
    return s.error();
  return g;
}

NetGuard::~NetGuard() {
  agentos_net__destroy(skel_);  // maps and links stay pinned
}

namespace {

Status put_rules(int map, uint64_t cg, uint32_t gen, const policy::Policy& p) {
  const uint8_t one = 1;
  for (auto [op, list] : {std::pair{uint8_t{AGENTOS_OP_CONNECT}, &p.connect}, {uint8_t{AGENTOS_OP_BIND}, &p.bind}})
    for (const auto& r : *list) {
      agentos_net_key k = net_key(op, cg, gen, r);
      if (bpf_map_update_elem(map, &k, &one, BPF_ANY) != 0) return sys_error("add grant " + r.text);
    }
  return {};
}

}  // namespace

Status NetGuard::add(uint64_t cg, const policy::Policy& p) {
  int rules = bpf_map__fd(skel_->maps.net_rules);
  return govern(
      bpf_map__fd(skel_->maps.agents), cg, p.audit_mode ? uint32_t{AGENTOS_AGENT_AUDIT} : 0,
      [&] { return put_rules(rules, cg, 0, p); }, [&] { drop_rules<agentos_net_key>(rules, cg, std::nullopt); });
}

Status NetGuard::replace(uint64_t cg, const policy::Policy& p) {
  int rules = bpf_map__fd(skel_->maps.net_rules);
  return flip_generation(
      bpf_map__fd(skel_->maps.agents), cg, [&](uint32_t gen) { return put_rules(rules, cg, gen, p); },
      [&](uint32_t gen) { drop_rules<agentos_net_key>(rules, cg, gen); });
}

void NetGuard::remove(uint64_t cg) {
  bpf_map_delete_elem(bpf_map__fd(skel_->maps.agents), &cg);
  drop_rules<agentos_net_key>(bpf_map__fd(skel_->maps.net_rules), cg, std::nullopt);
}




}  // namespace agentos::enforce
