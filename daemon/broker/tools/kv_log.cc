#include "broker/tools/kv_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <string_view>

namespace agentos::broker {
namespace {

constexpr std::string_view kMagic = "AGENTOS-KV1\n";
constexpr size_t kHeader = 8;  // length, CRC
constexpr size_t kFixed = 3;  // op, key length

uint64_t record_size(const std::string& key, const std::string& value) { return kHeader + kFixed + key.size() + value.size(); }

void put32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}

uint32_t get32(std::string_view s, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[at + static_cast<size_t>(i)]);
  return v;
}

uint32_t crc(std::string_view s) {
  return static_cast<uint32_t>(::crc32(0, reinterpret_cast<const Bytef*>(s.data()), static_cast<uInt>(s.size())));
}

std::string encode(char op, const std::string& key, const std::string& value) {
  std::string payload;
  payload += op;
  payload += static_cast<char>(key.size() & 0xFF);
  payload += static_cast<char>(key.size() >> 8);
  payload += key;
  payload += value;
  std::string rec;
  put32(rec, static_cast<uint32_t>(payload.size()));
  put32(rec, crc(payload));
  return rec + payload;
}

Status write_all(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return sys_error("write " + what);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

Result<std::string> read_all(int fd, const std::string& what) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return sys_error("stat " + what);
  if (!S_ISREG(st.st_mode)) return error(what + " is not a regular file");
  std::string data(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < data.size()) {
    ssize_t n = ::pread(fd, data.data() + got, data.size() - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("read " + what);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  data.resize(got);
  return data;
}

}  // namespace

Result<std::unique_ptr<KvLog>> KvLog::open(UniqueFd dir, const std::string& name) {
  std::unique_ptr<KvLog> log(new KvLog(std::move(dir), name));
  log->fd_.reset(::openat(log->dir_.get(), name.c_str(), O_RDWR | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!log->fd_.valid()) return sys_error("open " + name);
  if (auto s = log->replay(); !s) return s.error();
  return log;
}

Result<std::unique_ptr<KvLog>> KvLog::create(UniqueFd dir, const std::string& name, Map entries) {
  std::unique_ptr<KvLog> log(new KvLog(std::move(dir), name));
  for (auto& [k, v] : entries) log->apply('S', k, std::move(v));
  if (auto s = log->compact(); !s) return s.error();
  return log;
}

void KvLog::apply(char op, const std::string& key, std::string value) {
  if (auto it = map_.find(key); it != map_.end()) {
    live_ -= record_size(key, it->second);
    data_ -= key.size() + it->second.size();
    map_.erase(it);
  }
  if (op != 'S') return;
  live_ += record_size(key, value);
  data_ += key.size() + value.size();
  map_.emplace(key, std::move(value));
}

Status KvLog::replay() {
  auto data = read_all(fd_.get(), name_);
  if (!data) return data.error();
  if (data->size() < kMagic.size() && kMagic.starts_with(*data)) {  // new, or its creation was cut short
    if (::ftruncate(fd_.get(), 0) != 0) return sys_error("truncate " + name_);
    if (auto s = write_all(fd_.get(), kMagic, name_); !s) return s;
    if (::fsync(fd_.get()) != 0 || ::fsync(dir_.get()) != 0) return sys_error("fsync " + name_);
    size_ = kMagic.size();
    return {};
  }
  if (!std::string_view(*data).starts_with(kMagic)) return error(name_ + " is not a kv log this daemon can read");
  std::string_view s = *data;
  size_t at = kMagic.size();
  while (s.size() - at >= kHeader) {
    uint32_t len = get32(s, at);
    if (len < kFixed || len > s.size() - at - kHeader) break;
    std::string_view payload = s.substr(at + kHeader, len);
    if (crc(payload) != get32(s, at + 4)) break;
    char op = payload[0];
    size_t key_len = static_cast<unsigned char>(payload[1]) | (static_cast<size_t>(static_cast<unsigned char>(payload[2])) << 8);
    if ((op != 'S' && op != 'D') || kFixed + key_len > len) break;
    apply(op, std::string(payload.substr(kFixed, key_len)), std::string(payload.substr(kFixed + key_len)));
    at += kHeader + len;
  }
  if (at < s.size()) {  // a torn last record: what follows it was never acknowledged
    if (::ftruncate(fd_.get(), static_cast<off_t>(at)) != 0 || ::fsync(fd_.get()) != 0) return sys_error("truncate " + name_);
  }
  size_ = at;
  return {};
}

Status KvLog::append(char op, const std::string& key, const std::string& value) {
  std::string rec = encode(op, key, value);
  Status s = write_all(fd_.get(), rec, name_);
  if (s && ::fdatasync(fd_.get()) != 0) s = sys_error("fsync " + name_);
  if (!s) {
    // Nothing may follow a torn record: take back whatever part of it reached the file.
    if (::ftruncate(fd_.get(), static_cast<off_t>(size_)) != 0) broken_ = true;
    return s;
  }
  size_ += rec.size();
  apply(op, key, op == 'S' ? value : std::string());
  // Garbage (replaced and deleted records) outweighs the live ones: rewrite. This costs the live
  // data once per as many bytes of garbage, so each byte written is written a bounded number of
  // times. A failure leaves the log as it was, to be tried again later.
  uint64_t garbage = size_ - kMagic.size() - live_;
  if (garbage > live_ && size_ > kMinCompact) (void)compact();
  return {};
}

Status KvLog::set(const std::string& key, const std::string& value) { return append('S', key, value); }

Status KvLog::erase(const std::string& key) {
  if (!map_.contains(key)) return {};
  return append('D', key, "");
}

Status KvLog::compact() {
  const std::string tmp = name_ + ".compact";
  UniqueFd out(::openat(dir_.get(), tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out.valid()) return sys_error("open " + tmp);
  std::string text(kMagic);
  for (const auto& [k, v] : map_) text += encode('S', k, v);
  Status s = write_all(out.get(), text, tmp);
  if (s && ::fsync(out.get()) != 0) s = sys_error("fsync " + tmp);
  if (s && ::renameat(dir_.get(), tmp.c_str(), dir_.get(), name_.c_str()) != 0) s = sys_error("rename " + tmp);
  if (!s) {
    ::unlinkat(dir_.get(), tmp.c_str(), 0);
    return s;
  }
  (void)::fsync(dir_.get());  // the rename; the data is already safe under one name or the other
  fd_ = std::move(out);
  size_ = text.size();
  return {};
}

}  // namespace agentos::broker
