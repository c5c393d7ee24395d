// Secrets that agents use without ever holding: API keys and tokens, kept root-only under
// <state>/secrets/<owner uid>/<name> (directory 0700, file 0600). The daemon moves them as file
// descriptors only: in from the client's memfd (copied by the kernel), out to the egress gateway
// (a read-only descriptor), so a value is never in the daemon's memory, nor in anything it forks.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/unique_fd.h"

namespace agentos {

struct SecretInfo {
  std::string name;
  uint64_t bytes = 0;
  uint64_t updated_unix = 0;
};

class SecretStore {
 public:
  static constexpr size_t kMaxBytes = 64 * 1024;

  explicit SecretStore(std::string dir) : dir_(std::move(dir)) {}

  // Stores the contents of `value_fd` (a memfd or regular file) without reading them here.
  [[nodiscard]] Status set(uid_t owner, const std::string& name, int value_fd);
  [[nodiscard]] Status remove(uid_t owner, const std::string& name);
  [[nodiscard]] Result<std::vector<SecretInfo>> list(uid_t owner) const;
  // For the egress gateway only: a read-only descriptor of the secret.
  [[nodiscard]] Result<UniqueFd> open(uid_t owner, const std::string& name) const;

 private:
  [[nodiscard]] std::string path(uid_t owner, const std::string& name) const;
  std::string dir_;
};

}  // namespace agentos
