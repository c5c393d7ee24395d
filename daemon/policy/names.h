// Agent names and environment variable names.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace agentos::policy {

// 1..63 characters of [a-z0-9._-], starting with [a-z0-9]: the name becomes a cgroup, a
// hostname and a directory, so it must be safe as each (63 is a DNS label's limit).
[[nodiscard]] Status check_agent_name(std::string_view name);

// The name a policy file gets without [agent].name: its file name without ".toml".
[[nodiscard]] std::string name_from_path(std::string_view path);

// [A-Za-z_][A-Za-z0-9_]*: what a shell can export, and never containing "=".
[[nodiscard]] Status check_env_name(std::string_view name);

}  // namespace agentos::policy
