// [egress] end to end: grants, routes and limits parsed to their values, and each error at the
// line and column it must point at.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include "policy/egress_rule.h"
#include "policy/test_util.h"

namespace agentos::policy {
namespace {

using test::errors_text;
using test::one_error;
using test::parse;
using test::with_agent;

const std::string kEgress = with_agent(test::kEgressExample);

TEST(Egress, TheExampleParsesToItsValues) {
  ParseResult r = parse(kEgress);
  ASSERT_TRUE(r.policy) << errors_text(r);
  const Egress& e = *r.policy->egress;
  ASSERT_EQ(e.allow.size(), 4u);
  EXPECT_EQ(e.allow[0].name, "api.openai.com");
  EXPECT_FALSE(e.allow[0].subdomains);
  EXPECT_EQ(e.allow[0].port, 443);
  EXPECT_EQ(e.allow[1].name, "wikipedia.org");  // lower-cased
  EXPECT_TRUE(e.allow[1].subdomains);
  ASSERT_TRUE(e.allow[2].range);
  EXPECT_EQ(e.allow[2].range->prefix_len, 16);
  EXPECT_EQ(e.allow[2].port, 5432);
  ASSERT_TRUE(e.allow[3].range);
  EXPECT_EQ(e.allow[3].range->family, AF_INET6);
  EXPECT_EQ(e.max_connections, 8u);
  EXPECT_EQ(e.bandwidth, 1u << 20);
  ASSERT_EQ(e.routes.size(), 2u);
  EXPECT_EQ(e.routes[0].path, "/openai");
  EXPECT_TRUE(e.routes[0].tls);
  EXPECT_EQ(e.routes[0].host, "api.openai.com");
  EXPECT_EQ(e.routes[0].port, 443);
  EXPECT_EQ(e.routes[0].base_path, "/v1");
  ASSERT_EQ(e.routes[0].headers.size(), 1u);
  EXPECT_EQ(e.routes[0].headers[0].first, "Authorization");
  EXPECT_EQ(e.routes[0].headers[0].second, "Bearer {secret:openai}");
  EXPECT_EQ(e.routes[0].secrets, std::vector<std::string>{"openai"});
  EXPECT_FALSE(e.routes[1].tls);
  EXPECT_EQ(e.routes[1].host, "10.20.0.5");
  EXPECT_EQ(e.routes[1].port, 8080);
  EXPECT_EQ(e.routes[1].secrets, (std::vector<std::string>{"k1", "k2"}));
}

TEST(Egress, GrantErrorsPointAtTheEntry) {
  auto allow = [](std::string_view g) { return with_agent("[egress]\nallow = [\"" + std::string(g) + "\"]\n"); };
  // The entry starts at column 10 of line 4: `allow = [` is 9 characters.
  EXPECT_TRUE(one_error(allow("api.openai.com"), 4, 10, "has no port"));
  EXPECT_TRUE(one_error(allow("api.openai.com:0"), 4, 10, "out of range 1..65535"));
  EXPECT_TRUE(one_error(allow("api.openai.com:https"), 4, 10, "is not a number"));
  EXPECT_TRUE(one_error(allow("*:443"), 4, 10, "'*' may only be the whole first label"));
  EXPECT_TRUE(one_error(allow("a.*.com:443"), 4, 10, "'*' may only be the whole first label"));
  EXPECT_TRUE(one_error(allow("api_openai.com:443"), 4, 10, "is not a letter, digit"));
  EXPECT_TRUE(one_error(allow("-api.com:443"), 4, 10, "may not start or end with '-'"));
  EXPECT_TRUE(one_error(allow("a..b:443"), 4, 10, "has an empty label"));
  EXPECT_TRUE(one_error(allow("10.1.2.3/24:80"), 4, 10, "host bits set"));
  EXPECT_TRUE(one_error(allow("2001:db8::1:443"), 4, 10, "in brackets"));
  EXPECT_TRUE(one_error(with_agent("[egress]\nallow = [\"a.com:443\", \"A.com:443\"]\n"), 4, 23,
                        "grants the same as the entry at 4:10"));
}

TEST(Egress, RouteErrorsPointAtTheirValue) {
  auto route = [](std::string_view body) { return with_agent("[[egress.route]]\n" + std::string(body)); };
  EXPECT_TRUE(one_error(route("path = \"/a\"\n"), 3, 1, "needs both path and upstream"));
  EXPECT_TRUE(one_error(route("path = \"a\"\nupstream = \"https://x.com\"\n"), 4, 8, "must start with '/'"));
  EXPECT_TRUE(one_error(route("path = \"/a/../b\"\nupstream = \"https://x.com\"\n"), 4, 8, "\"..\" segment"));
  EXPECT_TRUE(one_error(route("path = \"/a/\"\nupstream = \"https://x.com\"\n"), 4, 8, "ends with '/'"));
  EXPECT_TRUE(one_error(route("path = \"/a\"\nupstream = \"ftp://x.com\"\n"), 5, 12, "does not start with \"https://\""));
  EXPECT_TRUE(one_error(route("path = \"/a\"\nupstream = \"https://u:p@x.com\"\n"), 5, 12, "credentials belong in a header"));
  EXPECT_TRUE(one_error(route("path = \"/a\"\nupstream = \"https://x.com:99999\"\n"), 5, 12, "out of range"));
  EXPECT_TRUE(one_error(route("path = \"/a\"\nupstream = \"https://x.com\"\nheader = \"NoColon\"\n"), 6, 10, "is not \"Name: value\""));
  EXPECT_TRUE(one_error(route("path = \"/a\"\nupstream = \"https://x.com\"\nheader = \"Bad Name: v\"\n"), 6, 10, "not an HTTP token"));
  EXPECT_TRUE(one_error(route("path = \"/a\"\nupstream = \"https://x.com\"\nheader = \"A: {secret:../x}\"\n"), 6, 10,
                        "secret name \"../x\""));
  EXPECT_TRUE(one_error(route("path = \"/a\"\nupstream = \"https://x.com\"\nheader = \"A: {oops}\"\n"), 6, 10,
                        "only opens a placeholder"));
  EXPECT_TRUE(one_error(route("path = \"/a\"\nupstream = \"https://x.com\"\nheader = \"A: x\\r\\nB: y\"\n"), 6, 10,
                        "control character"));
  EXPECT_TRUE(one_error(route("path = \"/a\"\nupstream = \"https://x.com\"\nheadr = \"A: x\"\n"), 6, 1, "did you mean \"header\""));
  EXPECT_TRUE(one_error(with_agent("[egress]\nroute = 1\n"), 4, 9, "must be an array of tables"));
}

TEST(Egress, LimitsAndWhereEgressCannotBe) {
  EXPECT_TRUE(one_error(with_agent("[egress]\nmax_connections = 0\n"), 4, 19, "1..65535"));
  EXPECT_TRUE(one_error(with_agent("[egress]\nbandwidth = \"fast\"\n"), 4, 13, "is not a size"));
  EXPECT_TRUE(one_error(with_agent("[network]\nnamespace = \"host\"\n[egress]\nallow = [\"a.com:443\"]\n"), 5, 1,
                        "[egress] works through the gateway"));
  ParseResult none = parse(with_agent(""));
  ASSERT_TRUE(none.policy);
  EXPECT_FALSE(none.policy->egress);  // no [egress]: no gateway, no way out
}

TEST(EgressValues, FillSecretsReplacesEveryPlaceholder) {
  auto lookup = [](const std::string& n) { return "<" + n + ">"; };
  EXPECT_EQ(fill_secrets("Bearer {secret:a}", lookup), "Bearer <a>");
  EXPECT_EQ(fill_secrets("{secret:a}-{secret:b}!", lookup), "<a>-<b>!");
  EXPECT_EQ(fill_secrets("plain", lookup), "plain");
}

TEST(EgressValues, SecretNames) {
  EXPECT_TRUE(check_secret_name("openai"));
  EXPECT_TRUE(check_secret_name("OPENAI_key.v2-a"));
  for (const char* bad : {"", ".hidden", "a/b", "..", "a b", "ä"}) EXPECT_FALSE(check_secret_name(bad)) << bad;
  EXPECT_FALSE(check_secret_name(std::string(65, 'a')));
}

}  // namespace
}  // namespace agentos::policy
