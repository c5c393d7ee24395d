// libFuzzer entry: the bytes any local user may send to the API socket, read as the server reads
// them (api_server.cc). The first byte splits the rest into two writes, as a slow client sends it.
#include <algorithm>
#include <cstdint>

#include "server/api_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t split = std::min<size_t>(data[0], size - 1);
  agentos::FrameDecoder in;
  in.feed(reinterpret_cast<const char*>(data) + 1, split);
  auto req = agentos::next_request(in);
  if (req && !*req) {
    in.feed(reinterpret_cast<const char*>(data) + 1 + split, size - 1 - split);
    req = agentos::next_request(in);
  }
  // What was accepted is a whole message: written again, it reads again.
  agentos::v1::Request again;
  if (req && *req && !again.ParseFromString((*req)->SerializeAsString())) __builtin_trap();
  return 0;
}
