// Landlock: the kernel enforces read, write and exec on each granted tree separately, beneath the
// mount namespace's view. It is the file layer of the fallback ladder where BPF LSM is missing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace agentos::sandbox {

struct LandlockRule {
  std::string path;  // as seen inside the sandbox, opened there when `fd` is not set
  uint64_t access = 0;  // LANDLOCK_ACCESS_FS_* (directory rights are dropped for files)
  int fd = -1;  // the grant object itself (O_PATH), resolved by the daemon: Landlock keys on it
  bool optional = false;  // the sandbox's own file, which may be absent: then there is no rule
};

struct LandlockPlan {
  int abi = 0;  // 0: the kernel offers no Landlock, and nothing is applied
  uint64_t handled_fs = 0;
  uint64_t scoped = 0;
  std::vector<LandlockRule> rules;
};

// The highest Landlock ABI this kernel offers, or 0. Probed once.
int landlock_abi();

// Access masks for the three kinds of grant, at this kernel's ABI.
uint64_t landlock_read_access();
uint64_t landlock_write_access();
uint64_t landlock_device_access();  // a device node: read, write, truncate, its ioctls
uint64_t landlock_exec_access();

// Adds the rules every sandbox needs: its /proc and /dev nodes and, in its private root, listing
// "/" and writing its private /tmp and /dev/shm. In the host's view those would be the host's.
void add_sandbox_rules(LandlockPlan& plan, bool host_view);

// Child side, async-signal-safe. Builds the ruleset while the grant objects are still open
// (*ruleset is -1 where the kernel offers no Landlock); enforcing it later needs no_new_privs.
// Each returns 0 or an errno, with *what set.
int prepare_landlock(const LandlockPlan& plan, int* ruleset, const char** what);
int enforce_landlock(int ruleset, const char** what);

}  // namespace agentos::sandbox
