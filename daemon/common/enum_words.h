// A proto enum's values as the words people and JSON read: AUDIT_LAYER_BPF_LSM is "bpf-lsm" (the
// enum's prefix off, lower case, '-' for '_'), and back. The .proto stays the one list of values.
#pragma once

#include <google/protobuf/generated_enum_reflection.h>

#include <optional>
#include <string>
#include <string_view>

namespace agentos {
namespace enum_words_detail {
[[nodiscard]] std::string word(const google::protobuf::EnumDescriptor& d, int number);
[[nodiscard]] std::optional<int> number(const google::protobuf::EnumDescriptor& d, std::string_view word);
}  // namespace enum_words_detail

// "value-N" for a number the enum does not define.
template <typename E>
[[nodiscard]] std::string enum_word(E value) {
  return enum_words_detail::word(*google::protobuf::GetEnumDescriptor<E>(), static_cast<int>(value));
}

template <typename E>
[[nodiscard]] std::optional<E> enum_from_word(std::string_view word) {
  auto n = enum_words_detail::number(*google::protobuf::GetEnumDescriptor<E>(), word);
  if (!n) return std::nullopt;
  return static_cast<E>(*n);
}

}  // namespace agentos
