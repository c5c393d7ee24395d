#include "egress/decision.h"

#include <gtest/gtest.h>

#include "policy/egress_rule.h"

namespace agentos::egress {
namespace {

policy::Egress grants(std::initializer_list<const char*> texts) {
  policy::Egress e;
  for (const char* t : texts) e.allow.push_back(*policy::parse_egress_grant(t));
  return e;
}

Verdict target(const policy::Egress& e, const char* host, uint16_t port) { return check_target(e, *parse_host(host), port); }

TEST(Decision, NamesNeedAGrantWithTheirPort) {
  auto e = grants({"api.openai.com:443", "*.wikipedia.org:443"});
  EXPECT_TRUE(target(e, "api.openai.com", 443).allowed);
  EXPECT_TRUE(target(e, "API.OpenAI.com.", 443).allowed);  // case and a trailing dot do not matter
  EXPECT_TRUE(target(e, "en.wikipedia.org", 443).allowed);
  EXPECT_TRUE(target(e, "a.b.wikipedia.org", 443).allowed);
  EXPECT_FALSE(target(e, "wikipedia.org", 443).allowed);  // "*." is for subdomains only
  EXPECT_FALSE(target(e, "evilwikipedia.org", 443).allowed);
  EXPECT_FALSE(target(e, "openai.com", 443).allowed);
  Verdict port = target(e, "api.openai.com", 80);
  EXPECT_FALSE(port.allowed);
  EXPECT_EQ(port.reason, "api.openai.com is granted, but not port 80");
  EXPECT_EQ(target(e, "example.com", 443).reason, "example.com is not granted");
}

TEST(Decision, AddressesNeedARange) {
  auto e = grants({"api.openai.com:443", "10.20.0.0/16:5432", "[2001:db8::/32]:443"});
  EXPECT_TRUE(target(e, "10.20.1.1", 5432).allowed);
  EXPECT_TRUE(target(e, "::ffff:10.20.1.1", 5432).allowed);
  EXPECT_TRUE(target(e, "[2001:db8::7]", 443).allowed);
  EXPECT_FALSE(target(e, "10.20.1.1", 5433).allowed);
  EXPECT_FALSE(target(e, "93.184.216.34", 443).allowed);  // a public address is not a name's grant
  EXPECT_FALSE(parse_host("bad_name!"));
}

Verdict resolved(const policy::Egress& e, const char* address, uint16_t port, std::optional<bool> host_own = false) {
  return check_resolved(e, *parse_address(address), port, host_own);
}

TEST(Decision, AGrantedNameMustResolvePublicUnlessTheRangeIsGranted) {
  auto e = grants({"api.example.com:443", "10.20.0.0/16:443"});
  EXPECT_TRUE(resolved(e, "93.184.216.34", 443).allowed);
  for (const char* a : {"127.0.0.1", "169.254.169.254", "192.168.0.1", "fd00::1", "::1", "::ffff:127.0.0.1", "0.0.0.0",
                        "192.0.2.2", "2001:db8::1"}) {
    Verdict v = resolved(e, a, 443);
    EXPECT_FALSE(v.allowed) << a;
    EXPECT_NE(v.reason.find("not granted"), std::string::npos) << v.reason;
  }
  EXPECT_TRUE(resolved(e, "10.20.0.9", 443).allowed);
  EXPECT_FALSE(resolved(e, "10.20.0.9", 8443).allowed);  // the range's port only
  EXPECT_EQ(resolved(e, "169.254.169.254", 443).reason,
            "it resolves to 169.254.169.254, a link-local address, which is not granted");
  EXPECT_EQ(resolved(e, "192.0.2.2", 443).reason, "it resolves to 192.0.2.2, a documentation address, which is not granted");
}

TEST(Decision, TheHostsOwnAddressesNeedARangeGrantOfTheirOwn) {
  auto e = grants({"self.example.com:8080", "api.example.com:443", "93.184.217.1/32:443"});
  Verdict own = resolved(e, "93.184.217.1", 8080, true);
  EXPECT_FALSE(own.allowed);
  EXPECT_EQ(own.reason, "it resolves to 93.184.217.1, one of this host's own addresses, which is not granted");
  EXPECT_FALSE(resolved(e, "2606:2800:220:2::1", 8080, true).allowed);
  EXPECT_TRUE(resolved(e, "93.184.217.1", 8080, false).allowed);  // the same address, not the host's
  EXPECT_TRUE(resolved(e, "93.184.217.1", 443, true).allowed);  // a range grant names it, with this port
  Verdict unknown = resolved(e, "93.184.217.9", 8080, std::nullopt);  // fails closed
  EXPECT_FALSE(unknown.allowed);
  EXPECT_EQ(unknown.reason, "it resolves to 93.184.217.9, which may be this host's own (its addresses cannot be read now)");
  EXPECT_TRUE(resolved(e, "127.0.0.1", 8080, true).reason.find("a loopback address") != std::string::npos);
}

}  // namespace
}  // namespace agentos::egress
