// Length-prefixed protobuf frames on a stream socket (see proto/agentos.proto).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace agentos {

inline constexpr uint32_t kMaxFrame = 1u << 20;
inline constexpr size_t kFrameHeader = 4;

// Prepends the header. The caller guarantees payload.size() <= kMaxFrame.
[[nodiscard]] std::string encode_frame(std::string_view payload);

// The one decoder of frames (little-endian length, then payload), over a reader's own buffer:
// whether `buf` begins with a whole frame or with a header no frame may have, and the first frame
// taken off it (nothing if more bytes are needed; an error for a length over kMaxFrame, `buf` as it was).
[[nodiscard]] bool frame_ready(std::string_view buf);
[[nodiscard]] Result<std::optional<std::string>> take_frame(std::string& buf);

// Incremental decoder for a non-blocking reader: feed bytes, take whole frames.
class FrameDecoder {
 public:
  void feed(const char* data, size_t n) { buf_.append(data, n); }
  // A complete payload, nothing if more bytes are needed, or an error for an oversized frame.
  [[nodiscard]] Result<std::optional<std::string>> next() { return take_frame(buf_); }
  [[nodiscard]] size_t buffered() const { return buf_.size(); }

 private:
  std::string buf_;
};

// Blocking helpers for the client side.
[[nodiscard]] Status write_frame(int fd, std::string_view payload);
// Returns nothing at a clean end of stream before any byte of a frame.
[[nodiscard]] Result<std::optional<std::string>> read_frame(int fd);

}  // namespace agentos
