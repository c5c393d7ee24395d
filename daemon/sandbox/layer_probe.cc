#include "sandbox/layer_probe.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>

#include "sandbox/landlock.h"
#include "sandbox/launcher.h"

namespace agentos::sandbox {
namespace {

constexpr char kProbeCommand[] = "/nonexistent/agentos-probe";

struct StagedLayer {
  const char* name;
  Stage stage;
};

constexpr StagedLayer kStaged[] = {
    {"namespaces (user, mount, pid, net, ipc, uts, cgroup)", Stage::kWaitForMaps},
    {"owner identity (uid/gid map)", Stage::kIdentity},
    {"private filesystem view", Stage::kMounts},
    {"loopback-only network", Stage::kLoopback},
    {"capabilities dropped", Stage::kCapabilities},
    {"no_new_privs", Stage::kNoNewPrivs},
    {"landlock (read, write, exec per grant)", Stage::kLandlock},
    {"seccomp baseline", Stage::kSeccomp},
};

LayerState bpf_lsm_layer() {
  std::ifstream in("/sys/kernel/security/lsm");
  std::string lsms;
  if (!std::getline(in, lsms)) return {"bpf-lsm", false, "unknown: securityfs is not mounted"};
  bool on = ("," + lsms + ",").find(",bpf,") != std::string::npos;
  return {"bpf-lsm", on, (on ? "bpf in the active LSM list (" : "bpf not in the active LSM list (") + lsms + ")"};
}

}  // namespace

ProbeResult probe_layers(const Cgroups& cgroups, const std::vector<sock_filter>& seccomp) {
  ProbeResult out;
  LaunchFailure failure;
  std::string id = "probe-" + std::to_string(::getpid());
  std::vector<LimitState> unused;
  auto cg = cgroups.create(id, {}, &unused);
  bool reached_exec = false;
  if (!cg) {
    failure = {Stage::kWaitForMaps, cg.error().err, cg.error().what};
  } else {
    policy::Policy p;
    p.name = "probe";
    p.command = {kProbeCommand};
    auto spec = make_launch_spec(p, id, 65534, 65534, {});
    UniqueFd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (spec && devnull.valid()) {
      spec->seccomp = seccomp;
      spec->stdin_fd = spec->stdout_fd = devnull.get();
      spec->cgroup_fd = cg->fd();
      spec->exit_path = "/dev/null";
      auto launched = launch(*spec, &failure);
      // The command is missing by design; anything else means a layer failed.
      reached_exec = !launched && failure.stage == Stage::kExec && failure.err == ENOENT;
      if (launched) failure = {Stage::kExec, 0, "the probe command unexpectedly ran"};
    } else {
      failure = {Stage::kWaitForMaps, errno, "preparing the probe"};
    }
  }  // the probe's cgroup goes with `cg`

  for (const auto& l : kStaged) {
    if (l.stage == Stage::kLandlock && landlock_abi() == 0) {
      out.layers.push_back({l.name, false, "not offered by this kernel: exec is not enforced apart from read"});
      continue;
    }
    if (reached_exec || failure.stage > l.stage)
      out.layers.push_back({l.name, true,
                            l.stage == Stage::kLandlock ? "ABI " + std::to_string(landlock_abi()) + ", in place for every agent"
                                                        : "in place for every agent"});
    else if (failure.stage == l.stage)
      out.layers.push_back({l.name, false, failure.str()});
    else
      out.layers.push_back({l.name, false, "not reached: an earlier layer failed"});
  }
  out.layers.push_back({"cgroup v2", true, "agents under " + cgroups.mount() + cgroups.base() + "/agents"});
  for (const char* c : {"memory", "cpu", "pids"}) {
    bool on = cgroups.controllers().count(c) > 0;
    out.layers.push_back({std::string("cgroup v2 ") + c + " limits", on,
                          on ? "controller enabled for agents"
                             : "controller not available in this cgroup v2 hierarchy: limits are recorded, not enforced"});
  }
  out.layers.push_back(bpf_lsm_layer());

  out.can_confine = reached_exec;
  if (!reached_exec) out.reason = failure.str();
  return out;
}

}  // namespace agentos::sandbox
