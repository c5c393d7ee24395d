// Who is calling, as the kernel reports it, and which host uid an agent runs as.
#pragma once

#include <sys/types.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/result.h"
#include "sandbox/launch_spec.h"

namespace agentos {

struct Peer {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  bool admin = false;  // root, or a member of the admin group
};

// SO_PEERCRED and SO_PEERGROUPS of a connected Unix socket.
[[nodiscard]] Result<Peer> peer_of(int fd, gid_t admin_gid);

// The cgroup v2 path ("/agentos/agents/<id>") of the process that connected `fd` (its SO_PEERCRED
// pid), read while that process is known to be the one: through the socket's own pidfd where the
// kernel offers it (SO_PEERPIDFD, Linux 6.5), else one opened by pid. Fails if it has exited.
[[nodiscard]] Result<std::string> peer_cgroup(int fd, pid_t pid);

// Agents that root owns run as a dedicated unprivileged uid, like systemd's DynamicUser: one
// stable uid per agent name, kept in a file so files an agent wrote stay its own.
class DynamicUsers {
 public:
  static constexpr uid_t kFirst = sandbox::kFirstDynamicUid;  // 2146435072
  static constexpr uid_t kCount = 0x10000;

  explicit DynamicUsers(std::string path) : path_(std::move(path)) {}
  // Reads the names allocated so far, and which ids of the range users and groups already have
  // (one pass over the user and group databases, at start: the event loop never waits on NSS).
  [[nodiscard]] Status load();
  [[nodiscard]] Result<uid_t> uid_for(const std::string& agent_name);

 private:
  std::string path_;
  std::map<std::string, uid_t> uids_;
  std::set<uid_t> taken_;  // by a user or group of the system's
};

}  // namespace agentos
