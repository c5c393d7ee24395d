// The `fs` tools: files in the agent's own workspace, <state>/workspaces/<owner uid>/<agent name>.
// Paths are resolved beneath the workspace by the kernel (openat2 RESOLVE_BENEATH, no symlinks),
// so no argument reaches outside it, whatever it holds.
#pragma once

#include <string>

#include "broker/tool.h"

namespace agentos::broker {

class Workspace : public Provider {
 public:
  static constexpr size_t kMaxFile = 1 << 20;

  explicit Workspace(std::string dir) : dir_(std::move(dir)) {}
  [[nodiscard]] std::vector<ToolSpec> tools() const override;
  [[nodiscard]] ToolResult call(const Caller& who, const std::string& tool, const Json& args) override;

 private:
  std::string dir_;
};

}  // namespace agentos::broker
