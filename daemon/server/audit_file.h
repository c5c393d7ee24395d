// audit.log on disk: each record sealed into the hash chain (common/audit_chain.h) and appended
// through one descriptor kept open (O_APPEND); past a size the file is renamed to audit.log.1 and
// a new one begins, the chain continuing into it. At start the chain's head is read back from the
// end of the file, so it continues across restarts too.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/audit_chain.h"
#include "common/result.h"
#include "common/unique_fd.h"

namespace agentos {

class AuditFile {
 public:
  static constexpr uint64_t kRotateBytes = 64u << 20;

  struct Head {
    uint64_t seq = 0;
    std::string hash{audit_chain::kGenesis};
  };
  // What open() found at the trail's end.
  struct Resumed {
    Head head;
    std::string last_decision;  // of the last record: "stop" after a clean stop
    uint64_t torn_bytes = 0;  // a last line a crash cut short; the next record seals it
    bool unchained = false;  // lines written before the chain began
  };

  explicit AuditFile(std::string path, uint64_t rotate_bytes = kRotateBytes)
      : path_(std::move(path)), rotate_bytes_(rotate_bytes) {}

  [[nodiscard]] Result<Resumed> open();
  // A half-written line is sealed in the file it is in before that file is rotated.
  [[nodiscard]] bool full() const { return size_ >= rotate_bytes_ && !torn_; }
  [[nodiscard]] Status rotate();
  // Seals `body` (a JSON object) with the next seq and the head's hash, and appends it as one line:
  // whole, or not at all.
  [[nodiscard]] Result<Head> append(nlohmann::json body);
  [[nodiscard]] const Head& head() const { return head_; }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  [[nodiscard]] Status reopen();
  [[nodiscard]] Result<Resumed> resume_from(const std::string& path, bool newest);

  std::string path_;
  uint64_t rotate_bytes_;
  UniqueFd fd_;
  uint64_t size_ = 0;
  Head head_;
  std::optional<std::string> torn_;  // the SHA-256 of a half-written last line
};

}  // namespace agentos
