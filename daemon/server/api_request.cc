#include "server/api_request.h"

#include <google/protobuf/stubs/logging.h>

namespace agentos {

Result<std::optional<v1::Request>> next_request(FrameDecoder& in) {
  auto frame = in.next();
  if (!frame) return frame.error();
  if (!*frame) return std::optional<v1::Request>{};
  v1::Request req;
  // protobuf would write each string that is not UTF-8 to stderr, the journal: any user's to flood.
  google::protobuf::LogSilencer quiet;
  if (!req.ParseFromString(**frame) || req.kind_case() == v1::Request::KIND_NOT_SET) return error("malformed request");
  return std::optional<v1::Request>{std::move(req)};
}

}  // namespace agentos
