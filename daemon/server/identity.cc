#include "server/identity.h"

#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <functional>

#include <nlohmann/json.hpp>

#include "common/atomic_file.h"
#include "common/unique_fd.h"

namespace agentos {

Result<Peer> peer_of(int fd, gid_t admin_gid) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return sys_error("SO_PEERCRED");
  Peer p{cred.pid, cred.uid, cred.gid, {}, false};
  std::vector<gid_t> groups(64);
  len = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &len) != 0) {
    if (errno != ERANGE) return sys_error("SO_PEERGROUPS");
    groups.resize(len / sizeof(gid_t));
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &len) != 0)
      return sys_error("SO_PEERGROUPS");
  }
  groups.resize(len / sizeof(gid_t));
  p.groups = std::move(groups);
  p.admin = p.uid == 0 || (admin_gid != static_cast<gid_t>(-1) &&
                           (p.gid == admin_gid ||
                            std::find(p.groups.begin(), p.groups.end(), admin_gid) != p.groups.end()));
  return p;
}

Result<std::string> peer_cgroup(int fd, pid_t pid) {
  constexpr int kSoPeerPidfd = 77;  // SO_PEERPIDFD: newer than our headers
  int raw = -1;
  socklen_t len = sizeof raw;
  if (::getsockopt(fd, SOL_SOCKET, kSoPeerPidfd, &raw, &len) != 0) raw = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  UniqueFd pidfd(raw);
  if (!pidfd.valid()) return sys_error("the caller's pidfd");
  std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
  std::string cgroup;
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("0::")) cgroup = line.substr(3);
  // Still alive after the read: the pid named that process all along.
  if (::syscall(SYS_pidfd_send_signal, pidfd.get(), 0, nullptr, 0) != 0) return sys_error("the caller exited");
  if (cgroup.empty()) return error("the caller's cgroup is unknown");
  return cgroup;
}

Status DynamicUsers::load() {
  auto in_range = [](id_t id) { return id >= kFirst && id - kFirst < kCount; };
  ::setpwent();
  while (const passwd* pw = ::getpwent())
    if (in_range(pw->pw_uid)) taken_.insert(pw->pw_uid);
  ::endpwent();
  ::setgrent();
  while (const group* gr = ::getgrent())
    if (in_range(gr->gr_gid)) taken_.insert(gr->gr_gid);
  ::endgrent();
  std::ifstream in(path_);
  if (!in) return {};  // none allocated yet
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return error(path_ + ": malformed");
  for (auto& [name, uid] : j.items())
    if (uid.is_number_unsigned()) uids_[name] = uid.get<uid_t>();
  return {};
}

Result<uid_t> DynamicUsers::uid_for(const std::string& agent_name) {
  if (auto it = uids_.find(agent_name); it != uids_.end()) return it->second;
  auto taken = [&](uid_t u) {
    for (auto& [n, v] : uids_)
      if (v == u) return true;
    return taken_.contains(u);
  };
  uid_t slot = static_cast<uid_t>(std::hash<std::string>{}(agent_name) % kCount);
  for (uid_t i = 0; i < kCount; ++i) {
    uid_t u = kFirst + (slot + i) % kCount;
    if (taken(u)) continue;
    uids_[agent_name] = u;
    nlohmann::json j(uids_);
    if (auto s = write_file_atomic(path_, j.dump(2) + "\n", 0644); !s) return s.error();
    return u;
  }
  return error("no dynamic uid left");
}

}  // namespace agentos
