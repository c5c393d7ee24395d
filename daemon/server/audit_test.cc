// The audit trail takes any operation text: what agents sent, cut anywhere, is recorded escaped,
// never thrown over (the JSON line) nor made unreadable (protobuf, for agentctl audit).
#include "server/audit.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace agentos {
namespace {

TEST(Audit, OperationsThatAreNotUtf8AreRecordedEscaped) {
  auto path = std::filesystem::temp_directory_path() / ("audit-test-" + std::to_string(::getpid()) + ".log");
  std::filesystem::remove(path);
  AuditLog log(path);
  std::vector<v1::AuditEvent> seen;
  log.on_event = [&](const v1::AuditEvent& e) { seen.push_back(e); };
  const std::string quoted = "tool email.send: argument \"to\" = \"" + std::string(99, 'x');
  log.deny("a1", "mailer", 1000, quoted + "\xc3", "broker");  // an "é" cut in half
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].operation(), quoted + "\\xc3");
  v1::AuditEvent back;
  EXPECT_TRUE(back.ParseFromString(seen[0].SerializeAsString()));
  auto read = log.read([](const v1::AuditEvent&) { return true; });
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0].operation(), quoted + "\\xc3");
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace agentos
