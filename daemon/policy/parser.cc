// Placeholder: being written (policy parser helper).
#include "policy/policy.h"
namespace agentos::policy {
std::string Diagnostic::str() const { return where.file + ": " + message; }
ParseResult parse_policy(std::string_view, std::string_view path) {
  return {std::nullopt, {Diagnostic{{std::string(path), 0, 0}, "parser not implemented"}}};
}
ParseResult parse_policy_file(const std::string& path) { return parse_policy("", path); }
std::vector<Diagnostic> find_duplicate_names(const std::vector<Policy>&) { return {}; }
}  // namespace agentos::policy
