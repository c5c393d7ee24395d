// Secrets that agents use without ever holding: API keys and tokens, kept root-only under
// <state>/secrets/<owner uid>/<name> (directory 0700, file 0600). They are read only to fill in
// the headers the egress gateway adds for a route; they are never logged and never returned.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

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

  [[nodiscard]] Status set(uid_t owner, const std::string& name, const std::string& value);
  [[nodiscard]] Status remove(uid_t owner, const std::string& name);
  [[nodiscard]] Result<std::vector<SecretInfo>> list(uid_t owner) const;
  // For the gateway only.
  [[nodiscard]] Result<std::string> get(uid_t owner, const std::string& name) const;

 private:
  [[nodiscard]] std::string path(uid_t owner, const std::string& name) const;
  std::string dir_;
};

}  // namespace agentos
