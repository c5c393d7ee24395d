// The audit trail's hash chain (audit.log, audit.log.1): the format of its lines, shared by
// agentosd, which writes it, and `agentctl audit verify` (audit_verify.h), which checks it.
//
// Each record is one line: a JSON object whose last member is "hash", the SHA-256 (hex) of the
// line's bytes before `,"hash":` closed with `}` (its body). The body holds "seq" (1, 2, ...) and
// "prev" (the previous record's hash; 64 zeros before the first), so changing, removing, inserting
// or reordering records breaks the chain at the first record affected. A record may hold "torn":
// the SHA-256 of the lines between it and the record before that are not records (what a crash
// left half written), which the daemon seals that way when it starts again. The chain gives no
// secret: whoever can write the file can compute a whole new one. Anchors kept elsewhere (the
// journal gets every record's seq and hash) are what show that.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace agentos::audit_chain {

inline constexpr std::string_view kGenesis = "0000000000000000000000000000000000000000000000000000000000000000";

class Sha256 {
 public:
  Sha256();
  void update(std::string_view bytes);
  [[nodiscard]] std::string hex();  // ends it

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx_;
};
[[nodiscard]] std::string sha256_hex(std::string_view bytes);
[[nodiscard]] bool is_hash(std::string_view s);  // 64 lower-case hex digits

// body (a JSON object's text) as a line of the trail, without its line end.
[[nodiscard]] std::string seal(std::string_view body);

struct Record {
  uint64_t seq = 0;
  std::string prev;
  std::string hash;
  std::string torn;
  std::string decision;  // "rotate" begins a file after rotation, "start" and "stop" are the daemon's
  nlohmann::json body;
};

// One line of a trail, as the verifier sees it.
struct Line {
  enum class Kind {
    kRecord,
    kAltered,  // shaped like a record, but its hash is not that of its body
    kUnchained,  // a JSON object without a hash: written before the chain began
    kGarbage,  // anything else
  };
  Kind kind = Kind::kGarbage;
  Record record;  // kRecord
  std::string why;  // kAltered
};
[[nodiscard]] Line parse(std::string_view line);

}  // namespace agentos::audit_chain
