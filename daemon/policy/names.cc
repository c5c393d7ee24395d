#include "policy/names.h"

#include "policy/quote.h"

namespace agentos::policy {
namespace {

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alpha_(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

}  // namespace

Status check_agent_name(std::string_view name) {
  constexpr std::string_view kRule =
      "an agent name is 1-63 characters of a-z, 0-9, '.', '_' and '-', starting with a letter or "
      "digit";
  if (name.empty()) return error(std::string("the name is empty: ") + std::string(kRule));
  if (name.size() > 63) {
    return error(quote_text(name) + " is longer than 63 characters: " + std::string(kRule));
  }
  if (!is_lower_alnum(name.front())) {
    return error(quote_text(name) +
                 " does not start with a letter or digit: " + std::string(kRule));
  }
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (!is_lower_alnum(c) && c != '.' && c != '_' && c != '-') {
      // Show the whole character, not one byte of it.
      size_t n = 1;
      while (i + n < name.size() && (static_cast<unsigned char>(name[i + n]) & 0xC0) == 0x80) ++n;
      return error(quote_text(name) + " contains " + quote_text(name.substr(i, n)) + ": " +
                   std::string(kRule));
    }
  }
  return {};
}

std::string name_from_path(std::string_view path) {
  size_t slash = path.rfind('/');
  std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  if (base.ends_with(".toml")) base.remove_suffix(5);
  return std::string(base);
}

Status check_env_name(std::string_view name) {
  if (name.empty()) return error("environment variable name is empty");
  if (!is_alpha_(name.front()) ||
      name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") !=
          std::string_view::npos) {
    return error(quote_text(name) +
                 " is not a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*)");
  }
  return {};
}

}  // namespace agentos::policy
