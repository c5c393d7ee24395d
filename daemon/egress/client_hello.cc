#include "egress/client_hello.h"

#include <vector>

namespace agentos::egress {
namespace {

// A bounds-checked cursor: every read fails (and stays failed) past the end.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> d) : d_(d) {}
  bool ok() const { return ok_; }
  size_t left() const { return ok_ ? d_.size() - pos_ : 0; }
  uint32_t num(size_t bytes) {
    if (left() < bytes) return fail();
    uint32_t v = 0;
    for (size_t i = 0; i < bytes; ++i) v = v << 8 | d_[pos_++];
    return v;
  }
  Reader sub(size_t len) {
    if (left() < len) {
      fail();
      return Reader({});
    }
    Reader r(d_.subspan(pos_, len));
    pos_ += len;
    return r;
  }
  void skip(size_t len) { (void)sub(len); }
  std::span<const uint8_t> rest() const { return ok_ ? d_.subspan(pos_) : std::span<const uint8_t>{}; }

 private:
  uint32_t fail() {
    ok_ = false;
    return 0;
  }
  std::span<const uint8_t> d_;
  size_t pos_ = 0;
  bool ok_ = true;
};

constexpr uint8_t kHandshake = 22, kClientHello = 1;
constexpr uint16_t kServerName = 0;

Hello server_name(std::span<const uint8_t> body) {
  Reader r(body);
  r.skip(2 + 32);  // legacy_version, random
  r.skip(r.num(1));  // legacy_session_id
  r.skip(r.num(2));  // cipher_suites
  r.skip(r.num(1));  // legacy_compression_methods
  if (!r.ok()) return {HelloStatus::kMalformed, {}};
  if (r.left() == 0) return {HelloStatus::kNoName, {}};  // no extensions at all
  Reader exts = r.sub(r.num(2));
  while (exts.ok() && exts.left() > 0) {
    uint32_t type = exts.num(2);
    Reader ext = exts.sub(exts.num(2));
    if (type != kServerName) continue;
    Reader list = ext.sub(ext.num(2));
    while (list.ok() && list.left() > 0) {
      uint32_t name_type = list.num(1);
      Reader name = list.sub(list.num(2));
      if (!list.ok()) break;
      if (name_type != 0) continue;  // only host_name is defined
      auto bytes = name.rest();
      if (bytes.empty()) return {HelloStatus::kMalformed, {}};
      return {HelloStatus::kName, std::string(bytes.begin(), bytes.end())};
    }
    return {HelloStatus::kMalformed, {}};
  }
  return {exts.ok() ? HelloStatus::kNoName : HelloStatus::kMalformed, {}};
}

}  // namespace

Hello parse_client_hello(std::span<const uint8_t> data) {
  // The handshake message may span several records: gather record payloads until it is whole.
  std::vector<uint8_t> handshake;
  Reader r(data);
  while (true) {
    if (r.left() < 5) break;
    uint32_t type = r.num(1);
    uint32_t major = r.num(1);
    r.num(1);  // minor: 0..4 in the wild, and irrelevant here
    uint32_t len = r.num(2);
    if (type != kHandshake || major != 3) return {handshake.empty() ? HelloStatus::kNotTls : HelloStatus::kMalformed, {}};
    if (len == 0 || len > 16384 + 2048) return {HelloStatus::kMalformed, {}};
    if (r.left() < len) break;
    auto frag = r.sub(len).rest();
    handshake.insert(handshake.end(), frag.begin(), frag.end());
    if (handshake.size() >= 4) {
      if (handshake[0] != kClientHello) return {HelloStatus::kMalformed, {}};
      size_t need = 4 + (size_t{handshake[1]} << 16 | size_t{handshake[2]} << 8 | handshake[3]);
      if (need > kMaxHelloBytes) return {HelloStatus::kMalformed, {}};
      if (handshake.size() >= need) return server_name(std::span(handshake).subspan(4, need - 4));
    }
  }
  // An incomplete record header that already cannot be TLS.
  if (!data.empty() && data[0] != kHandshake && handshake.empty()) return {HelloStatus::kNotTls, {}};
  if (data.size() >= 2 && data[0] == kHandshake && data[1] != 3) return {HelloStatus::kNotTls, {}};
  if (data.size() > kMaxHelloBytes) return {HelloStatus::kMalformed, {}};
  return {HelloStatus::kNeedMore, {}};
}

}  // namespace agentos::egress
