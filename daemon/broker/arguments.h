// What a tool's arguments mean, so that [tools.constraints], the owner's consent and the tool all
// see one value. Before a call is decided, the broker rewrites its arguments into canonical form
// (or refuses them), and hands the tool exactly that form: a constraint can never match one text
// while the tool acts on another.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "broker/jsonrpc.h"
#include "common/result.h"

namespace agentos::broker {

enum class ArgKind {
  kText,  // taken as it is; constraints match the string (or each string of a flat array)
  kPath,  // relative to the agent's workspace: "." or name/name/..., nothing to resolve
  kUrl,  // an http(s) URL, rebuilt from its parts (canonical_url.h)
  kRecipients,  // one bare mail address or a list of them; becomes a list, domains in lower case
};

struct ArgRule {
  ArgKind kind = ArgKind::kText;
  std::optional<std::string> fallback;  // what the tool uses when the argument is absent
};
using ArgRules = std::map<std::string, ArgRule, std::less<>>;

// The arguments as the tool will get them: defaults filled in, paths, URLs and recipients checked
// and rewritten. An error names the argument and why.
[[nodiscard]] Result<Json> canonical_arguments(const ArgRules& rules, Json args);

// Why `path` is not a plain relative path beneath a directory ("." is the directory itself), or
// nothing. Dot segments, empty segments, backslashes and control characters are refused, so the
// text is exactly the path the kernel resolves.
[[nodiscard]] std::optional<std::string> relative_path_problem(std::string_view path);

// The rule of one argument; text for arguments a tool does not describe.
[[nodiscard]] const ArgRule& rule_of(const ArgRules& rules, std::string_view argument);

}  // namespace agentos::broker
