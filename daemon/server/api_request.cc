#include "server/api_request.h"

namespace agentos {

Result<std::optional<v1::Request>> next_request(FrameDecoder& in) {
  auto frame = in.next();
  if (!frame) return frame.error();
  if (!*frame) return std::optional<v1::Request>{};
  v1::Request req;
  if (!req.ParseFromString(**frame) || req.kind_case() == v1::Request::KIND_NOT_SET) return error("malformed request");
  return std::optional<v1::Request>{std::move(req)};
}

}  // namespace agentos
