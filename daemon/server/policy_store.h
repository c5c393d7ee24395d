// The policies in the policy directory, one agent per file.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "policy/policy.h"

namespace agentos {

class PolicyStore {
 public:
  explicit PolicyStore(std::string dir) : dir_(std::move(dir)) {}

  // Rereads the directory. A file with errors is not applied: the policy it held before (if
  // any) stays in force, and its diagnostics are returned. Files whose text is unchanged since
  // the last load, or equal to one of `just_written`, are not parsed again.
  std::vector<std::string> reload(const std::vector<policy::Policy>& just_written = {});

  // Validates every file first; only if all are valid (also against the names already loaded
  // from other files) are they written into the directory, one atomic rename each, and loaded.
  [[nodiscard]] Result<std::vector<std::string>> install(
      const std::vector<std::pair<std::string, std::string>>& files,  // (path, content)
      std::vector<std::string>* diagnostics);

  [[nodiscard]] const policy::Policy* find(const std::string& name) const;
  [[nodiscard]] const std::map<std::string, policy::Policy>& all() const { return by_name_; }
  [[nodiscard]] const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::map<std::string, policy::Policy> by_name_;
};

}  // namespace agentos
