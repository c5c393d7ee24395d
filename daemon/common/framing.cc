#include "common/framing.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace agentos {
namespace {

uint32_t load_le32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return uint32_t{u[0]} | uint32_t{u[1]} << 8 | uint32_t{u[2]} << 16 | uint32_t{u[3]} << 24;
}

Status read_exact(int fd, char* buf, size_t n, bool* eof_at_start) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::read(fd, buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return sys_error("read");
    if (r == 0) {
      if (got == 0 && eof_at_start) {
        *eof_at_start = true;
        return {};
      }
      return error("connection closed mid-message");
    }
    got += static_cast<size_t>(r);
  }
  return {};
}

}  // namespace

std::string encode_frame(std::string_view payload) {
  std::string out(kFrameHeader, '\0');
  auto n = static_cast<uint32_t>(payload.size());
  for (size_t i = 0; i < kFrameHeader; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  out.append(payload);
  return out;
}

bool frame_ready(std::string_view buf) {
  if (buf.size() < kFrameHeader) return false;
  uint32_t n = load_le32(buf.data());
  return n > kMaxFrame || buf.size() >= kFrameHeader + n;
}

Result<std::optional<std::string>> take_frame(std::string& buf) {
  if (buf.size() < kFrameHeader) return std::optional<std::string>{};
  uint32_t n = load_le32(buf.data());
  if (n > kMaxFrame) return error("frame of " + std::to_string(n) + " bytes exceeds the limit");
  if (buf.size() < kFrameHeader + n) return std::optional<std::string>{};
  std::string payload = buf.substr(kFrameHeader, n);
  buf.erase(0, kFrameHeader + n);
  return std::optional<std::string>{std::move(payload)};
}

Status write_frame(int fd, std::string_view payload) {
  if (payload.size() > kMaxFrame) return error("message too large");
  std::string frame = encode_frame(payload);
  size_t off = 0;
  while (off < frame.size()) {
    ssize_t w = ::send(fd, frame.data() + off, frame.size() - off, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return sys_error("send");
    off += static_cast<size_t>(w);
  }
  return {};
}

Result<std::optional<std::string>> read_frame(int fd) {
  char hdr[kFrameHeader];
  bool eof = false;
  if (auto s = read_exact(fd, hdr, sizeof hdr, &eof); !s) return s.error();
  if (eof) return std::optional<std::string>{};
  uint32_t n = load_le32(hdr);
  if (n > kMaxFrame) return error("frame of " + std::to_string(n) + " bytes exceeds the limit");
  std::string payload(n, '\0');
  if (auto s = read_exact(fd, payload.data(), n, nullptr); !s) return s.error();
  return std::optional<std::string>{std::move(payload)};
}

}  // namespace agentos
