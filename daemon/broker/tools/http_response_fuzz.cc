// libFuzzer entry: an upstream's HTTP response as http.fetch reads it (the gateway relays it as the
// upstream sent it): status, headers and body, or why not, as the calling agent's result; as the
// answer to a GET and to a HEAD.
#include <cstdint>

#include "broker/tools/http_fetch.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agentos::broker;
  const std::string raw(reinterpret_cast<const char*>(data), size);
  for (bool head : {false, true}) (void)result_line(1, parse_response(raw, head).value);
  return 0;
}
