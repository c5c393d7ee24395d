#include "common/audit_verify.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>

#include "agentos.pb.h"
#include "common/enum_words.h"
#include "common/unique_fd.h"

namespace agentos::audit_chain {
namespace {

// Every line of one file, its last flagged when it has no line end.
Status feed(Verifier& v, const std::string& path, int fd) {
  v.begin_file(path);
  std::string pending;
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("read " + path);
    if (n == 0) break;
    pending.append(buf, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1)
      v.line(std::string_view(pending).substr(start, nl - start));
    pending.erase(0, start);
  }
  if (!pending.empty()) v.line(pending, false);
  return {};
}

}  // namespace

std::optional<Anchor> parse_anchor(std::string_view text) {
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  Anchor a;
  auto [end, ec] = std::from_chars(text.data(), text.data() + colon, a.seq);
  if (ec != std::errc() || end != text.data() + colon || a.seq == 0) return std::nullopt;
  a.hash = std::string(text.substr(colon + 1));
  if (!is_hash(a.hash)) return std::nullopt;
  return a;
}

void Verifier::begin_file(std::string name) {
  file_ = std::move(name);
  line_no_ = 0;
}

void Verifier::fail(const std::string& file, uint64_t line, std::string reason) {
  if (!problem_) problem_ = Problem{file, line, std::move(reason)};
}

std::string Verifier::where(const Seen& s) const {
  return (s.file == file_ ? "line " : s.file + ":") + std::to_string(s.line);
}

void Verifier::line(std::string_view text, bool ended) {
  ++line_no_;
  if (problem_) return;
  unended_ = !ended;
  Line l = parse(text);
  switch (l.kind) {
    case Line::Kind::kRecord: return record(l.record);
    case Line::Kind::kAltered: return fail(file_, line_no_, l.why);
    case Line::Kind::kUnchained:
      if (last_ || loose_) return fail(file_, line_no_, "a line without a hash inside the chain");
      ++summary_.unchained;
      return;
    case Line::Kind::kGarbage:
      if (!loose_) {
        loose_ = Problem{file_, line_no_, ""};
        loose_hash_.emplace();
      } else {
        loose_hash_->update("\n");
      }
      loose_hash_->update(text);
      return;
  }
}

void Verifier::record(const Record& r) {
  if (loose_) {
    if (r.torn != loose_hash_->hex())
      return fail(loose_->file, loose_->line, "not a record, and the record after it does not seal it as half written");
    ++summary_.torn;
    loose_.reset();
    loose_hash_.reset();
  } else if (!r.torn.empty()) {
    return fail(file_, line_no_, "seals half-written lines before it that are not there: lines were removed");
  }

  const std::string seq = "seq " + std::to_string(r.seq);
  if (!last_) {
    if (r.seq == 1 && r.prev != kGenesis) return fail(file_, line_no_, "the first record's prev is not the chain's start");
    if (r.seq != 1 && summary_.unchained)
      return fail(file_, line_no_, seq + " follows lines from before the chain but does not begin it");
    if (r.seq != 1 && r.decision != enum_word(v1::DECISION_ROTATE))
      return fail(file_, line_no_,
                  "the trail begins at " + seq + ", which does not begin a file after rotation: records before it were removed");
    summary_.first_seq = r.seq;
  } else if (r.prev != last_->hash || r.seq != last_->seq + 1) {
    const std::string after = " after seq " + std::to_string(last_->seq) + " (" + where(*last_) + ")";
    if (before_last_ && r.prev == before_last_->hash && r.seq == before_last_->seq + 1)
      return fail(last_->file, last_->line,
                  "not in the chain: the record after it (" + file_ + ":" + std::to_string(line_no_) + ") follows " +
                      where(*before_last_) + ", so this one was inserted");
    if (r.seq <= last_->seq) return fail(file_, line_no_, "out of order: " + seq + after);
    if (r.seq > last_->seq + 1)
      return fail(file_, line_no_, seq + after + ": " + std::to_string(r.seq - last_->seq - 1) +
                                       " record(s) before it were removed or moved");
    if (r.prev != last_->hash)
      return fail(file_, line_no_, "does not chain to the record before it (" + where(*last_) + "): one of the two was rewritten");
    return fail(file_, line_no_, seq + after + " chains to it but is numbered wrongly: rewritten");
  }
  for (const Anchor& a : anchors_)
    if (a.seq == r.seq && a.hash != r.hash)
      return fail(file_, line_no_, seq + " is not the anchor's: its hash is " + r.hash + ", the anchor's " + a.hash);
  before_last_ = last_;
  last_ = Seen{file_, line_no_, r.seq, r.hash};
  ++summary_.records;
  summary_.last_seq = r.seq;
  summary_.last_hash = r.hash;
}

Result<Summary, Problem> Verifier::finish() {
  if (loose_ && !problem_)
    fail(loose_->file, loose_->line,
         unended_ ? "the last line is incomplete: a record being written, or one a crash cut short that the daemon "
                    "seals when it starts again"
                  : "not a record, and no record after it seals it as half written");
  for (const Anchor& a : anchors_) {
    if (problem_) break;
    if (a.seq > summary_.last_seq)
      fail(last_ ? last_->file : file_, last_ ? last_->line : line_no_,
           "the trail ends at seq " + std::to_string(summary_.last_seq) + ", before the anchor's seq " +
               std::to_string(a.seq) + ": records at its end were removed");
    else if (a.seq < summary_.first_seq)
      fail(file_, 0, "the anchor's seq " + std::to_string(a.seq) + " is older than the trail's first record (seq " +
                         std::to_string(summary_.first_seq) + "): rotated away, it cannot be checked");
  }
  if (problem_) return *problem_;
  return summary_;
}


Result<Verdict> verify_files(const std::string& path, std::vector<Anchor> anchors) {
  // If audit.log is still the file opened first once audit.log.1 is open too, the two belong
  // together; a rotation in between shows as another audit.log.
  for (int attempt = 0; attempt < 3; ++attempt) {
    UniqueFd current(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!current.valid()) return sys_error("open " + path);
    UniqueFd older(::open((path + ".1").c_str(), O_RDONLY | O_CLOEXEC));
    if (!older.valid() && errno != ENOENT) return sys_error("open " + path + ".1");
    struct stat opened, now;
    if (::fstat(current.get(), &opened) != 0 || ::stat(path.c_str(), &now) != 0) return sys_error("stat " + path);
    if (opened.st_ino != now.st_ino || opened.st_dev != now.st_dev) continue;
    Verifier v(std::move(anchors));
    if (older.valid())
      if (auto s = feed(v, path + ".1", older.get()); !s) return s.error();
    if (auto s = feed(v, path, current.get()); !s) return s.error();
    auto r = v.finish();
    if (!r) return Verdict{r.error(), {}};
    return Verdict{std::nullopt, *r};
  }
  return error(path + " was rotated three times while it was being opened");
}

}  // namespace agentos::audit_chain
