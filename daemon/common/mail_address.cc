#include "common/mail_address.h"

namespace agentos {
namespace {

bool atom_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-/=?^_`{|}~.").find(c) != std::string_view::npos;
}

bool domain_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

}  // namespace

bool is_mail_address(std::string_view s) {
  if (s.size() > 254) return false;
  size_t at = s.rfind('@');
  if (at == std::string_view::npos || at == 0 || at > 64 || at + 1 == s.size()) return false;
  std::string_view local = s.substr(0, at), domain = s.substr(at + 1);
  for (char c : local)
    if (!atom_char(c)) return false;
  for (char c : domain)
    if (!domain_char(c)) return false;
  auto dots_ok = [](std::string_view part) {
    return part.front() != '.' && part.back() != '.' && part.find("..") == std::string_view::npos;
  };
  return dots_ok(local) && dots_ok(domain) && domain.front() != '-';
}

}  // namespace agentos
