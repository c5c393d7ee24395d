// The server name (SNI) of a TLS ClientHello, read from the first bytes a client sends through a
// tunnel, so the gateway can hold the TLS session to the name the tunnel was granted for.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace agentos::egress {

enum class HelloStatus : uint8_t {
  kNeedMore,  // a prefix of a plausible ClientHello: wait for more bytes
  kNotTls,  // the stream does not start with a TLS handshake record
  kNoName,  // a complete ClientHello without a server_name extension
  kName,  // a complete ClientHello with a host_name
  kMalformed,  // a TLS handshake record that is not a well-formed ClientHello
};

struct Hello {
  HelloStatus status = HelloStatus::kNeedMore;
  std::string name;  // with kName: the host_name as sent
};

// At most this much is buffered waiting for a ClientHello; a longer one is kMalformed.
inline constexpr size_t kMaxHelloBytes = 32 * 1024;

// Parses the stream's first bytes; never reads past `data`.
[[nodiscard]] Hello parse_client_hello(std::span<const uint8_t> data);

}  // namespace agentos::egress
