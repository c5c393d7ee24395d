// The `kv` tools: a small persistent memory per agent (by owner and agent name, so it outlives
// one run), kept as a log of its changes, <state>/kv/<owner uid>/<agent name>.kv (kv_log.h).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "broker/tools/kv_log.h"
#include "broker/tool.h"

namespace agentos::broker {

class KvStore : public Provider {
 public:
  static constexpr size_t kMaxKey = 256, kMaxValue = 64 * 1024, kMaxKeys = 10'000;
  static constexpr uint64_t kMaxBytes = 16 << 20;  // keys and values of one store, together

  explicit KvStore(std::string dir) : dir_(std::move(dir)) {}
  [[nodiscard]] std::vector<ToolSpec> tools() const override;
  [[nodiscard]] ToolResult call(const Caller& who, const std::string& tool, const Json& args) override;
  void forget(const Caller& who) override;

 private:
  [[nodiscard]] Result<KvLog*> load(const Caller& who);
  std::string dir_;
  std::map<std::string, std::unique_ptr<KvLog>> cache_;  // by "<owner uid>/<agent name>"
};

}  // namespace agentos::broker
