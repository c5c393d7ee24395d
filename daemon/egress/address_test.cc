#include "egress/address.h"

#include <gtest/gtest.h>

#include "policy/net_rule.h"

namespace agentos::egress {
namespace {

Scope scope(const char* text) { return scope_of(*parse_address(text)); }

TEST(Address, ParsesBothFamiliesAndFoldsMappedIpv4) {
  EXPECT_EQ(parse_address("10.0.0.1")->str(), "10.0.0.1");
  EXPECT_EQ(parse_address("2001:db8::1")->str(), "2001:db8::1");
  auto mapped = parse_address("::ffff:127.0.0.1");
  ASSERT_TRUE(mapped);
  EXPECT_EQ(mapped->family, AF_INET);
  EXPECT_EQ(mapped->str(), "127.0.0.1");
  EXPECT_FALSE(parse_address("example.com"));
  EXPECT_FALSE(parse_address("10.0.0.256"));
  EXPECT_FALSE(parse_address(""));
}

TEST(Address, ScopesOfTheRangesThatAreNotTheInternet) {
  EXPECT_EQ(scope("93.184.216.34"), Scope::kPublic);
  EXPECT_EQ(scope("2606:2800:220:1::1"), Scope::kPublic);
  EXPECT_EQ(scope("127.0.0.1"), Scope::kLoopback);
  EXPECT_EQ(scope("127.255.1.2"), Scope::kLoopback);
  EXPECT_EQ(scope("::1"), Scope::kLoopback);
  EXPECT_EQ(scope("::ffff:127.0.0.1"), Scope::kLoopback);
  EXPECT_EQ(scope("10.1.2.3"), Scope::kPrivate);
  EXPECT_EQ(scope("172.16.0.1"), Scope::kPrivate);
  EXPECT_EQ(scope("172.31.255.255"), Scope::kPrivate);
  EXPECT_EQ(scope("172.32.0.1"), Scope::kPublic);
  EXPECT_EQ(scope("192.168.1.1"), Scope::kPrivate);
  EXPECT_EQ(scope("169.254.169.254"), Scope::kLinkLocal);
  EXPECT_EQ(scope("fe80::1"), Scope::kLinkLocal);
  EXPECT_EQ(scope("fd00::1"), Scope::kUniqueLocal);
  EXPECT_EQ(scope("100.64.0.1"), Scope::kSharedNat);
  EXPECT_EQ(scope("0.0.0.0"), Scope::kUnspecified);
  EXPECT_EQ(scope("::"), Scope::kUnspecified);
  EXPECT_EQ(scope("224.0.0.1"), Scope::kMulticast);
  EXPECT_EQ(scope("ff02::1"), Scope::kMulticast);
  EXPECT_EQ(scope("255.255.255.255"), Scope::kReserved);
  EXPECT_EQ(scope("64:ff9b::7f00:1"), Scope::kReserved);  // NAT64 of 127.0.0.1
  EXPECT_EQ(scope("2002:7f00:1::"), Scope::kReserved);  // 6to4 of 127.0.0.1
}

TEST(Address, SpecialPurposeRangesAreNotPublic) {
  for (const char* doc : {"192.0.2.2", "198.51.100.10", "203.0.113.255", "2001:db8::10", "3fff:fff::1",
                          "::ffff:192.0.2.2"})
    EXPECT_EQ(scope(doc), Scope::kDocumentation) << doc;
  for (const char* reserved : {"192.88.99.1", "192.0.0.8", "198.19.255.1", "100::1", "2001::1",
                               "2001:0:4136:e378:8000:63bf:3fff:fdd2",  // Teredo
                               "2001:1ff:ffff::1", "fec0::1", "::7f00:1", "::a00:1", "64:ff9b:1::a00:1"})
    EXPECT_EQ(scope(reserved), Scope::kReserved) << reserved;
  // Their neighbours are public.
  for (const char* pub : {"192.0.3.1", "192.88.98.1", "198.51.101.1", "203.0.112.255", "2001:200::1",
                          "2001:db9::1", "3fef::1", "93.184.216.10", "2606:2800:220:1::10"})
    EXPECT_EQ(scope(pub), Scope::kPublic) << pub;
  EXPECT_STREQ(scope_name(Scope::kDocumentation), "documentation");
}

TEST(Address, RangesHoldTheirAddressesInEitherSpelling) {
  auto net = policy::parse_net_rule("tcp://10.20.0.0/16:5432");
  ASSERT_TRUE(net);
  EXPECT_TRUE(in_range(*parse_address("10.20.3.4"), *net));
  EXPECT_TRUE(in_range(*parse_address("::ffff:10.20.3.4"), *net));
  EXPECT_FALSE(in_range(*parse_address("10.21.0.1"), *net));
  EXPECT_FALSE(in_range(*parse_address("2001:db8::1"), *net));
  auto v6 = policy::parse_net_rule("tcp://[2001:db8::/32]:443");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(in_range(*parse_address("2001:db8:1::5"), *v6));
  EXPECT_FALSE(in_range(*parse_address("2001:db9::5"), *v6));
  EXPECT_FALSE(in_range(*parse_address("10.20.3.4"), *v6));
}

}  // namespace
}  // namespace agentos::egress
