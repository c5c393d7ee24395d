#include "common/enum_words.h"

#include <google/protobuf/descriptor.h>

#include <cctype>

namespace agentos::enum_words_detail {
namespace {

// "AuditLayer" -> "AUDIT_LAYER_", the prefix of its values (the style guide's rule).
std::string prefix_of(const google::protobuf::EnumDescriptor& d) {
  std::string out;
  for (char c : d.name()) {
    if (std::isupper(static_cast<unsigned char>(c)) && !out.empty()) out += '_';
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out + '_';
}

}  // namespace

std::string word(const google::protobuf::EnumDescriptor& d, int number) {
  const auto* v = d.FindValueByNumber(number);
  if (!v) return "value-" + std::to_string(number);
  std::string name(v->name());
  if (std::string prefix = prefix_of(d); name.starts_with(prefix)) name.erase(0, prefix.size());
  for (char& c : name) c = c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

std::optional<int> number(const google::protobuf::EnumDescriptor& d, std::string_view word) {
  std::string name = prefix_of(d);
  for (char c : word) {
    bool word_char = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!word_char) return std::nullopt;  // only the word form is accepted
    name += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  const auto* v = d.FindValueByName(name);
  if (!v) return std::nullopt;
  return v->number();
}

}  // namespace agentos::enum_words_detail
