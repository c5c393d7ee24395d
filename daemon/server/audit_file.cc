#include "server/audit_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

namespace agentos {
namespace {

// Records are a few hundred bytes (operations are cut at 4 KiB), so the last record is found
// within this much of the end unless something else was written there.
constexpr size_t kTail = 1 << 20;

Result<std::string> read_tail(int fd, uint64_t size, uint64_t* offset) {
  *offset = size > kTail ? size - kTail : 0;
  std::string buf(size - *offset, '\0');
  size_t got = 0;
  while (got < buf.size()) {
    ssize_t n = ::pread(fd, buf.data() + got, buf.size() - got, static_cast<off_t>(*offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("read");
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  buf.resize(got);
  return buf;
}

}  // namespace

Status AuditFile::reopen() {
  fd_.reset(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd_.valid()) return sys_error("open " + path_);
  struct stat st;
  if (::fstat(fd_.get(), &st) != 0) return sys_error("stat " + path_);
  if (!S_ISREG(st.st_mode)) {
    fd_.reset();
    return error(path_ + " is not a regular file");
  }
  size_ = static_cast<uint64_t>(st.st_size);
  return {};
}

Result<AuditFile::Resumed> AuditFile::open() {
  if (auto s = reopen(); !s) return s.error();
  // An empty audit.log after a rotation: the chain's head is at the end of audit.log.1.
  if (size_ == 0 && ::access((path_ + ".1").c_str(), F_OK) == 0) return resume_from(path_ + ".1", false);
  return resume_from(path_, true);
}

Result<AuditFile::Resumed> AuditFile::resume_from(const std::string& path, bool newest) {
  Resumed r;
  UniqueFd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!in.valid()) return sys_error("open " + path);
  struct stat st;
  if (::fstat(in.get(), &st) != 0) return sys_error("stat " + path);
  uint64_t offset = 0;
  auto tail = read_tail(in.get(), static_cast<uint64_t>(st.st_size), &offset);
  if (!tail) return Error{tail.error().err, tail.error().what + " " + path};
  std::string_view text = *tail;
  size_t end = text.size();
  if (newest && end > 0 && text.back() != '\n') {
    size_t nl = text.rfind('\n');
    if (nl == std::string_view::npos && offset > 0)
      return error(path + ": its last " + std::to_string(kTail) + " bytes hold no line end; move it aside to begin a new trail");
    size_t start = nl == std::string_view::npos ? 0 : nl + 1;
    torn_ = audit_chain::sha256_hex(text.substr(start));
    r.torn_bytes = end - start;
    end = start;
  }
  // Back over whole lines to the last record; lines that are not records stay for the verifier.
  while (end > 0) {
    size_t nl = end >= 2 ? text.rfind('\n', end - 2) : std::string_view::npos;
    size_t start = nl == std::string_view::npos ? 0 : nl + 1;
    if (start == 0 && offset > 0) break;  // the buffer's first line may be cut
    audit_chain::Line line = audit_chain::parse(text.substr(start, end - 1 - start));
    if (line.kind == audit_chain::Line::Kind::kRecord) {
      r.head = {line.record.seq, line.record.hash};
      r.last_decision = line.record.decision;
      head_ = r.head;
      return r;
    }
    if (line.kind == audit_chain::Line::Kind::kUnchained) {  // from before the chain: it begins now
      r.unchained = true;
      return r;
    }
    end = start;
  }
  if (end > 0) return error(path + ": no record in its last " + std::to_string(kTail) + " bytes; move it aside to begin a new trail");
  return r;
}

Status AuditFile::rotate() {
  if (::rename(path_.c_str(), (path_ + ".1").c_str()) != 0) return sys_error("rename " + path_);
  return reopen();
}

Result<AuditFile::Head> AuditFile::append(nlohmann::json body) {
  if (!fd_.valid())
    if (auto s = reopen(); !s) return s.error();
  Head next{head_.seq + 1, ""};
  body["seq"] = next.seq;
  body["prev"] = head_.hash;
  if (torn_) body["torn"] = *torn_;
  std::string line = audit_chain::seal(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  next.hash = line.substr(line.size() - 2 - audit_chain::kGenesis.size(), audit_chain::kGenesis.size());
  std::string out = (torn_ ? "\n" : "") + line + "\n";
  ssize_t n = ::write(fd_.get(), out.data(), out.size());
  if (n != static_cast<ssize_t>(out.size())) {
    Error e = n < 0 ? sys_error("write " + path_) : error("write " + path_ + ": short");
    // A line cut short would read as a crash's; take it back, so the record is missing whole.
    struct stat st;
    if (n > 0 && ::fstat(fd_.get(), &st) == 0) (void)::ftruncate(fd_.get(), st.st_size - n);
    return e;
  }
  size_ += out.size();
  head_ = std::move(next);
  torn_.reset();
  return head_;
}

}  // namespace agentos
