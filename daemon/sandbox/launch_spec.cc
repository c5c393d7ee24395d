#include "sandbox/launch_spec.h"
#include "sandbox/netns.h"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <dirent.h>
#include <map>

#include "policy/paths.h"
#include "sandbox/elf.h"

namespace agentos::sandbox {
namespace {

Result<std::string> read_link(const std::string& path) {
  char buf[PATH_MAX];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
  if (n < 0) return sys_error("readlink " + path);
  return std::string(buf, static_cast<size_t>(n));
}

Result<std::string> real_path(const std::string& path) {
  char buf[PATH_MAX];
  if (!::realpath(path.c_str(), buf)) return sys_error("filesystem grant " + path);
  return std::string(buf);
}

// The first symlink on the way to `path`, recreated in the root so the path still resolves
// there (the grant itself is mounted at its real location).
Result<std::optional<Symlink>> first_symlink(const std::string& path) {
  for (size_t pos = 1; pos <= path.size(); ++pos) {
    if (pos != path.size() && path[pos] != '/') continue;
    std::string prefix = path.substr(0, pos);
    struct stat st;
    if (::lstat(prefix.c_str(), &st) != 0) return sys_error("filesystem grant " + path);
    if (S_ISLNK(st.st_mode)) {
      auto to = read_link(prefix);
      if (!to) return to.error();
      return std::optional<Symlink>{Symlink{kStagingRoot + prefix, *to}};
    }
  }
  return std::optional<Symlink>{};
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

  // One mount per real location; write wins where grants overlap. Landlock gets each kind of
  // access on the real path, which is where the grant appears inside the sandbox too.
  std::map<std::string, bool> writable;
  std::map<std::string, uint64_t> access;
  auto add = [&](const std::vector<std::string>& paths, bool w, uint64_t ll, uint32_t fs) -> Status {
    for (const auto& path : paths) {
      auto real = real_path(path);
      if (!real) return real.error();
      // The parser checked the text; a symlink could still lead into /proc, /sys or /dev.
      if (auto ok = policy::check_grant_path(*real); !ok)
        return error("filesystem grant " + path + " resolves to " + *real + ": " + ok.error().str());
      auto link = first_symlink(path);
      if (!link) return link.error();
      if (*link) s.symlinks.push_back(**link);
      writable[*real] = writable[*real] || w;
      access[*real] |= ll;
      s.fs_rights[*real] |= fs;
    }
    return {};
  };
  if (auto st = add(p.read, false, landlock_read_access(), kFsRead); !st) return st.error();
  if (auto st = add(p.exec, false, landlock_exec_access(), kFsRead | kFsExec); !st) return st.error();
  if (auto st = add(p.write, true, landlock_write_access(), kFsRead | kFsWrite); !st) return st.error();
  for (auto& [src, w] : writable) {  // std::map order puts each parent before its children
    struct stat st;
    if (::stat(src.c_str(), &st) != 0) return sys_error("filesystem grant " + src);
    s.grants.push_back({src, kStagingRoot + src, w, false, S_ISDIR(st.st_mode), -1});
  }
  add_sandbox_rules(s.landlock, s.host_view);
  for (auto& [path, a] : access) s.landlock.rules.push_back({path, a});
  // The dynamic loader runs every dynamically linked program: executable wherever it is visible.
  if (!p.command.empty())
    if (auto interp = elf_interpreter(p.command[0]))
      if (char buf[PATH_MAX]; ::realpath(interp->c_str(), buf))
        if (std::any_of(writable.begin(), writable.end(), [&](auto& g) { return policy::path_covers(g.first, buf); })) {
          s.landlock.rules.push_back({buf, landlock_exec_access()});
          s.fs_rights[buf] |= kFsRead | kFsExec;
        }
  for (const char* node : {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"})
    s.fs_rights[node] |= kFsRead | kFsWrite;
  // A grant covers everything beneath it: fold each ancestor's rights into its descendants, so
  // the nearest granted inode the kernel finds carries the union.
  for (auto& [path, rights] : s.fs_rights)
    for (const auto& [above, more] : s.fs_rights)
      if (above != path && policy::path_covers(above, path)) rights |= more;
  // A grant beneath a write grant is writable too. Where the agent may write but not execute,
  // the mount says so: that is what stops mmap with PROT_EXEC under the fallback, which Landlock
  // does not govern. Exec paths that are not mounts of their own (the loader) keep theirs exec.
  for (auto& g : s.grants) {
    for (const auto& [src, w] : writable) g.writable = g.writable || (w && policy::path_covers(src, g.source));
    g.noexec = g.writable && std::none_of(s.fs_rights.begin(), s.fs_rights.end(), [&](auto& r) {
                 return (r.second & kFsExec) && policy::path_covers(g.source, r.first) &&
                        (r.first == g.source || !writable.contains(r.first));
               });
  }

  for (auto& l : root_symlinks())
    if (std::none_of(s.symlinks.begin(), s.symlinks.end(), [&](auto& x) { return x.at == l.at; }))
      s.symlinks.push_back(l);

  s.argv_storage = p.command;
  s.env_storage = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + s.workdir,
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
    for (const auto& g : p.egress->allow)
      if (!g.range && g.port != kGatewayPort && s.transparent_ports.size() < kMaxTransparentPorts &&
          std::find(s.transparent_ports.begin(), s.transparent_ports.end(), g.port) == s.transparent_ports.end())
        s.transparent_ports.push_back(g.port);
  }
  for (const auto& [k, v] : p.env) {
    std::string prefix = k + "=";
    std::erase_if(s.env_storage, [&](const std::string& e) { return e.starts_with(prefix); });
    s.env_storage.push_back(prefix + v);
  }
  for (auto& a : s.argv_storage) s.argv.push_back(a.data());
  s.argv.push_back(nullptr);
  for (auto& e : s.env_storage) s.envp.push_back(e.data());
  s.envp.push_back(nullptr);
  return s;
}

void add_bridge(LaunchSpec& spec, const std::string& source) {
  spec.bridge_source = source;
  spec.fs_rights[source] |= kFsRead | kFsExec;  // the LSM judges the object: the binary itself
  spec.landlock.rules.push_back({kBridgePath, landlock_exec_access()});  // Landlock, the path
}

}  // namespace agentos::sandbox
