#include "server/audit.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "common/audit_verify.h"

namespace agentos {
namespace {

using namespace std::chrono_literals;

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/agentos-audit-test-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/audit.log";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::vector<v1::AuditEvent> events(const AuditLog& log) const {
    return log.read([](const v1::AuditEvent&) { return true; });
  }
  audit_chain::Verdict verify() const {
    auto v = audit_chain::verify_files(path_);
    EXPECT_TRUE(v) << v.error().str();
    return v ? *v : audit_chain::Verdict{};
  }
  static std::string why(const audit_chain::Verdict& v) {
    return v.problem ? v.problem->file + ":" + std::to_string(v.problem->line) + ": " + v.problem->reason : "";
  }

  std::string dir_, path_;
};

TEST_F(AuditLogTest, AllowedEventsAreRecordedOneByOneWhateverTheRefusals) {
  AuditLog log(path_);
  ASSERT_TRUE(log.open());
  for (int i = 0; i < 5000; ++i) {
    log.deny("a1", "flood", 1000, "egress dns evil.test: no grant (A query)", v1::AUDIT_LAYER_EGRESS);
    log.deny("a1", "flood", 1000, "egress dns n" + std::to_string(i) + ".evil.test: no grant (A query)", v1::AUDIT_LAYER_EGRESS);
    if (i % 500 == 0) log.event("a1", "flood", 1000, "egress connect api.test:443 #" + std::to_string(i), v1::AUDIT_LAYER_EGRESS, v1::DECISION_ALLOW);
  }
  log.close_windows(AuditLog::Clock::now() + AuditAggregator::kWindow);

  // A record in full stands for one refusal, an aggregate for its repeats.
  uint64_t allowed = 0, same = 0, distinct = 0;
  for (const auto& e : events(log)) {
    uint64_t count = e.repeats() ? e.repeats() : 1;
    if (e.decision() == v1::DECISION_ALLOW) allowed += count;
    else if (e.operation() == "egress dns evil.test: no grant (A query)") same += count;
    else if (e.operation().starts_with("egress dns n")) distinct += count;
  }
  EXPECT_EQ(allowed, 10u);
  EXPECT_EQ(same, 5000u);
  EXPECT_EQ(distinct, 5000u);
  EXPECT_LT(events(log).size(), 40u);  // the refusals took a few records, not thousands
  auto v = verify();
  EXPECT_FALSE(v.problem) << why(v);
}

// What agents sent, cut anywhere, is recorded escaped, never thrown over (the JSON line) nor made
// unreadable (protobuf, for agentctl audit).
TEST_F(AuditLogTest, OperationsThatAreNotUtf8AreRecordedEscaped) {
  AuditLog log(path_);
  ASSERT_TRUE(log.open());
  std::vector<v1::AuditEvent> seen;
  log.on_event = [&](const v1::AuditEvent& e) { seen.push_back(e); };
  const std::string quoted = "tool email.send: argument \"to\" = \"" + std::string(99, 'x');
  log.deny("a1", "mailer", 1000, quoted + "\xc3", v1::AUDIT_LAYER_BROKER);  // an "é" cut in half
  log.event("a1", "mailer", 1000, "raw \xff bytes", v1::AUDIT_LAYER_BROKER, v1::DECISION_ALLOW);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].operation(), quoted + "\\xc3");
  EXPECT_EQ(seen[1].operation(), "raw \\xff bytes");
  v1::AuditEvent back;
  EXPECT_TRUE(back.ParseFromString(seen[0].SerializeAsString()));
  auto read = events(log);
  ASSERT_GE(read.size(), 3u);  // its start, then these
  EXPECT_EQ(read[1].operation(), quoted + "\\xc3");
}

TEST_F(AuditLogTest, TheChainContinuesAcrossACleanRestart) {
  {
    AuditLog log(path_);
    ASSERT_TRUE(log.open());
    log.event("a1", "one", 1000, "start /bin/true", v1::AUDIT_LAYER_LAUNCHER, v1::DECISION_ALLOW);
    log.close();
  }
  AuditLog again(path_);
  ASSERT_TRUE(again.open());
  auto all = events(again);
  ASSERT_EQ(all.size(), 4u);  // start, the event, stop, start
  EXPECT_EQ(all[2].decision(), v1::DECISION_STOP);
  EXPECT_EQ(all[3].decision(), v1::DECISION_START);
  EXPECT_NE(all[3].operation().find("continues from seq 3"), std::string::npos) << all[3].operation();
  EXPECT_EQ(all[3].operation().find("did not stop cleanly"), std::string::npos) << all[3].operation();
  auto v = verify();
  EXPECT_FALSE(v.problem) << why(v);
  EXPECT_EQ(v.summary.records, 4u);
}

TEST_F(AuditLogTest, AnUncleanStopIsSaidAtTheNextStart) {
  {
    AuditLog log(path_);
    ASSERT_TRUE(log.open());
    log.deny("a1", "one", 1000, "connect tcp 10.0.0.1:443", v1::AUDIT_LAYER_CGROUP_BPF);
    log.deny("a1", "one", 1000, "connect tcp 10.0.0.1:443", v1::AUDIT_LAYER_CGROUP_BPF);  // counted, never written
  }
  AuditLog again(path_);
  ASSERT_TRUE(again.open());
  EXPECT_NE(events(again).back().operation().find("did not stop cleanly"), std::string::npos);
  EXPECT_FALSE(verify().problem);
}

TEST_F(AuditLogTest, ALineACrashCutShortIsSealedAtTheNextStart) {
  {
    AuditLog log(path_);
    ASSERT_TRUE(log.open());
    log.event("a1", "one", 1000, "tool kv.get (arguments 0123)", v1::AUDIT_LAYER_BROKER, v1::DECISION_ALLOW);
  }
  std::ofstream(path_, std::ios::app) << R"({"agent_id":"a1","decision":"allow","operat)";
  auto before = verify();
  ASSERT_TRUE(before.problem);
  EXPECT_EQ(before.problem->line, 3u);

  AuditLog again(path_);
  ASSERT_TRUE(again.open());
  again.event("a1", "one", 1000, "tool kv.get (arguments 4567)", v1::AUDIT_LAYER_BROKER, v1::DECISION_ALLOW);
  auto after = verify();
  EXPECT_FALSE(after.problem) << why(after);
  EXPECT_EQ(after.summary.torn, 1u);
  EXPECT_NE(events(again)[2].operation().find("a record a crash cut short"), std::string::npos);
}

TEST_F(AuditLogTest, RotationContinuesTheChainIntoTheNewFile) {
  AuditLog log(path_, 4096);
  ASSERT_TRUE(log.open());
  for (int i = 0; i < 100; ++i) log.event("a1", "one", 1000, "egress connect api.test:443 #" + std::to_string(i), v1::AUDIT_LAYER_EGRESS, v1::DECISION_ALLOW);
  ASSERT_TRUE(std::filesystem::exists(path_ + ".1"));
  auto v = verify();
  EXPECT_FALSE(v.problem) << why(v);
  EXPECT_GT(v.summary.first_seq, 1u);  // earlier files were rotated away
  std::ifstream current(path_);
  std::string first;
  std::getline(current, first);
  EXPECT_NE(first.find("\"decision\":\"rotate\""), std::string::npos) << first;

  // A restart with an empty audit.log takes the chain's head from audit.log.1.
  log.close();
  std::filesystem::rename(path_, path_ + ".1");
  AuditLog again(path_, 4096);
  ASSERT_TRUE(again.open());
  v = verify();
  EXPECT_FALSE(v.problem) << why(v);
}

TEST_F(AuditLogTest, TheFileStaysOpenBetweenEvents) {
  AuditLog log(path_);
  ASSERT_TRUE(log.open());
  std::filesystem::rename(path_, dir_ + "/moved");
  log.event("a1", "one", 1000, "start /bin/true", v1::AUDIT_LAYER_LAUNCHER, v1::DECISION_ALLOW);
  EXPECT_FALSE(std::filesystem::exists(path_));  // not opened again by path
  std::ifstream moved(dir_ + "/moved");
  std::string text((std::istreambuf_iterator<char>(moved)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("start /bin/true"), std::string::npos);
}

TEST_F(AuditLogTest, AFailedWriteLeavesNoHalfRecordAndTheChainWhole) {
  AuditLog log(path_);
  ASSERT_TRUE(log.open());
  log.event("a1", "one", 1000, "tool kv.get (arguments before)", v1::AUDIT_LAYER_BROKER, v1::DECISION_ALLOW);
  const auto size = std::filesystem::file_size(path_);
  // A file size limit makes the next write short, then fail: as a full disk would.
  auto xfsz = ::signal(SIGXFSZ, SIG_IGN);
  rlimit old;
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  rlimit small{size + 20, old.rlim_max};
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  log.event("a1", "one", 1000, "tool kv.get (arguments lost)", v1::AUDIT_LAYER_BROKER, v1::DECISION_ALLOW);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old), 0);
  ::signal(SIGXFSZ, xfsz);
  EXPECT_EQ(std::filesystem::file_size(path_), size);  // the 20 bytes written were taken back

  log.event("a1", "one", 1000, "tool kv.get (arguments after)", v1::AUDIT_LAYER_BROKER, v1::DECISION_ALLOW);
  auto v = verify();
  EXPECT_FALSE(v.problem) << why(v);
  std::vector<std::string> ops;
  for (const auto& e : events(log)) ops.push_back(e.operation());
  EXPECT_EQ(ops, (std::vector<std::string>{"agentosd started", "tool kv.get (arguments before)",
                                           "tool kv.get (arguments after)"}));
}

TEST_F(AuditLogTest, LongOperationsAreCutAtACharacter) {
  AuditLog log(path_);
  ASSERT_TRUE(log.open());
  log.event("a1", "one", 1000, "tool x " + std::string(AuditLog::kMaxOperation, 'a') + "é", v1::AUDIT_LAYER_BROKER, v1::DECISION_ALLOW);
  log.event("a1", "one", 1000, "tool y " + std::string(AuditLog::kMaxOperation - 8, 'a') + "éé", v1::AUDIT_LAYER_BROKER, v1::DECISION_ALLOW);
  for (const auto& e : events(log)) {
    EXPECT_LE(e.operation().size(), AuditLog::kMaxOperation + 3);
    EXPECT_EQ(e.operation().find("\xc3\xe2"), std::string::npos);  // no half of "é" before the ellipsis
  }
}

}  // namespace
}  // namespace agentos
