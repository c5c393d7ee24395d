// Grants are objects, not strings. Each granted path is resolved once, with the agent owner's
// permissions and without following any symlink an agent could have planted, into an O_PATH
// descriptor of what it names. That descriptor is what is checked (no kernel pseudo-filesystem,
// not the host's /dev), what the kernel layers are told about (its device and inode for BPF LSM,
// the descriptor for Landlock) and what is mounted (a clone of it). Nothing is looked up by its
// path again, so what an agent does to the path between the check and the mount changes nothing.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace agentos::sandbox {

struct GrantObject {
  std::string path;  // as the policy wrote it
  std::string real;  // where it is: every component resolved, the trusted symlinks followed
  UniqueFd fd;  // O_PATH
  uint64_t dev = 0;  // st_dev
  uint64_t ino = 0;
  bool is_dir = false;
  // The first symlink on the policy's own spelling of the path (e.g. merged-/usr's /lib), so the
  // agent's root can show the path as written although the grant is mounted where it really is.
  std::optional<std::pair<std::string, std::string>> first_link;  // where, link text
};

// The daemon's filesystem identity switched to an agent owner's for as long as this lives
// (setfsuid, setfsgid, setgroups): what a grant may name is what the owner could open. The
// daemon runs no threads, so the switch affects nothing else. A no-op when not running as root.
class OwnerIdentity {
 public:
  [[nodiscard]] static Result<OwnerIdentity> become(uid_t uid, gid_t gid, const std::vector<gid_t>& groups);
  OwnerIdentity(OwnerIdentity&& o) noexcept : saved_(std::move(o.saved_)), active_(std::exchange(o.active_, false)) {}
  OwnerIdentity& operator=(OwnerIdentity&&) = delete;
  OwnerIdentity(const OwnerIdentity&) = delete;
  ~OwnerIdentity();

 private:
  OwnerIdentity() = default;
  std::vector<gid_t> saved_;
  bool active_ = false;
};

// Resolves an absolute path component by component. A symlink is followed only when root owns it
// and the directory holding it, and no one else may change that directory (as merged-/usr's /lib
// or /var/run): any other is refused with its target named, since an agent running as its owner
// could point it anywhere. The object must not be on a kernel pseudo-filesystem (/proc, /sys,
// cgroupfs, bpffs, ...) or the host's /dev, nor have one mounted beneath it.
[[nodiscard]] Result<GrantObject> resolve_grant(const std::string& path);

// Whether the object `fd` (at `real`, as resolve_grant gave it) is one of `outer` or lies beneath
// one of them, found by walking up from the object itself: never by comparing spellings.
struct ObjectId {
  uint64_t dev = 0, ino = 0;
  bool operator==(const ObjectId&) const = default;
};
[[nodiscard]] Result<bool> object_within(int fd, const std::string& real, bool is_dir, const std::vector<ObjectId>& outer);

// Kernel filesystems never granted, by statfs f_type and by the name mountinfo gives them.
[[nodiscard]] const char* pseudo_filesystem(int64_t f_type);
[[nodiscard]] bool pseudo_filesystem_name(const std::string& fstype);

}  // namespace agentos::sandbox
