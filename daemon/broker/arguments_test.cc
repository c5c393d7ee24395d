// Arguments as the tools read them, and constraints decided on exactly that reading: the shapes a
// hostile agent tries (dot segments, absent arguments, userinfo, ports, case, percent-encoding,
// display names), each beside the call that passes.
#include <gtest/gtest.h>

#include "broker/arguments.h"
#include "broker/canonical_url.h"
#include "broker/grants.h"
#include "broker/test_util.h"

namespace agentos::broker {
namespace {

TEST(RelativePath, OnlyPlainPathsBeneathTheWorkspace) {
  for (const char* ok : {".", "x", "out/ok", "out/a.b/c", "out/..x", "out/x..", "caf\xc3\xa9"})
    EXPECT_EQ(relative_path_problem(ok), std::nullopt) << ok;
  for (const char* bad : {"", "..", "out/../x", "./x", "out/.", "out//x", "/x", "out/", "a\\b", "a\x01" "b", "a\x7f"})
    EXPECT_NE(relative_path_problem(bad), std::nullopt) << bad;
  EXPECT_NE(relative_path_problem(std::string(4097, 'a')), std::nullopt);
}

std::string canon(std::string_view url) {
  auto u = canonical_url(url);
  return u ? u->text : "refused: " + u.error().what;
}

TEST(CanonicalUrl, OneFormForEachUrl) {
  EXPECT_EQ(canon("https://api.example.com/x"), "https://api.example.com/x");
  EXPECT_EQ(canon("HTTPS://API.Example.COM:443/x/../y"), "https://api.example.com/y");
  EXPECT_EQ(canon("http://a.test:80/"), "http://a.test/");
  EXPECT_EQ(canon("https://a.test:8443/x"), "https://a.test:8443/x");
  EXPECT_EQ(canon("https://api.example.com./x"), "https://api.example.com/x");
  EXPECT_EQ(canon("https://api%2eexample.com/"), "https://api.example.com/");
  EXPECT_EQ(canon("https://0x7f.1/"), "https://127.0.0.1/");
  EXPECT_EQ(canon("https:/a.test/x"), "https://a.test/x");
  EXPECT_EQ(canon("https://a.test"), "https://a.test/");
  EXPECT_EQ(canon("https://a.test/x#fragment"), "https://a.test/x");
  EXPECT_EQ(canon("https://a.test/x?"), "https://a.test/x");
  EXPECT_EQ(canon("https://a.test/%7e%41b%2a?q=%7e%2f%c3%a9/?"), "https://a.test/~Ab%2A?q=~%2F%C3%A9/?");
  EXPECT_EQ(canon("https://a.test/caf\xc3\xa9"), "https://a.test/caf%C3%A9");
  EXPECT_EQ(canon("http://[::1]:8080/x"), "http://[::1]:8080/x");
  EXPECT_EQ(canon("https://a.test/x?y=/../z"), "https://a.test/x?y=/../z");  // a query is not a path
}

TEST(CanonicalUrl, RefusesWhatServersOrParsersReadDifferently) {
  for (const char* bad : {"https://api.example.com@evil.test/", "https://user:pw@a.test/", "file:///etc/passwd",
                          "ftp://a.test/", "//a.test/x", "a.test/x", "https://[::1%25eth0]/", "https://a.test:0/",
                          "https://a.test:99999/", "https://b\xc3\xbc" "cher.example/", "https://a.test/v1/%2e%2e/admin",
                          "https://a.test/v1/%2E/x", "https://a.test/..;/admin", "https://a.test/a%2fb", "https://a.test/a%5Cb",
                          "https://a.test/a\\b", "https://a.test/%zz", "https://a.test/%4", "https://a.test/a b",
                          "https://a.test/\x1b[2J", "http://25./" /* "25" would be 0.0.0.25 */})
    EXPECT_TRUE(canon(bad).starts_with("refused: ")) << bad << " -> " << canon(bad);
  EXPECT_TRUE(canon(std::string("https://a.test/") + std::string(kMaxUrl, 'a')).starts_with("refused: "));
  EXPECT_TRUE(canon(std::string("https://a.test/\0x", 17)).starts_with("refused: "));
}

TEST(CanonicalUrl, SplitsWhereThePathBegins) {
  EXPECT_EQ(split_url("https://a.test:1/p?q").origin, "https://a.test:1");
  EXPECT_EQ(split_url("https://a.test:1/p?q").rest, "/p?q");
  EXPECT_EQ(split_url("https://*.a.test").rest, "*");  // a pattern without a path: any path
}

const ArgRules kFsList{{"path", {ArgKind::kPath, "."}}};
const ArgRules kFsWrite{{"path", {ArgKind::kPath, std::nullopt}}};
const ArgRules kFetch{{"url", {ArgKind::kUrl, std::nullopt}}, {"method", {ArgKind::kText, "GET"}}};
const ArgRules kSend{{"to", {ArgKind::kRecipients, std::nullopt}}};

TEST(CanonicalArguments, DefaultsAreFilledInAndValuesRewritten) {
  EXPECT_EQ(*canonical_arguments(kFsList, Json::object()), (Json{{"path", "."}}));
  EXPECT_EQ(*canonical_arguments(kFsWrite, Json::object()), Json::object());  // no default: left absent
  EXPECT_EQ(*canonical_arguments(kFetch, {{"url", "HTTPS://A.test:443/x"}}), (Json{{"url", "https://a.test/x"}, {"method", "GET"}}));
  EXPECT_EQ(*canonical_arguments(kSend, {{"to", "bob@EXAMPLE.Com"}}), (Json{{"to", {"bob@example.com"}}}));
  EXPECT_EQ(*canonical_arguments(kSend, {{"to", {"Bob@a.test", "c@B.test"}}}), (Json{{"to", {"Bob@a.test", "c@b.test"}}}));
  for (const Json& bad : {Json{{"path", {"out/a"}}}, Json{{"path", 5}}, Json{{"path", "out/../x"}}})
    EXPECT_FALSE(canonical_arguments(kFsWrite, bad)) << bad;
  for (const Json& to : {Json("Bob <bob@example.com>"), Json("eve@evil.com, bob@example.com"), Json("bob@example.com (x)"),
                         Json::array(), Json{{"bob@example.com"}}, Json(7)})
    EXPECT_FALSE(canonical_arguments(kSend, {{"to", to}})) << to;
  auto refused = canonical_arguments(kFetch, {{"url", "https://api.example.com@evil.test/"}});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().what, "argument \"url\": a user or password before the host is refused");
}

// The broker's order: canonical arguments first, then the decision on them.
Verdict verdict(const policy::Tools& t, const std::string& tool, const ArgRules& rules, const Json& args) {
  auto canonical = canonical_arguments(rules, args);
  return canonical ? decide(t, {}, tool, *canonical, rules).verdict : Verdict::kDeny;
}

TEST(Constraints, PathsAreMatchedAsTheWorkspaceResolvesThem) {
  auto t = tools_of("[tools]\nallow = [\"fs\"]\n[tools.constraints]\nfs = { path = [\"out/*\"] }\n");
  EXPECT_EQ(verdict(t, "fs.write", kFsWrite, {{"path", "out/ok"}, {"content", "x"}}), Verdict::kAllow);  // the control
  EXPECT_EQ(verdict(t, "fs.write", kFsWrite, {{"path", "out/../x"}, {"content", "x"}}), Verdict::kDeny);
  EXPECT_EQ(verdict(t, "fs.write", kFsWrite, {{"path", "out/./../x"}, {"content", "x"}}), Verdict::kDeny);
  EXPECT_EQ(verdict(t, "fs.list", kFsList, {{"path", "out/sub"}}), Verdict::kAllow);
  EXPECT_EQ(verdict(t, "fs.list", kFsList, Json::object()), Verdict::kDeny);  // the default, ".", is not out/*
  EXPECT_EQ(verdict(t, "fs.write", kFsWrite, {{"content", "x"}}), Verdict::kDeny);  // absent, no default
  Decision d = decide(t, {}, "fs.write", {{"content", "x"}}, kFsWrite);
  EXPECT_EQ(d.reason, "argument \"path\" is narrowed by its patterns and must be given (tools.constraints)");
}

TEST(Constraints, ValuesAreStringsOrFlatListsOfThem) {
  auto t = tools_of("[tools]\nallow = [\"kv\"]\n[tools.constraints]\nkv = { key = [\"notes/*\"] }\n");
  EXPECT_EQ(verdict(t, "kv.set", {}, {{"key", "notes/a"}}), Verdict::kAllow);
  EXPECT_EQ(verdict(t, "kv.set", {}, {{"key", {"notes/a", "notes/b"}}}), Verdict::kAllow);
  for (const Json& bad : {Json{{"a", 1}}, Json{{"notes/a"}}, Json::array(), Json(3), Json(nullptr), Json("secrets/a")})
    EXPECT_EQ(verdict(t, "kv.set", {}, {{"key", bad}}), Verdict::kDeny) << bad;
  EXPECT_EQ(verdict(t, "kv.list", {}, Json::object()), Verdict::kDeny);  // it has no `key`: not narrowed, so refused
}

TEST(Constraints, UrlsAreMatchedOnTheirCanonicalFormPartByPart) {
  auto t = tools_of(
      "[tools]\nallow = [\"http.fetch\"]\n[tools.constraints]\n"
      "\"http.fetch\" = { url = [\"https://api.example.test/v1/*\", \"https://*.cdn.example.test/*\"] }\n");
  auto fetch = [&](const char* url) { return verdict(t, "http.fetch", kFetch, {{"url", url}}); };
  EXPECT_EQ(fetch("https://api.example.test/v1/items"), Verdict::kAllow);  // the controls
  EXPECT_EQ(fetch("HTTPS://API.EXAMPLE.TEST:443/v1/items"), Verdict::kAllow);
  EXPECT_EQ(fetch("https://a.cdn.example.test/x"), Verdict::kAllow);
  EXPECT_EQ(fetch("https://api.example.test/v1/../admin"), Verdict::kDeny);
  EXPECT_EQ(fetch("https://api.example.test/v1/%2e%2e/admin"), Verdict::kDeny);
  EXPECT_EQ(fetch("https://api.example.test:8443/v1/items"), Verdict::kDeny);
  EXPECT_EQ(fetch("https://api.example.test@evil.test/v1/x"), Verdict::kDeny);
  EXPECT_EQ(fetch("http://api.example.test/v1/items"), Verdict::kDeny);
  EXPECT_EQ(fetch("https://evil.test/?.cdn.example.test/"), Verdict::kDeny);  // '*' stays in the host
  EXPECT_EQ(fetch("https://evil.test/x.cdn.example.test/"), Verdict::kDeny);
  EXPECT_EQ(verdict(t, "http.fetch", kFetch, Json::object()), Verdict::kDeny);
}

TEST(Constraints, RecipientsAreMatchedAsBareAddresses) {
  auto t = tools_of("[tools]\nask = [\"email.send\"]\n[tools.constraints]\n\"email.send\" = { to = [\"*@example.com\"] }\n");
  auto send = [&](const Json& to) { return verdict(t, "email.send", kSend, {{"to", to}, {"subject", "s"}, {"body", "b"}}); };
  EXPECT_EQ(send("bob@example.com"), Verdict::kAsk);  // the controls
  EXPECT_EQ(send("bob@EXAMPLE.COM"), Verdict::kAsk);
  EXPECT_EQ(send(Json{"bob@example.com", "carol@example.com"}), Verdict::kAsk);
  EXPECT_EQ(send("eve@evil.com"), Verdict::kDeny);
  EXPECT_EQ(send(Json{"bob@example.com", "eve@evil.com"}), Verdict::kDeny);
  EXPECT_EQ(send("eve@evil.com>, <bob@example.com"), Verdict::kDeny);
  EXPECT_EQ(send("Eve <eve@evil.com> bob@example.com"), Verdict::kDeny);
  EXPECT_EQ(send("eve@evil.com (bob@example.com)"), Verdict::kDeny);
  EXPECT_EQ(send("bob@example.com.evil.com"), Verdict::kDeny);
}

}  // namespace
}  // namespace agentos::broker
