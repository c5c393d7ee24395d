// Verifying the audit trail's hash chain (audit_chain.h): line by line, and the files
// audit.log.1 and audit.log as a pair. `agentctl audit verify` prints what this finds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/audit_chain.h"
#include "common/result.h"

namespace agentos::audit_chain {

// A record's seq and hash kept apart from the file: in the journal, or in a copy of it sent off the host.
struct Anchor {
  uint64_t seq = 0;
  std::string hash;
};
[[nodiscard]] std::optional<Anchor> parse_anchor(std::string_view text);  // "SEQ:HASH"

struct Problem {
  std::string file;
  uint64_t line = 0;
  std::string reason;
};

struct Summary {
  uint64_t records = 0;
  uint64_t first_seq = 0;  // 0: no records
  uint64_t last_seq = 0;
  std::string last_hash;
  uint64_t torn = 0;  // half-written runs of lines, sealed by the record after them
  uint64_t unchained = 0;  // lines from before the chain began
};

// Checks a trail line by line, oldest file first; stops at the first broken record.
class Verifier {
 public:
  explicit Verifier(std::vector<Anchor> anchors = {}) : anchors_(std::move(anchors)) {}
  void begin_file(std::string name);
  // One line without its line end; `ended` is false for a last line that has none.
  void line(std::string_view text, bool ended = true);
  [[nodiscard]] Result<Summary, Problem> finish();

 private:
  struct Seen {
    std::string file;
    uint64_t line = 0;
    uint64_t seq = 0;
    std::string hash;
  };
  void record(const Record& r);
  void fail(const std::string& file, uint64_t line, std::string reason);
  [[nodiscard]] std::string where(const Seen& s) const;

  std::vector<Anchor> anchors_;
  std::string file_;
  uint64_t line_no_ = 0;
  std::optional<Problem> problem_;
  std::optional<Seen> last_, before_last_;
  // Lines since the last record that are not records: sealed by the next one's "torn", or broken.
  std::optional<Problem> loose_;
  std::optional<Sha256> loose_hash_;
  bool unended_ = false;  // the last line has no line end
  Summary summary_;
};

struct Verdict {
  std::optional<Problem> problem;  // the first broken record; none: the trail holds
  Summary summary;
};
// Verifies path + ".1" (where there is one) and then path, opened as a consistent pair though the
// daemon may rotate meanwhile. An error: a file could not be read.
[[nodiscard]] Result<Verdict> verify_files(const std::string& path, std::vector<Anchor> anchors = {});

}  // namespace agentos::audit_chain
