#include "server/kernel_guards.h"

#include <arpa/inet.h>
#include <sys/epoll.h>

#include <cstring>

#include "common/log.h"

namespace agentos {
namespace {

std::string describe(const agentos_lsm_event& e) {
  static const char* const kOps[] = {"?", "open", "exec", "mmap exec", "modify", "mount", "ptrace", "signal", "bpf",
                                     "connect to a unix socket outside the agent",
                                     "listen on a port the kernel picked (bind a granted port first)",
                                     "create a user namespace"};
  std::string what = e.op < std::size(kOps) ? kOps[e.op] : "?";
  if (e.want) {
    what += " (";
    if (e.want & AGENTOS_FS_READ) what += "r";
    if (e.want & AGENTOS_FS_WRITE) what += "w";
    if (e.want & AGENTOS_FS_EXEC) what += "x";
    what += ")";
  }
  if (e.ino)
    what += " of inode " + std::to_string(e.ino) + " on device " + std::to_string(e.dev >> 20) + ":" +
            std::to_string(e.dev & 0xfffff);
  return what;
}

std::string describe(const agentos_net_event& e) {
  char addr[INET6_ADDRSTRLEN] = "?";
  static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(e.addr, kMapped, 12) == 0) ::inet_ntop(AF_INET, e.addr + 12, addr, sizeof addr);
  else ::inet_ntop(AF_INET6, e.addr, addr, sizeof addr);
  std::string proto = e.proto == AGENTOS_PROTO_TCP ? "tcp" : e.proto == AGENTOS_PROTO_UDP ? "udp" : "proto " + std::to_string(e.proto);
  if (e.op == AGENTOS_OP_CREATE)
    return "socket(family " + std::to_string(e.family) + ", type " + std::to_string(e.type) + ", " + proto + ")";
  return std::string(e.op == AGENTOS_OP_BIND ? "bind " : "connect ") + proto + " " + addr + ":" +
         std::to_string(ntohs(e.port));
}

std::string describe(const agentos_unix_event& e) {
  std::string path(e.path, strnlen(e.path, std::min<size_t>(e.len, sizeof e.path)));
  return std::string(e.op == AGENTOS_UNIX_SENDMSG ? "send to" : "connect to") + " the unix socket \"" + path +
         "\" (only the agent's broker socket is reachable by path in the host's view without BPF LSM)";
}

std::string describe(const agentos_dev_event& e) {
  std::string how = e.access & 1 ? "mknod" : e.access & 4 ? (e.access & 2 ? "open (rw)" : "open (w)") : "open (r)";
  return how + " of the " + (e.type == 1 ? "block" : "character") + " device " + std::to_string(e.major) + ":" +
         std::to_string(e.minor) + " (not the sandbox's own, and no [devices] grant)";
}

sandbox::LayerState* layer(sandbox::ProbeResult& probe, const std::string& name) {
  for (auto& l : probe.layers)
    if (l.name == name) return &l;
  return &probe.layers.emplace_back(sandbox::LayerState{name, false, ""});
}

}  // namespace

template <typename Event>
void KernelGuards::deny(const Event& e, v1::AuditLayer layer) {
  const AgentRecord* r = find_(e.cgroup_id);
  bool audit_mode = false;
  if constexpr (requires { e.audit; }) audit_mode = e.audit != 0;
  audit_.deny(r ? r->id : "cgroup " + std::to_string(e.cgroup_id), r ? r->name : "", r ? r->owner_uid : 0, describe(e),
              layer, audit_mode);
}

KernelGuards::KernelGuards(EventLoop& loop, const std::string& agents_cgroup, const std::string& bpf_dir,
                           AuditLog& audit, FindAgent find, sandbox::ProbeResult& probe)
    : audit_(audit), find_(std::move(find)) {
  // The socket hooks, for agents that share the host's network. Without them such policies are
  // refused; every other agent is unaffected.
  auto net = enforce::NetGuard::load(agents_cgroup, bpf_dir + "/net",
                                     [this](const agentos_net_event& e) { deny(e, v1::AUDIT_LAYER_CGROUP_BPF); });
  if (net) net_ = std::move(*net);
  else net_missing_ = net.error().str();
  *layer(probe, "cgroup-bpf socket hooks") = {
      "cgroup-bpf socket hooks", net_ != nullptr,
      net_ ? "connect, sendmsg, bind and socket() of agents on the host network, pinned in " + bpf_dir
           : "unavailable (" + net_missing_ + "): policies with [network] namespace = \"host\" are refused"};
  log::info(std::string("layer cgroup-bpf socket hooks: ") + (net_ ? "available" : "unavailable: " + net_missing_));
  if (net_) watch_events(loop, *net_);

  // BPF LSM: every agent's files, exec, mounts, ptrace and signals, in the kernel itself. Where it
  // cannot load, the other layers (Landlock, seccomp, namespaces) hold alone.
  auto lsm = enforce::LsmGuard::load(bpf_dir + "/lsm", [this](const agentos_lsm_event& e) { deny(e, v1::AUDIT_LAYER_BPF_LSM); });
  if (lsm) lsm_ = std::move(*lsm);
  sandbox::LayerState* l = layer(probe, "bpf-lsm");
  l->available = lsm_ != nullptr;
  l->detail = lsm_ ? "files, exec, mmap, mounts, ptrace and signals of every agent, pinned in " + bpf_dir
                   : "cannot load (" + lsm.error().str() + "): " + l->detail + "; the other layers hold alone";
  log::info(std::string("layer bpf-lsm: ") + (lsm_ ? "available" : "unavailable: " + lsm.error().str()));
  if (lsm_) watch_events(loop, *lsm_);

  // Unix sockets by path, for agents in the host's view: Landlock does not govern connect(), so
  // without BPF LSM these hooks are what keeps such an agent from the host's sockets. Where
  // neither loads, such policies are refused.
  std::string unix_missing = "not needed: BPF LSM governs unix sockets";
  if (!lsm_) {
    auto unix = enforce::UnixGuard::load(agents_cgroup, bpf_dir + "/unix",
                                         [this](const agentos_unix_event& e) { deny(e, v1::AUDIT_LAYER_CGROUP_BPF); });
    if (unix) unix_ = std::move(*unix);
    else unix_missing = unix.error().str();
  }
  *layer(probe, "cgroup-bpf unix socket hooks") = {
      "cgroup-bpf unix socket hooks", unix_ != nullptr,
      unix_ ? "connect and send to socket files by agents in the host's view (only their broker's), pinned in " + bpf_dir
            : unix_missing + (lsm_ ? "" : ": policies with [filesystem] view = \"host\" are refused")};
  log::info(std::string("layer cgroup-bpf unix socket hooks: ") + (unix_ ? "available" : unix_missing));
  if (unix_) watch_events(loop, *unix_);

  // Device numbers: the node an agent reaches, by whatever path, opens only if it is one of the
  // sandbox's own or granted. Without the hook, the mount namespace and Landlock decide alone.
  auto dev = enforce::DevGuard::load(agents_cgroup, bpf_dir + "/dev",
                                     [this](const agentos_dev_event& e) { deny(e, v1::AUDIT_LAYER_CGROUP_BPF); });
  if (dev) dev_ = std::move(*dev);
  std::string dev_missing = dev ? "" : dev.error().str();
  *layer(probe, "cgroup-bpf device hook") = {
      "cgroup-bpf device hook", dev_ != nullptr,
      dev_ ? "the device nodes every agent opens: its sandbox's own and its [devices] grants, pinned in " + bpf_dir
           : "unavailable (" + dev_missing + "): the mount namespace and Landlock decide which devices an agent sees"};
  log::info(std::string("layer cgroup-bpf device hook: ") + (dev_ ? "available" : "unavailable: " + dev_missing));
  if (dev_) watch_events(loop, *dev_);
  lost_ = loop.every(std::chrono::seconds(1), [this] { record_lost(); });
}

template <typename Guard>
void KernelGuards::watch_events(EventLoop& loop, Guard& guard) {
  auto w = loop.watch(guard.events_fd(), EPOLLIN, [&guard](uint32_t) { guard.drain_events(); });
  if (w) watches_.push_back(std::move(*w));
  else log::error("cannot watch a kernel guard's events: " + w.error().str());
}

void KernelGuards::record_lost() {
  if (net_) audit_.lost(net_->take_lost(), v1::AUDIT_LAYER_CGROUP_BPF);
  if (lsm_) audit_.lost(lsm_->take_lost(), v1::AUDIT_LAYER_BPF_LSM);
  if (unix_) audit_.lost(unix_->take_lost(), v1::AUDIT_LAYER_CGROUP_BPF);
  if (dev_) audit_.lost(dev_->take_lost(), v1::AUDIT_LAYER_CGROUP_BPF);
}

}  // namespace agentos
