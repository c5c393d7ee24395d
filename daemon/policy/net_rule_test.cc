#include "policy/net_rule.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

namespace agentos::policy {
namespace {

std::array<uint8_t, 16> addr(int family, const char* text) {
  std::array<uint8_t, 16> a{};
  EXPECT_EQ(inet_pton(family, text, a.data()), 1) << text;
  return a;
}

TEST(ParseNetRule, Valid) {
  struct Case {
    std::string_view text;
    Proto proto;
    int family;
    const char* addr;
    int prefix;
    int port;
  };
  const Case cases[] = {
      {"tcp://10.1.2.0/24:5432", Proto::kTcp, AF_INET, "10.1.2.0", 24, 5432},
      {"udp://127.0.0.53:53", Proto::kUdp, AF_INET, "127.0.0.53", 32, 53},
      {"tcp://0.0.0.0/0:1", Proto::kTcp, AF_INET, "0.0.0.0", 0, 1},
      {"tcp://255.255.255.255:65535", Proto::kTcp, AF_INET, "255.255.255.255", 32, 65535},
      {"tcp://[2001:db8::1]:443", Proto::kTcp, AF_INET6, "2001:db8::1", 128, 443},
      {"tcp://[2001:db8::/32]:443", Proto::kTcp, AF_INET6, "2001:db8::", 32, 443},
      {"udp://[::/0]:53", Proto::kUdp, AF_INET6, "::", 0, 53},
      {"tcp://[::ffff:10.0.0.1]:80", Proto::kTcp, AF_INET6, "::ffff:10.0.0.1", 128, 80},
      {"tcp://10.0.0.0/8:080", Proto::kTcp, AF_INET, "10.0.0.0", 8, 80},
  };
  for (const Case& c : cases) {
    Result<NetRule> r = parse_net_rule(c.text);
    ASSERT_TRUE(r) << c.text << ": " << r.error().what;
    EXPECT_EQ(r->proto, c.proto) << c.text;
    EXPECT_EQ(r->family, c.family) << c.text;
    EXPECT_EQ(r->addr, addr(c.family, c.addr)) << c.text;
    EXPECT_EQ(r->prefix_len, c.prefix) << c.text;
    EXPECT_EQ(r->port, c.port) << c.text;
    EXPECT_EQ(r->text, c.text);
  }
}

TEST(ParseNetRule, Invalid) {
  struct Case {
    std::string text;
    std::string_view says;
  };
  const Case cases[] = {
      {"", "does not start with"},
      {"TCP://1.2.3.4:1", "does not start with"},
      {"tcp:/1.2.3.4:1", "does not start with"},
      {"tcp://:80", "has no address"},
      {"tcp:///8:80", "has no address"},
      {"tcp://1.2.3.4.5:80", "is not an IPv4 address"},
      {"tcp://01.2.3.4:80", "is not an IPv4 address"},
      {"tcp://1.2.3:80", "is not an IPv4 address"},
      {"tcp://example.com:80", "is not an IPv4 address"},
      {std::string("tcp://1.2.3.4\0:80", 17), "is not an IPv4 address"},
      {"tcp://[fe80::1%eth0]:80", "is not an IPv6 address"},
      {"tcp://[1.2.3.4]:80", "is not an IPv6 address"},
      {"tcp://[::1:80", "without a closing"},
      {"tcp://[::1]80", "after \"]\""},
      {"tcp://::1:80", "goes in brackets"},
      {"tcp://1.2.3.4/:80", "prefix \"\" is not a number"},
      {"tcp://1.2.3.4/-1:80", "prefix \"-1\" is not a number"},
      {"tcp://1.2.3.4/+8:80", "is not a number"},
      {"tcp://1.2.3.4/33:80", "prefix /33 is out of range 0..32"},
      {"tcp://1.2.3.4/99999999999999999999:80", "out of range 0..32"},
      {"tcp://[::/129]:80", "out of range 0..128"},
      {"tcp://10.1.2.3/24:80", "has host bits set beyond /24; the network address is 10.1.2.0/24"},
      {"tcp://10.1.2.128/25:80", "10.1.2.128/25"},  // no host bits: this one is valid, see below
      {"tcp://1.2.3.4/0:80", "the network address is 0.0.0.0/0"},
      {"tcp://[2001:db8::1/127]:80", "the network address is [2001:db8::]/127"},
      {"tcp://1.2.3.4", "has no port"},
      {"tcp://1.2.3.4/32", "has no port"},
      {"tcp://[::1]", "has no port"},
      {"tcp://1.2.3.4:", "empty port"},
      {"tcp://[::1]:", "empty port"},
      {"tcp://1.2.3.4:0", "port 0 is out of range 1..65535"},
      {"tcp://1.2.3.4:65536", "port 65536 is out of range"},
      {"tcp://1.2.3.4:99999999999999999999999", "is out of range"},
      {"tcp://1.2.3.4:-1", "port \"-1\" is not a number"},
      {"tcp://1.2.3.4: 80", "is not a number"},
      {"tcp://1.2.3.4:80-90", "is not a number"},
      {"tcp://1.2.3.4:http", "port \"http\" is not a number"},
  };
  for (const Case& c : cases) {
    Result<NetRule> r = parse_net_rule(c.text);
    if (c.text == "tcp://10.1.2.128/25:80") {
      EXPECT_TRUE(r);
      continue;
    }
    ASSERT_FALSE(r) << c.text;
    EXPECT_NE(r.error().what.find(c.says), std::string::npos) << c.text << ": " << r.error().what;
  }
}

}  // namespace
}  // namespace agentos::policy
