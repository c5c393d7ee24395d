// Edits of a policy's text on its owner's behalf keep everything the user wrote.
#include "policy/policy_edit.h"

#include <gtest/gtest.h>

namespace agentos::policy {
namespace {

constexpr std::string_view kBase = R"(# my agent
[agent]
command = ["/usr/bin/true"]  # does nothing

[tools]
# what it may do
allow = [
  "kv",  # memory
  "calendar.read",
]
ask = ["email.send", "fs"]   # asks first
)";

TEST(PolicyEdit, GrantKeepsCommentsAndLayout) {
  auto out = grant_tool(kBase, "p.toml", "email.send");
  ASSERT_TRUE(out) << out.error().str();
  EXPECT_EQ(*out, R"(# my agent
[agent]
command = ["/usr/bin/true"]  # does nothing

[tools]
# what it may do
allow = [
  "kv",  # memory
  "calendar.read",
"email.send"]
ask = ["fs"]   # asks first
)");
  auto last = grant_tool(*out, "p.toml", "fs");  // the last element of ask, its comma before it
  ASSERT_TRUE(last) << last.error().str();
  EXPECT_NE(last->find("ask = []   # asks first"), std::string::npos) << *last;
}

TEST(PolicyEdit, GrantWhereThereIsNoAllowOrNoTools) {
  auto a = grant_tool("[agent]\ncommand = [\"/usr/bin/true\"]\n[tools]\nask = [\"kv\"]\n", "p.toml", "kv");
  ASSERT_TRUE(a) << a.error().str();
  EXPECT_EQ(*a, "[agent]\ncommand = [\"/usr/bin/true\"]\n[tools]\nallow = [\"kv\"]\nask = []\n");
  auto b = grant_tool("[agent]\ncommand = [\"/usr/bin/true\"]", "p.toml", "kv");
  ASSERT_TRUE(b) << b.error().str();
  EXPECT_EQ(*b, "[agent]\ncommand = [\"/usr/bin/true\"]\n\n[tools]\nallow = [\"kv\"]\n");
  auto c = grant_tool("[agent]\ncommand = [\"/usr/bin/true\"]\n[tools]\nallow = [] # none yet\n", "p.toml", "kv");
  ASSERT_TRUE(c) << c.error().str();
  EXPECT_EQ(*c, "[agent]\ncommand = [\"/usr/bin/true\"]\n[tools]\nallow = [\"kv\"] # none yet\n");
}

TEST(PolicyEdit, Revoke) {
  auto out = revoke_tool(kBase, "p.toml", "kv");
  ASSERT_TRUE(out) << out.error().str();
  EXPECT_NE(out->find("allow = [\n  \"calendar.read\",\n]"), std::string::npos) << *out;
  EXPECT_NE(out->find("# what it may do"), std::string::npos);
  EXPECT_FALSE(revoke_tool(kBase, "p.toml", "http.fetch"));
}

TEST(PolicyEdit, NeverReturnsABrokenPolicy) {
  EXPECT_FALSE(grant_tool("[agent\n", "p.toml", "kv"));
  EXPECT_FALSE(grant_tool("[agent]\ncommand = [\"/usr/bin/true\"]\n", "p.toml", "Not A Tool"));
}

}  // namespace
}  // namespace agentos::policy
