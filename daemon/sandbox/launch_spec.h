// Everything the sandbox child needs, computed before clone so the child never allocates.
#pragma once

#include <linux/filter.h>
#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"
#include "sandbox/grant_object.h"
#include "sandbox/landlock.h"
#include "policy/policy.h"

namespace agentos::sandbox {

inline constexpr uint32_t kFsRead = 1, kFsWrite = 2, kFsExec = 4;  // == AGENTOS_FS_* (bpf/)

// Where the child assembles the agent's root before pivot_root. It covers the host's /tmp only
// inside the child's private mount namespace, after every grant has been captured by open_tree.
inline constexpr char kStagingRoot[] = "/tmp";

// Where every agent finds the broker, and the MCP stdio bridge, in its own view: a tmpfs of its
// own, which also covers whatever the host has at that path (the daemon's socket among it).
inline constexpr char kBrokerDir[] = "/run/agentos";
inline constexpr char kBrokerSocket[] = "/run/agentos/broker.sock";
inline constexpr char kBridgePath[] = "/run/agentos/agentos-mcp";
inline constexpr char kAgentPath[] = "/usr/local/bin:/usr/bin:/bin";  // PATH, unless the policy sets it
inline constexpr uid_t kFirstDynamicUid = 0x7FF00000;  // root's agents run from here up (DynamicUsers)

// One resolved grant (sandbox/grant_object.h), mounted where it really is on the host.
struct MountGrant {
  std::string source;  // its real path on the host: for messages, order, and where it goes
  std::string target;  // kStagingRoot + source
  bool writable = false;
  bool noexec = false;  // writable without exec: nothing written there runs or maps executable
  bool is_dir = true;
  int object_fd = -1;  // the resolved object (O_PATH), owned by LaunchSpec::objects
  int tree_fd = -1;  // set by the monitor: a detached clone of the object, its attributes applied
};

// What the BPF LSM is told of a grant: its rights on the object, known by device and inode.
struct FsRight {
  uint32_t rights = 0;  // kFsRead | kFsWrite | kFsExec
  uint64_t dev = 0;  // st_dev
  uint64_t ino = 0;
};

// A symlink recreated inside the root, e.g. merged-/usr's /lib -> usr/lib.
struct Symlink {
  std::string at;  // staged path
  std::string to;  // link text
};

struct LaunchSpec {
  std::string id;
  std::string name;
  std::string hostname;
  bool host_network = false;  // share the host's netns; the socket hooks hold it to its grants
  bool host_view = false;  // see the host's filesystem; the LSM or Landlock holds it to its grants
  bool gateway = false;  // [egress]: the gateway's sockets go into its network namespace
  std::vector<uint16_t> transparent_ports;  // with gateway: the ports granted to names, or on the host's loopback
  std::vector<uint16_t> loopback6_ports;  // granted on the host's ::1: a listener on the agent's ::1 too
  std::string bridge_source;  // the agentos-mcp binary on the host, shown at kBridgePath; may be empty
  int bridge_tree_fd = -1;  // set by the child: open_tree() clone of bridge_source

  uid_t uid = 0;  // host uid == uid inside (identity map); never 0
  gid_t gid = 0;
  std::vector<gid_t> groups;

  std::vector<std::string> argv_storage;
  std::vector<std::string> env_storage;
  std::vector<char*> argv;  // null-terminated views of the storage above
  std::vector<char*> envp;
  // Sets NAME=VALUE in the agent's environment (replacing one the policy set), envp rebuilt.
  void set_env(const std::string& name, const std::string& value);
  void rebuild_envp();
  std::string workdir;

  std::vector<MountGrant> grants;  // sorted so that a parent is mounted before its children
  // [devices]: each node mounted at its own path in the sandbox's /dev (the host view shows the
  // host's), and its number allowed by the cgroup device hook.
  std::vector<MountGrant> devices;
  std::vector<dev_t> device_numbers;
  std::vector<Symlink> symlinks;

  LandlockPlan landlock;  // read/write/exec per grant object, where the kernel offers Landlock
  // The same grants for the BPF LSM, by real host path, each including the rights of the grants
  // above it, plus the /dev nodes, the dynamic loader and the MCP bridge.
  std::map<std::string, FsRight> fs_rights;
  std::vector<UniqueFd> objects;  // every resolved grant object (O_PATH); the spec owns them
  std::vector<sock_filter> seccomp;  // baseline filter, compiled by the daemon

  // Owned by the caller; the child dup2()s them.
  // The agent's stdio. With `relay`, the monitor makes pipes (or the child a terminal) and relays
  // them to `log_fd` and the console (relay.h); the three below are then set by the monitor and
  // the child. Without (an MCP server), they are given: its protocol socket, and its log.
  int stdout_fd = -1;
  int stdin_fd = -1;  // /dev/null unless interactive
  int stderr_fd = -1;  // -1: stdout's
  bool relay = false;
  bool interactive = false;  // stdin is a pipe from the console
  bool tty = false;  // stdin, stdout and stderr are a pseudo-terminal of the sandbox's own devpts
  uint16_t rows = 24, cols = 80;  // the terminal's first size
  int log_fd = -1;  // the agent's log (O_APPEND), for the relay
  int console_fd = -1;  // the monitor's end of the console
  int console_peer_fd = -1;  // the daemon's end: the monitor keeps a copy for a restarted daemon
  bool console_attached = false;  // a client waits for the output from the first byte
  int cgroup_fd = -1;  // the agent's cgroup v2 directory, for CLONE_INTO_CGROUP

  // Bounds that hold without any cgroup controller: processes and threads of the agent's uid in
  // its own user namespace (RLIMIT_NPROC, counted per user namespace), and its tmpfs mounts.
  uint32_t max_tasks = 0;
  std::string tmp_options;  // mount options of its private /tmp, size and file count included
  std::string shm_options;  // of its /dev/shm

  std::string exit_path;  // where the monitor records the exit status
  std::vector<int> keep_fds;  // the monitor holds these open for the agent's lifetime (BPF links)
};

// A delegate's grants must name objects its delegator's grants reach, kind by kind (read, write,
// exec), whatever their spelling: each of the spec's objects is walked up to one of `outer`'s,
// resolved now with the same owner's permissions.
[[nodiscard]] Status objects_within(const LaunchSpec& spec, const policy::Policy& outer);

// Shows the MCP stdio bridge (`source` on the host) at kBridgePath, executable there.
void add_bridge(LaunchSpec& spec, const std::string& source);

// Resolves the policy's grants on the host, as the agent's owner (uid, gid, groups), into objects
// (grant_object.h) and fills a spec. Fails if a granted path is missing or may not be granted.
[[nodiscard]] Result<LaunchSpec> make_launch_spec(const policy::Policy& p, const std::string& id,
                                                   uid_t uid, gid_t gid,
                                                   std::vector<gid_t> groups);

}  // namespace agentos::sandbox
