#include "egress/socks5.h"

#include <gtest/gtest.h>

#include <vector>

namespace agentos::egress {
namespace {

TEST(Socks5, GreetingNeedsNoAuthOffered) {
  std::vector<uint8_t> g = {5, 2, 2, 0};
  EXPECT_EQ(parse_socks_greeting({g.data(), 1}).status, SocksStatus::kNeedMore);
  EXPECT_EQ(parse_socks_greeting({g.data(), 3}).status, SocksStatus::kNeedMore);
  auto done = parse_socks_greeting(g);
  EXPECT_EQ(done.status, SocksStatus::kDone);
  EXPECT_EQ(done.used, 4u);
  EXPECT_TRUE(done.no_auth);
  std::vector<uint8_t> only_password = {5, 1, 2};
  EXPECT_FALSE(parse_socks_greeting(only_password).no_auth);
  std::vector<uint8_t> v4 = {4, 1, 0};
  EXPECT_EQ(parse_socks_greeting(v4).status, SocksStatus::kBad);
}

TEST(Socks5, ConnectRequestsByNameAndAddress) {
  std::vector<uint8_t> name = {5, 1, 0, 3, 11, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm', 0x01, 0xbb, 'X'};
  auto r = parse_socks_request(name);
  EXPECT_EQ(r.status, SocksStatus::kDone);
  EXPECT_EQ(r.host, "example.com");
  EXPECT_EQ(r.port, 443);
  EXPECT_EQ(r.used, name.size() - 1);  // 'X' is the tunnel's first byte
  EXPECT_EQ(parse_socks_request({name.data(), 10}).status, SocksStatus::kNeedMore);
  std::vector<uint8_t> v4 = {5, 1, 0, 1, 10, 0, 0, 1, 0, 80};
  EXPECT_EQ(parse_socks_request(v4).host, "10.0.0.1");
  std::vector<uint8_t> v6 = {5, 1, 0, 4, 0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 80};
  EXPECT_EQ(parse_socks_request(v6).host, "2001:db8::1");
}

TEST(Socks5, OtherCommandsAndAddressTypesAreRefusedWithTheRightCode) {
  std::vector<uint8_t> udp = {5, 3, 0, 1, 0, 0, 0, 0, 0, 0};
  auto r = parse_socks_request(udp);
  EXPECT_EQ(r.status, SocksStatus::kBad);
  EXPECT_EQ(r.reply, kSocksCommandUnsupported);
  std::vector<uint8_t> atyp = {5, 1, 0, 9, 0, 0};
  EXPECT_EQ(parse_socks_request(atyp).reply, kSocksAddressUnsupported);
  std::vector<uint8_t> empty_name = {5, 1, 0, 3, 0, 0, 80};
  EXPECT_EQ(parse_socks_request(empty_name).status, SocksStatus::kBad);
  EXPECT_EQ(socks_reply(kSocksNotAllowed)[1], 2);
}

}  // namespace
}  // namespace agentos::egress
