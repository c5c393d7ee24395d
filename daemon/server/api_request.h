// The one request of an API connection, read from the bytes it has sent so far.
#pragma once

#include <optional>

#include "agentos.pb.h"
#include "common/framing.h"
#include "common/result.h"

namespace agentos {

// The request once its frame is whole; nothing while more bytes are needed; an error (its text
// for the caller) for an oversized frame or one that is not a request of a known kind.
[[nodiscard]] Result<std::optional<v1::Request>> next_request(FrameDecoder& in);

}  // namespace agentos
