// An agent's console: a SOCK_SEQPACKET pair between the daemon and the agent's monitor, which
// relays the agent's stdio (sandbox/relay.h). Each message is one byte of kind, then its payload.
// The monitor sends output only while a client is attached; everything the agent writes goes to
// its log either way.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace agentos::sandbox {

enum class ConsoleKind : uint8_t {
  // monitor -> daemon, while attached
  kStdout = 1,
  kStderr = 2,
  kTerminal = 3,  // a pseudo-terminal's output: stdout and stderr together
  // daemon -> monitor
  kInput = 10,  // bytes for the agent's stdin (or terminal)
  kEof = 11,  // its stdin ends
  kResize = 12,  // uint16 rows, uint16 cols (host order)
  // 13 was a signal; signals go to the monitor as signals, never behind queued input
  kAttach = 14,  // uint8: 1 a client is attached (send output), 0 none
};

inline constexpr size_t kConsoleChunk = 64 * 1024;  // the most one message carries

[[nodiscard]] std::string console_message(ConsoleKind kind, std::string_view payload = {});

struct ConsoleMessage {
  ConsoleKind kind{};
  std::string_view payload;
};
// Splits a received message; false for one too short to hold a kind.
[[nodiscard]] bool parse_console_message(std::string_view bytes, ConsoleMessage* out);

}  // namespace agentos::sandbox
