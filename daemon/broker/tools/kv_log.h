// One agent's kv store on disk: an append-only log of records, each fsync'd before the call that
// made it is answered, replayed when the store is opened, and rewritten without its garbage once
// that outweighs the live data. So a kv.set writes one record, whatever the store holds.
//
// File: the magic "AGENTOS-KV1\n", then records: u32 payload length, u32 CRC-32 of the payload
// (both little-endian), payload = op ('S' set, 'D' delete), u16 key length, key, value. A record
// cut short or failing its CRC (a crash during an append) ends the log: it and anything after it
// are dropped, and the file is truncated there.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "common/result.h"
#include "common/unique_fd.h"

namespace agentos::broker {

class KvLog {
 public:
  using Map = std::map<std::string, std::string>;

  // Opens (creating it) the log `name` in the directory `dir` (opened O_RDONLY | O_DIRECTORY, for
  // fsync), with O_NOFOLLOW, and replays it.
  [[nodiscard]] static Result<std::unique_ptr<KvLog>> open(UniqueFd dir, const std::string& name);
  // Writes a new log `name` holding `entries` (replacing any), as compaction does: for importing.
  [[nodiscard]] static Result<std::unique_ptr<KvLog>> create(UniqueFd dir, const std::string& name, Map entries);

  [[nodiscard]] const Map& entries() const { return map_; }
  // Bytes of keys and values held (what the store's size limit counts).
  [[nodiscard]] uint64_t data_bytes() const { return data_; }
  [[nodiscard]] uint64_t file_bytes() const { return size_; }

  // Each is on disk (fsync'd) when it returns; on failure the log and the map are as before, or
  // the log is marked broken and must be opened again.
  [[nodiscard]] Status set(const std::string& key, const std::string& value);
  [[nodiscard]] Status erase(const std::string& key);
  [[nodiscard]] bool broken() const { return broken_; }

  static constexpr uint64_t kMinCompact = 64 * 1024;  // smaller logs are left as they are

 private:
  KvLog(UniqueFd dir, std::string name) : dir_(std::move(dir)), name_(std::move(name)) {}
  Status replay();
  Status append(char op, const std::string& key, const std::string& value);
  Status compact();
  void apply(char op, const std::string& key, std::string value);  // to the map and the counts

  UniqueFd dir_, fd_;
  std::string name_;
  Map map_;
  uint64_t size_ = 0;  // of the file
  uint64_t live_ = 0;  // bytes of the records that hold the live entries
  uint64_t data_ = 0;
  bool broken_ = false;
};

}  // namespace agentos::broker
