#include "common/audit_chain.h"

#include <gtest/gtest.h>

#include "common/audit_verify.h"

namespace agentos::audit_chain {
namespace {

// A record as the daemon writes it.
std::string sealed(uint64_t seq, const std::string& prev, const std::string& operation,
                   const std::string& decision = "deny", const std::string& torn = "") {
  nlohmann::json body = {{"seq", seq}, {"prev", prev}, {"operation", operation}, {"decision", decision}};
  if (!torn.empty()) body["torn"] = torn;
  return seal(body.dump());
}

std::string hash_of(const std::string& line) { return line.substr(line.size() - 66, 64); }

// `n` records from seq `first`, chained from `prev`.
std::vector<std::string> chain(size_t n, uint64_t first = 1, std::string prev = std::string(kGenesis),
                               const std::string& first_decision = "deny") {
  std::vector<std::string> lines;
  for (uint64_t seq = first; seq < first + n; ++seq) {
    lines.push_back(sealed(seq, prev, "connect tcp 10.0.0." + std::to_string(seq) + ":443",
                           seq == first ? first_decision : "deny"));
    prev = hash_of(lines.back());
  }
  return lines;
}

using Files = std::vector<std::pair<std::string, std::vector<std::string>>>;

Result<Summary, Problem> verify(const Files& files, std::vector<Anchor> anchors = {}, bool last_ended = true) {
  Verifier v(std::move(anchors));
  for (size_t f = 0; f < files.size(); ++f) {
    v.begin_file(files[f].first);
    for (size_t i = 0; i < files[f].second.size(); ++i)
      v.line(files[f].second[i], last_ended || f + 1 < files.size() || i + 1 < files[f].second.size());
  }
  return v.finish();
}

Result<Summary, Problem> verify(const std::vector<std::string>& lines, std::vector<Anchor> anchors = {}) {
  return verify(Files{{"audit.log", lines}}, std::move(anchors));
}

// The line and reason of the first broken record.
std::pair<uint64_t, std::string> broken(const Result<Summary, Problem>& r) {
  if (r) return {0, "ok"};
  return {r.error().line, r.error().reason};
}

TEST(AuditChain, AnIntactChainVerifies) {
  auto r = verify(chain(5));
  ASSERT_TRUE(r) << r.error().reason;
  EXPECT_EQ(r->records, 5u);
  EXPECT_EQ(r->first_seq, 1u);
  EXPECT_EQ(r->last_seq, 5u);
  EXPECT_TRUE(verify(std::vector<std::string>{}));
}

TEST(AuditChain, SealedLinesParseBack) {
  std::string line = sealed(7, std::string(kGenesis), "open (r) of inode 12", "deny", std::string(64, 'a'));
  Line l = parse(line);
  ASSERT_EQ(l.kind, Line::Kind::kRecord);
  EXPECT_EQ(l.record.seq, 7u);
  EXPECT_EQ(l.record.torn, std::string(64, 'a'));
  EXPECT_EQ(l.record.hash, hash_of(line));
  EXPECT_EQ(l.record.body["operation"], "open (r) of inode 12");
  EXPECT_EQ(parse("{\"time_unix_ms\": 1}").kind, Line::Kind::kUnchained);
  EXPECT_EQ(parse("{\"time_unix_ms\": 1, \"hash\": \"x\"}").kind, Line::Kind::kAltered);
  EXPECT_EQ(parse("{\"time_unix_ms\": 1, \"agent").kind, Line::Kind::kGarbage);
}

TEST(AuditChain, AModifiedLineIsReportedAtItsLine) {
  auto lines = chain(5);
  lines[2].replace(lines[2].find("10.0.0.3"), 8, "10.0.0.9");
  auto [line, why] = broken(verify(lines));
  EXPECT_EQ(line, 3u);
  EXPECT_NE(why.find("does not match its content"), std::string::npos) << why;
}

TEST(AuditChain, ADeletedLineIsReportedWhereItWas) {
  auto lines = chain(5);
  lines.erase(lines.begin() + 2);
  auto [line, why] = broken(verify(lines));
  EXPECT_EQ(line, 3u);
  EXPECT_NE(why.find("1 record(s) before it were removed"), std::string::npos) << why;
}

TEST(AuditChain, ReorderedLinesAreReportedAtTheFirstOutOfPlace) {
  auto lines = chain(6);
  std::swap(lines[3], lines[4]);
  EXPECT_EQ(broken(verify(lines)).first, 4u);
  lines = chain(6);
  std::rotate(lines.begin() + 1, lines.begin() + 4, lines.end());  // the last two moved up
  EXPECT_EQ(broken(verify(lines)).first, 2u);
}

TEST(AuditChain, AForgedLineIsReportedAtItsLine) {
  // Made up, with a hash copied from another line.
  auto lines = chain(5);
  std::string forged = lines[1];
  forged.replace(forged.find("deny"), 4, "allo");
  lines.insert(lines.begin() + 2, forged);
  auto [line, why] = broken(verify(lines));
  EXPECT_EQ(line, 3u);
  EXPECT_NE(why.find("does not match its content"), std::string::npos) << why;

  // Sealed properly, numbered and chained to the line before it: the next record gives it away.
  lines = chain(5);
  lines.insert(lines.begin() + 2, sealed(3, hash_of(lines[1]), "connect tcp 10.0.0.3:443", "allow"));
  std::tie(line, why) = broken(verify(lines));
  EXPECT_EQ(line, 3u);
  EXPECT_NE(why.find("inserted"), std::string::npos) << why;

  // Edited with an editor that rewrites the JSON: the hash no longer covers it.
  lines = chain(3);
  auto j = nlohmann::json::parse(lines[1]);
  j["decision"] = "allow";
  lines[1] = j.dump(1);
  lines[1].erase(std::remove(lines[1].begin(), lines[1].end(), '\n'), lines[1].end());
  EXPECT_EQ(broken(verify(lines)).first, 2u);
}

TEST(AuditChain, ARewrittenAndResealedLineBreaksTheLinkAfterIt) {
  auto lines = chain(5);
  lines[2] = sealed(3, hash_of(lines[1]), "connect tcp 10.0.0.99:443");
  auto [line, why] = broken(verify(lines));
  EXPECT_EQ(line, 4u);
  EXPECT_NE(why.find("rewritten"), std::string::npos) << why;
}

TEST(AuditChain, TheChainContinuesAcrossRotation) {
  auto older = chain(4);
  auto current = chain(3, 5, hash_of(older.back()), "rotate");
  auto r = verify(Files{{"audit.log.1", older}, {"audit.log", current}});
  ASSERT_TRUE(r) << r.error().reason;
  EXPECT_EQ(r->records, 7u);

  // Once audit.log.1 has been rotated away too, the trail begins at a rotation.
  r = verify(Files{{"audit.log", current}});
  ASSERT_TRUE(r) << r.error().reason;
  EXPECT_EQ(r->first_seq, 5u);

  // A file that begins in the middle of the chain lost its beginning.
  auto cut = verify(Files{{"audit.log", std::vector<std::string>(older.begin() + 1, older.end())}});
  ASSERT_FALSE(cut);
  EXPECT_EQ(cut.error().line, 1u);
  EXPECT_NE(cut.error().reason.find("records before it were removed"), std::string::npos);

  // A broken link across the two files is reported in the newer one.
  older.pop_back();
  auto gap = verify(Files{{"audit.log.1", older}, {"audit.log", current}});
  ASSERT_FALSE(gap);
  EXPECT_EQ(gap.error().file, "audit.log");
  EXPECT_EQ(gap.error().line, 1u);
}

TEST(AuditChain, AHalfWrittenLineMustBeSealedByTheNextRecord) {
  auto lines = chain(3);
  std::string torn = lines[2].substr(0, 40);
  lines.pop_back();

  // Until the daemon starts again, the trail ends in an incomplete line.
  auto open = verify(Files{{"audit.log", {lines[0], lines[1], torn}}}, {}, false);
  ASSERT_FALSE(open);
  EXPECT_EQ(open.error().line, 3u);
  EXPECT_NE(open.error().reason.find("incomplete"), std::string::npos);

  // The daemon's next record seals it.
  lines.push_back(torn);
  lines.push_back(sealed(3, hash_of(lines[1]), "agentosd started", "start", sha256_hex(torn)));
  auto r = verify(lines);
  ASSERT_TRUE(r) << r.error().reason;
  EXPECT_EQ(r->torn, 1u);

  // Garbage that no record seals is reported.
  lines.back() = sealed(3, hash_of(lines[1]), "agentosd started", "start");
  EXPECT_EQ(broken(verify(lines)).first, 3u);
  // A seal of lines that are not there means they were removed.
  lines = chain(2);
  lines.push_back(sealed(3, hash_of(lines[1]), "agentosd started", "start", sha256_hex(torn)));
  EXPECT_EQ(broken(verify(lines)).first, 3u);
}

TEST(AuditChain, AnAnchorShowsACutTailAndARewrittenChain) {
  auto lines = chain(6);
  Anchor at5{5, hash_of(lines[4])};
  ASSERT_TRUE(verify(lines, {at5}));

  // The last records removed: the chain itself still holds.
  std::vector<std::string> cut(lines.begin(), lines.begin() + 3);
  ASSERT_TRUE(verify(cut));
  auto [line, why] = broken(verify(cut, {at5}));
  EXPECT_EQ(line, 3u);
  EXPECT_NE(why.find("before the anchor's seq 5"), std::string::npos) << why;

  // The whole chain computed anew from a changed record: only the anchor tells.
  auto rebuilt = chain(6);
  rebuilt[1] = sealed(2, hash_of(rebuilt[0]), "connect tcp 10.0.0.99:443");
  std::string prev = hash_of(rebuilt[1]);
  for (size_t i = 2; i < rebuilt.size(); ++i) {
    rebuilt[i] = sealed(i + 1, prev, "connect tcp 10.0.0." + std::to_string(i + 1) + ":443");
    prev = hash_of(rebuilt[i]);
  }
  ASSERT_TRUE(verify(rebuilt));
  EXPECT_EQ(broken(verify(rebuilt, {at5})).first, 5u);
}

TEST(AuditChain, LinesFromBeforeTheChainMayOnlyPrecedeItsStart) {
  std::vector<std::string> lines = {R"({"operation":"old","decision":"deny"})", R"({"operation":"old 2"})"};
  auto chained = chain(2);
  lines.insert(lines.end(), chained.begin(), chained.end());
  auto r = verify(lines);
  ASSERT_TRUE(r) << r.error().reason;
  EXPECT_EQ(r->unchained, 2u);
  EXPECT_EQ(r->records, 2u);

  lines.push_back(R"({"operation":"slipped in"})");
  EXPECT_EQ(broken(verify(lines)).first, 5u);
}

TEST(AuditChain, AnchorsParse) {
  auto a = parse_anchor("12:" + std::string(64, 'f'));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->seq, 12u);
  EXPECT_FALSE(parse_anchor("12"));
  EXPECT_FALSE(parse_anchor("x:" + std::string(64, 'f')));
  EXPECT_FALSE(parse_anchor("0:" + std::string(64, 'f')));
  EXPECT_FALSE(parse_anchor("12:" + std::string(63, 'f')));
  EXPECT_FALSE(parse_anchor("12:" + std::string(64, 'F')));
}

}  // namespace
}  // namespace agentos::audit_chain
