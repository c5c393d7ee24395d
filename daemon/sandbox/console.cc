#include "sandbox/console.h"

namespace agentos::sandbox {

std::string console_message(ConsoleKind kind, std::string_view payload) {
  std::string m(1, static_cast<char>(kind));
  m.append(payload);
  return m;
}

bool parse_console_message(std::string_view bytes, ConsoleMessage* out) {
  if (bytes.empty()) return false;
  out->kind = static_cast<ConsoleKind>(static_cast<uint8_t>(bytes[0]));
  out->payload = bytes.substr(1);
  return true;
}

}  // namespace agentos::sandbox
