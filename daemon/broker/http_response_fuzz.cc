// libFuzzer entry: an upstream's HTTP response as http.fetch reads it (the gateway relays it as the
// upstream sent it): status, headers and body, or why not, as the calling agent's result.
#include <cstdint>

#include "broker/http_fetch.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agentos::broker;
  ToolResult r = parse_response(std::string(reinterpret_cast<const char*>(data), size));
  (void)result_line(1, r.value);
  return 0;
}
