#include "egress/host_addresses.h"

#include <gtest/gtest.h>

namespace agentos::egress {
namespace {

TEST(HostAddresses, LoopbackIsTheHostsOwnAndAnAddressOnNoInterfaceIsNot) {
  auto host = HostAddresses::open();
  ASSERT_TRUE(host) << host.error().str();
  EXPECT_EQ(host->holds(*parse_address("127.0.0.1")), true);
  EXPECT_EQ(host->holds(*parse_address("::ffff:127.0.0.1")), true);  // parsed as its IPv4 form
  EXPECT_EQ(host->holds(*parse_address("203.0.113.77")), false);  // documentation: never assigned
  EXPECT_EQ(host->holds(*parse_address("2001:db8::77")), false);
}

}  // namespace
}  // namespace agentos::egress
