// libFuzzer entry: the first bytes an agent sends through a tunnel, read for the TLS ClientHello's
// server name as connection.cc reads them: whatever the bytes, an answer and no read past them.
// Checked: an answer from a prefix (within what the gateway buffers) is the answer of the whole.
#include <algorithm>
#include <cstdint>

#include "egress/client_hello.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agentos::egress;
  Hello whole = parse_client_hello({data, size});
  for (size_t n = 0; n < std::min(size, kMaxHelloBytes); n += 1 + n / 4) {
    Hello part = parse_client_hello({data, n});
    if (part.status != HelloStatus::kNeedMore && (part.status != whole.status || part.name != whole.name)) __builtin_trap();
  }
  return 0;
}
