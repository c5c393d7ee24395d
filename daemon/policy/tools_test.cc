// [tools] and [delegate]: values, and each error at its line and column; the names and globs.
#include <gtest/gtest.h>

#include "policy/test_util.h"
#include "policy/tool_names.h"

namespace agentos::policy {
namespace {

using test::errors_text;
using test::one_error;
using test::parse;
using test::with_agent;

TEST(Tools, TheExampleParsesToItsValues) {
  ParseResult r = parse(with_agent(R"([tools]
allow = ["kv", "calendar.read", "http.fetch"]
ask   = ["email.send"]
calls_per_minute = 120
concurrent = 4
consent_timeout = 30
[tools.constraints]
"email.send" = { to = ["*@example.com"], subject = ["[agent] *"] }
[delegate]
allow = ["researcher", "writer"]
max_depth = 2
deadline = 60
)"));
  ASSERT_TRUE(r.policy) << errors_text(r);
  const Tools& t = *r.policy->tools;
  EXPECT_EQ(t.allow, (std::vector<std::string>{"kv", "calendar.read", "http.fetch"}));
  EXPECT_EQ(t.ask, std::vector<std::string>{"email.send"});
  EXPECT_EQ(t.calls_per_minute, 120u);
  EXPECT_EQ(t.concurrent, 4u);
  EXPECT_EQ(t.consent_timeout_s, 30u);
  ASSERT_EQ(t.constraints.at("email.send").size(), 2u);
  EXPECT_EQ(t.allow_at.line, 4u);  // where an "always" answer is written back
  const Delegate& d = *r.policy->delegate;
  EXPECT_EQ(d.allow, (std::vector<std::string>{"researcher", "writer"}));
  EXPECT_EQ(d.max_depth, 2u);
  EXPECT_EQ(d.deadline_s, 60u);
}

TEST(Tools, ErrorsPointAtTheirValue) {
  auto tools = [](std::string_view body) { return with_agent("[tools]\n" + std::string(body)); };
  EXPECT_TRUE(one_error(tools("allow = [\"KV\"]\n"), 4, 10, "each part starts with a lower-case letter"));
  EXPECT_TRUE(one_error(tools("allow = [\"kv.\"]\n"), 4, 10, "ends with a dot"));
  EXPECT_TRUE(one_error(tools("allow = [\"kv\"]\nask = [\"kv\"]\n"), 5, 8, "already granted at 4:10"));
  EXPECT_TRUE(one_error(tools("allow = [\"kv\"]\nconcurrent = 0\n"), 5, 14, "1..1024"));
  EXPECT_TRUE(one_error(tools("alow = [\"kv\"]\n"), 4, 1, "did you mean \"allow\""));
  EXPECT_TRUE(one_error(tools("allow = [\"kv\"]\n[tools.constraints]\n\"email.send\" = { to = [\"*\"] }\n"), 6, 1,
                        "narrows a tool that tools.allow and tools.ask do not grant"));
  EXPECT_TRUE(one_error(tools("allow = [\"kv\"]\n[tools.constraints]\nkv = { key = [] }\n"), 6, 14, "is empty"));
  EXPECT_TRUE(one_error(with_agent("[delegate]\nallow = [\"Bad Name\"]\n"), 4, 10, "delegate.allow"));
  EXPECT_TRUE(one_error(with_agent("[delegate]\nmax_depth = 17\n"), 4, 13, "1..16"));
}

TEST(Tools, PlatformToolsAndTheirArgumentsAreKnown) {
  auto tools = [](std::string_view body) { return with_agent("[tools]\n" + std::string(body)); };
  EXPECT_TRUE(one_error(tools("ask = [\"kv.delet\"]\n"), 4, 8, "no platform tool \"kv.delet\" (did you mean \"kv.delete\"?)"));
  EXPECT_TRUE(one_error(tools("allow = [\"fs.wrte\"]\n"), 4, 10, "did you mean \"fs.write\""));
  EXPECT_TRUE(one_error(tools("allow = [\"kv.fetch\"]\n"), 4, 10, "the kv tools are: kv.get, kv.set, kv.delete, kv.list"));
  EXPECT_TRUE(one_error(tools("allow = [\"kvv.get\"]\n"), 4, 10, "no tool family \"kvv\" (did you mean \"kv.get\"?)"));
  EXPECT_TRUE(one_error(tools("allow = [\"fs\"]\n[tools.constraints]\nfs = { paht = [\"out/*\"] }\n"), 6, 8,
                        "\"fs\" has no argument \"paht\" (did you mean \"path\"?)"));
  EXPECT_TRUE(one_error(tools("allow = [\"email.send\"]\n[tools.constraints]\n\"email.send\" = { cc = [\"*\"] }\n"), 6, 18,
                        "has no argument \"cc\"; its arguments: to, subject, body"));
  // Names under a [serve] prefix are the server's own: accepted here, checked when it lists its tools.
  ParseResult r = parse(tools("allow = [\"github.create_issue\"]\n[tools.constraints]\n\"github.create_issue\" = { repo = [\"me/*\"] }\n"));
  ASSERT_TRUE(r.policy) << errors_text(r);
  EXPECT_EQ(r.policy->tools->where.at("github.create_issue").line, 4u);
  EXPECT_EQ(r.policy->tools->where.at("github.create_issue").column, 10u);
}

TEST(Tools, AccountsNameASecretNeverACredential) {
  ParseResult r = parse(with_agent(R"([tools]
allow = ["calendar", "email.read"]
[tools.calendar]
url = "https://cal.example.com/dav/alice/work"
user = "alice"
secret = "calendar"
[tools.email]
imap = "imaps://mail.example.com"
smtp = "smtp://mail.example.com:587"
user = "alice@example.com"
secret = "mail"
from = "alice@example.com"
)"));
  ASSERT_TRUE(r.policy) << errors_text(r);
  const Tools& t = *r.policy->tools;
  ASSERT_TRUE(t.calendar && t.email);
  EXPECT_EQ(t.calendar->url, "https://cal.example.com/dav/alice/work/");  // a collection
  EXPECT_EQ(t.calendar->secret, "calendar");
  EXPECT_EQ(t.email->smtp, "smtp://mail.example.com:587");
  EXPECT_EQ(t.email->from, "alice@example.com");

  auto cal = [](std::string_view body) { return with_agent("[tools]\n[tools.calendar]\n" + std::string(body)); };
  const std::string ok_rest = "user = \"a\"\nsecret = \"c\"\n";
  EXPECT_TRUE(one_error(cal("url = \"https://alice:pw@cal.example.com/\"\n" + ok_rest), 5, 7, "must not carry a user or password"));
  EXPECT_TRUE(one_error(cal("url = \"ftp://cal.example.com/\"\n" + ok_rest), 5, 7, "must start with http:// or https://"));
  EXPECT_TRUE(one_error(cal("url = \"https:///x\"\n" + ok_rest), 5, 7, "has no host"));
  EXPECT_TRUE(one_error(cal("url = \"https://c.example/\"\nuser = \"a\"\nsecret = \"../x\"\n"), 7, 10, "tools.calendar.secret"));
  EXPECT_TRUE(one_error(cal("url = \"https://c.example/\"\nsecret = \"c\"\n"), 4, 1, "tools.calendar.user is required"));
  EXPECT_TRUE(one_error(cal("url = \"https://c.example/\"\npassword = \"hunter2\"\n" + ok_rest), 6, 1, "unknown key \"password\""));
  auto mail = [](std::string_view from) {
    return with_agent("[tools]\n[tools.email]\nimap = \"imap://m.example\"\nsmtp = \"smtp://m.example\"\n"
                      "user = \"a\"\nsecret = \"m\"\nfrom = \"" + std::string(from) + "\"\n");
  };
  EXPECT_TRUE(one_error(mail("a@example.com, b@example.com"), 9, 8, "one bare address"));
  EXPECT_TRUE(one_error(mail("Alice <a@example.com>"), 9, 8, "one bare address"));
}

TEST(Serve, AnMcpServerNamesItsToolFamily) {
  ParseResult r = parse(with_agent("[serve]\nmcp = \"stdio\"\nprefix = \"weather\"\n"));
  ASSERT_TRUE(r.policy) << errors_text(r);
  EXPECT_EQ(r.policy->serve->prefix, "weather");
  ParseResult d = parse(with_agent("[serve]\nmcp = \"stdio\"\n"));
  ASSERT_TRUE(d.policy) << errors_text(d);
  EXPECT_EQ(d.policy->serve->prefix, d.policy->name);  // the agent's name by default
  EXPECT_TRUE(one_error(with_agent("[serve]\nmcp = \"http\"\n"), 4, 7, "must be \"stdio\""));
  EXPECT_TRUE(one_error(with_agent("[serve]\nprefix = \"x\"\n"), 3, 1, "serve.mcp is required"));
  EXPECT_TRUE(one_error(with_agent("[serve]\nmcp = \"stdio\"\nprefix = \"kv\"\n"), 5, 10, "platform tool family"));
  EXPECT_TRUE(one_error(with_agent("[serve]\nmcp = \"stdio\"\nprefix = \"a.b\"\n"), 5, 10, "one tool family name"));
}

TEST(ToolNames, GrantsCoverTheirFamily) {
  EXPECT_TRUE(grant_covers("kv", "kv.get"));
  EXPECT_TRUE(grant_covers("kv", "kv"));
  EXPECT_TRUE(grant_covers("calendar.read", "calendar.read"));
  EXPECT_FALSE(grant_covers("calendar.read", "calendar.write"));
  EXPECT_FALSE(grant_covers("kv", "kvx.get"));
  EXPECT_FALSE(grant_covers("kv.get", "kv"));
}

TEST(ToolNames, Globs) {
  EXPECT_TRUE(glob_match("*@example.com", "bob@example.com"));
  EXPECT_FALSE(glob_match("*@example.com", "bob@example.com.evil"));
  EXPECT_FALSE(glob_match("*@example.com", "bob@evil.com"));
  EXPECT_TRUE(glob_match("a?c", "abc"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("a*b*c", "aXXbYYc"));
  EXPECT_FALSE(glob_match("a*b*c", "aXXbYY"));
  // Many stars against a long text: linear, not exponential.
  EXPECT_FALSE(glob_match(std::string(50, '*') + "x", std::string(10000, 'a')));
}

}  // namespace
}  // namespace agentos::policy
