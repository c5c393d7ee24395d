// The `kv` tools: a small persistent memory per agent (by owner and agent name, so it outlives
// one run), kept as <state>/kv/<owner uid>/<agent name>.json.
#pragma once

#include <map>
#include <string>

#include "broker/tool.h"

namespace agentos::broker {

class KvStore : public Provider {
 public:
  static constexpr size_t kMaxKey = 256, kMaxValue = 64 * 1024, kMaxKeys = 10'000;

  explicit KvStore(std::string dir) : dir_(std::move(dir)) {}
  [[nodiscard]] std::vector<ToolSpec> tools() const override;
  [[nodiscard]] ToolResult call(const Caller& who, const std::string& tool, const Json& args) override;
  void forget(const Caller& who) override;

 private:
  using Map = std::map<std::string, std::string>;
  Map& load(const Caller& who);
  [[nodiscard]] std::string path(const Caller& who) const;
  std::string dir_;
  std::map<std::string, Map> cache_;  // by path
};

}  // namespace agentos::broker
