#include "sandbox/launch_spec.h"
#include "sandbox/netns.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <dirent.h>
#include <map>

#include "policy/limit_values.h"
#include "policy/net_rule.h"
#include "policy/paths.h"
#include "sandbox/device_grant.h"
#include "sandbox/elf.h"
#include "sandbox/exec_chain.h"

namespace agentos::sandbox {
namespace {

Result<std::string> read_link(const std::string& path) {
  char buf[PATH_MAX];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
  if (n < 0) return sys_error("readlink " + path);
  return std::string(buf, static_cast<size_t>(n));
}

// Top-level symlinks such as merged-/usr's /lib -> usr/lib. They carry no data and resolve only
// into what is granted.
std::vector<Symlink> root_symlinks() {
  std::vector<Symlink> out;
  DIR* d = ::opendir("/");
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    if (e->d_type != DT_LNK) continue;
    std::string at = std::string("/") + e->d_name;
    if (auto to = read_link(at)) out.push_back({kStagingRoot + at, *to});
  }
  ::closedir(d);
  return out;
}

// A write grant the agent's own uid cannot write would be one in name only: say so at the start
// rather than let `inspect` call it writable. Checked as the owner (the caller switched to it).
Status writable_by_owner(const GrantObject& obj, uid_t uid) {
  int mode = obj.is_dir ? W_OK | X_OK : W_OK;
  if (::syscall(SYS_faccessat2, obj.fd.get(), "", mode, AT_EMPTY_PATH | AT_EACCESS) == 0) return {};
  int err = errno;
  struct stat st;
  if (::fstat(obj.fd.get(), &st) != 0) return sys_error("filesystem grant " + obj.path);
  std::string why = err == EROFS ? "it is on a read-only filesystem"
                                 : "uid " + std::to_string(uid) + " may not write it (owner uid " + std::to_string(st.st_uid) +
                                       ", mode " + [&] { char m[8]; std::snprintf(m, sizeof m, "%04o", st.st_mode & 07777); return std::string(m); }() + ")";
  std::string hint = uid >= kFirstDynamicUid ? "; an agent root owns runs as a dynamic user of its own: give it a directory under "
                                         "the state directory (/var/lib/agentos/agents/NAME, which the daemon makes for it)"
                                       : "";
  return error("filesystem grant " + obj.path + " (write): the agent runs as its owner, and " + why + hint);
}

}  // namespace

Result<LaunchSpec> make_launch_spec(const policy::Policy& p, const std::string& id, uid_t uid,
                                    gid_t gid, std::vector<gid_t> groups) {
  if (uid == 0) return error("refusing to run an agent as host uid 0");
  LaunchSpec s;
  s.id = id;
  s.name = p.name;
  s.hostname = p.name.substr(0, 63);
  s.host_network = p.host_network;
  s.host_view = p.host_filesystem;
  s.uid = uid;
  s.gid = gid;
  s.groups = std::move(groups);
  s.workdir = p.workdir.empty() ? "/" : p.workdir;
  s.max_tasks = p.limits.pids.value_or(policy::kDefaultPids);
  auto tmpfs = [](uint64_t bytes) {
    return "mode=1777,size=" + std::to_string(bytes) + ",nr_inodes=" + std::to_string(bytes / policy::kBytesPerTmpfsInode + 1);
  };
  s.tmp_options = tmpfs(p.limits.tmp_bytes.value_or(policy::kDefaultTmpBytes));
  s.shm_options = tmpfs(p.limits.shm_bytes.value_or(policy::kDefaultShmBytes));

  // One mount per object; write wins where grants overlap. Landlock gets each kind of access on
  // the object itself, which is also what the agent sees where the grant is mounted.
  struct Entry {
    size_t object = 0;
    bool writable = false;
    uint64_t landlock = 0;
    bool is_dir = true;
  };
  std::map<std::string, Entry> entries;  // by real path: std::map puts each parent before its children
  auto add_object = [&](GrantObject& obj, bool w, uint64_t ll, uint32_t fs) {
    auto [it, fresh] = entries.try_emplace(obj.real, Entry{s.objects.size(), false, 0, obj.is_dir});
    if (fresh) {
      s.fs_rights[obj.real] = {0, obj.dev, obj.ino};
      s.objects.push_back(std::move(obj.fd));
    }
    it->second.writable = it->second.writable || w;
    it->second.landlock |= ll;
    s.fs_rights[obj.real].rights |= fs;
  };
  {
    // Every path is resolved once, with the owner's permissions, into the object it names.
    auto owner = OwnerIdentity::become(uid, gid, s.groups);
    if (!owner) return owner.error();
    auto add = [&](const std::vector<std::string>& paths, bool w, uint64_t ll, uint32_t fs) -> Status {
      for (const auto& path : paths) {
        auto obj = resolve_grant(path);
        if (!obj) return obj.error();
        if (w)
          if (auto can = writable_by_owner(*obj, uid); !can) return can.error();
        if (obj->first_link && std::none_of(s.symlinks.begin(), s.symlinks.end(),
                                            [&](auto& l) { return l.at == kStagingRoot + obj->first_link->first; }))
          s.symlinks.push_back({kStagingRoot + obj->first_link->first, obj->first_link->second});
        add_object(*obj, w, ll, fs);
      }
      return {};
    };
    if (auto st = add(p.read, false, landlock_read_access(), kFsRead); !st) return st.error();
    if (auto st = add(p.exec, false, landlock_exec_access(), kFsRead | kFsExec); !st) return st.error();
    if (auto st = add(p.write, true, landlock_write_access(), kFsRead | kFsWrite); !st) return st.error();
    // The programs the kernel loads to start the command. A dynamic loader runs every dynamically
    // linked program: executable wherever a grant shows it. The command and a script's
    // interpreters need exec grants of their own; a missing one is named now, not met as EACCES.
    auto granted = [&](const std::string& real) {
      uint32_t rights = 0;
      for (const auto& [path, right] : s.fs_rights)
        if (policy::path_covers(path, real)) rights |= right.rights;
      return rights;
    };
    auto visible = [&](const std::string& path) {
      char buf[PATH_MAX];
      return ::realpath(path.c_str(), buf) && (p.host_filesystem || granted(buf) != 0);
    };
    auto path_env = p.env.contains("PATH") ? p.env.at("PATH") : std::string(kAgentPath);
    if (!p.command.empty())
      for (const auto& step : exec_chain(p.command[0], path_env, visible)) {
        char real[PATH_MAX];
        if (!::realpath(step.path.c_str(), real)) continue;  // missing: the exec fails with ENOENT, naming it
        if (step.kind != ExecStep::kLoader) {
          if (!(granted(real) & kFsExec))
            return error(step.path + " (" + step.why + ") has no exec grant: add it, or a directory above it, to "
                         "[filesystem] exec");
          continue;
        }
        if (!visible(step.path)) continue;
        if (auto obj = resolve_grant(step.path)) {
          s.landlock.rules.push_back({obj->real, landlock_exec_access(), obj->fd.get()});
          s.fs_rights[obj->real] = {s.fs_rights[obj->real].rights | kFsRead | kFsExec, obj->dev, obj->ino};
          s.objects.push_back(std::move(obj->fd));
        }
      }
  }
  for (auto& [real, e] : entries)
    s.grants.push_back({real, kStagingRoot + real, e.writable, false, e.is_dir, s.objects[e.object].get(), -1});
  add_sandbox_rules(s.landlock, s.host_view);
  for (auto& [real, e] : entries) s.landlock.rules.push_back({real, e.landlock, s.objects[e.object].get()});
  for (const char* node : {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"})
    if (struct stat st; ::stat(node, &st) == 0) s.fs_rights[node] = {kFsRead | kFsWrite, st.st_dev, st.st_ino};
  auto devices = resolve_devices(p.devices);
  if (!devices) return devices.error();
  for (auto& d : *devices) {
    s.devices.push_back({d.path, kStagingRoot + d.path, true, true, false, d.fd.get(), -1});
    s.device_numbers.push_back(d.rdev);
    s.landlock.rules.push_back({d.path, landlock_device_access(), d.fd.get()});
    s.fs_rights[d.path] = {kFsRead | kFsWrite, d.dev, d.ino};
    s.objects.push_back(std::move(d.fd));
  }
  // A grant covers everything beneath it: fold each ancestor's rights into its descendants, so
  // the nearest granted inode the kernel finds carries the union.
  for (auto& [path, right] : s.fs_rights)
    for (const auto& [above, more] : s.fs_rights)
      if (above != path && policy::path_covers(above, path)) right.rights |= more.rights;
  // A grant beneath a write grant is writable too. Where the agent may write but not execute,
  // the mount says so: that is what stops mmap with PROT_EXEC under the fallback, which Landlock
  // does not govern. Exec paths that are not mounts of their own (the loader) keep theirs exec.
  for (auto& g : s.grants) {
    for (const auto& [src, e] : entries) g.writable = g.writable || (e.writable && policy::path_covers(src, g.source));
    g.noexec = g.writable && std::none_of(s.fs_rights.begin(), s.fs_rights.end(), [&](auto& r) {
                 return (r.second.rights & kFsExec) && policy::path_covers(g.source, r.first) &&
                        (r.first == g.source || !entries.contains(r.first));
               });
  }

  for (auto& l : root_symlinks())
    if (std::none_of(s.symlinks.begin(), s.symlinks.end(), [&](auto& x) { return x.at == l.at; }))
      s.symlinks.push_back(l);

  s.argv_storage = p.command;
  s.env_storage = {std::string("PATH=") + kAgentPath, "HOME=" + s.workdir,
                   "AGENTOS_AGENT=" + p.name, "AGENTOS_AGENT_ID=" + id};
  if (p.egress) {
    // Ordinary clients (curl, Python, most HTTP libraries) find the gateway by these; a route is
    // reached at the gateway directly, so loopback is not proxied.
    s.gateway = true;
    std::string gw = "http://127.0.0.1:" + std::to_string(kGatewayPort);
    for (const char* k : {"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"}) s.env_storage.push_back(std::string(k) + "=" + gw);
    for (const char* k : {"NO_PROXY", "no_proxy"}) s.env_storage.push_back(std::string(k) + "=localhost,127.0.0.1,::1");
    s.env_storage.push_back("AGENTOS_GATEWAY=" + gw);
    // Clients that ignore the proxy resolve a granted name at the gateway's DNS stub and connect
    // to the address it gives, on the granted port, where the gateway listens too. The proxy's
    // own port stays the proxy's.
    // A port granted on the host's own loopback ("127.0.0.1:11434", "localhost:11434": a local
    // model server) gets one too, on the agent's loopback, where clients that skip the proxy for
    // loopback (NO_PROXY) connect; every other port of its loopback stays its own.
    auto add_port = [&](std::vector<uint16_t>& ports, uint16_t port) {
      if (port != kGatewayPort && s.transparent_ports.size() + s.loopback6_ports.size() < kMaxTransparentPorts &&
          std::find(ports.begin(), ports.end(), port) == ports.end())
        ports.push_back(port);
    };
    for (const auto& g : p.egress->allow) {
      if (!g.range || policy::loopback(*g.range)) add_port(s.transparent_ports, g.port);
      if (g.range && policy::loopback(*g.range) && g.range->family == AF_INET6) add_port(s.loopback6_ports, g.port);
    }
  }
  for (auto& a : s.argv_storage) s.argv.push_back(a.data());
  s.argv.push_back(nullptr);
  for (const auto& [k, v] : p.env) s.set_env(k, v);
  s.rebuild_envp();
  return s;
}

Status objects_within(const LaunchSpec& spec, const policy::Policy& outer) {
  auto owner = OwnerIdentity::become(spec.uid, spec.gid, spec.groups);
  if (!owner) return owner.error();
  std::vector<ObjectId> by_kind[3];  // read, write, exec: writing and running imply reading
  auto add = [&](const std::vector<std::string>& paths, std::initializer_list<int> kinds) -> Status {
    for (const auto& path : paths) {
      auto obj = resolve_grant(path);
      if (!obj) return error("the delegator's " + obj.error().str());
      for (int k : kinds) by_kind[k].push_back({obj->dev, obj->ino});
    }
    return {};
  };
  if (auto s = add(outer.read, {0}); !s) return s;
  if (auto s = add(outer.write, {0, 1}); !s) return s;
  if (auto s = add(outer.exec, {0, 2}); !s) return s;
  static const char* const kKinds[] = {"read", "write", "exec"};
  static const uint32_t kRights[] = {kFsRead, kFsWrite, kFsExec};
  for (const auto& g : spec.grants) {
    uint32_t rights = spec.fs_rights.at(g.source).rights;
    for (int k = 0; k < 3; ++k) {
      if (!(rights & kRights[k])) continue;
      auto within = object_within(g.object_fd, g.source, g.is_dir, by_kind[k]);
      if (!within) return within.error();
      if (!*within)
        return error("filesystem grant " + g.source + " (" + kKinds[k] + ") is outside every " + kKinds[k] +
                     " grant of the delegating agent, by the objects they reach");
    }
  }
  return {};
}

void add_bridge(LaunchSpec& spec, const std::string& source) {
  struct stat st;
  if (::stat(source.c_str(), &st) != 0) return;  // the daemon's own binary; without it, no bridge
  spec.bridge_source = source;
  auto& right = spec.fs_rights[source];  // the LSM judges the object: the binary itself
  right = {right.rights | kFsRead | kFsExec, st.st_dev, st.st_ino};
  spec.landlock.rules.push_back({kBridgePath, landlock_exec_access()});  // Landlock, the path
}

void LaunchSpec::set_env(const std::string& key, const std::string& value) {
  std::string prefix = key + "=";
  std::erase_if(env_storage, [&](const std::string& e) { return e.starts_with(prefix); });
  env_storage.push_back(prefix + value);
  rebuild_envp();
}

void LaunchSpec::rebuild_envp() {
  envp.clear();
  for (auto& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);
}

}  // namespace agentos::sandbox
