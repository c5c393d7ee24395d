#include "egress/synthetic_names.h"

#include <gtest/gtest.h>

namespace agentos::egress {
namespace {

Address at(const char* text) { return *parse_address(text); }

TEST(SyntheticNames, OneStableAddressPerNameInTheBlock) {
  SyntheticNames names;
  bool fresh = false;
  auto a = names.address_for("api.example.test", &fresh);
  ASSERT_TRUE(a);
  EXPECT_TRUE(fresh);
  EXPECT_TRUE(a->str().starts_with("127.77.")) << a->str();
  EXPECT_NE(*a, at("127.77.0.0"));  // .0.0 is never given out
  auto b = names.address_for("other.example.test");
  ASSERT_TRUE(b);
  EXPECT_NE(*a, *b);
  EXPECT_EQ(names.address_for("api.example.test", &fresh), a);
  EXPECT_FALSE(fresh);
  ASSERT_NE(names.name_at(*a), nullptr);
  EXPECT_EQ(*names.name_at(*a), "api.example.test");
  EXPECT_EQ(*names.name_at(*b), "other.example.test");
}

TEST(SyntheticNames, AddressesNotGivenOutNameNothing) {
  SyntheticNames names;
  auto a = names.address_for("api.example.test");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->str(), "127.77.0.1");
  EXPECT_NE(names.name_at(at("127.77.0.1")), nullptr);
  EXPECT_EQ(names.name_at(at("127.77.0.2")), nullptr);  // the next one, not yet given out
  EXPECT_EQ(names.name_at(at("127.77.0.0")), nullptr);
  EXPECT_EQ(names.name_at(at("127.0.0.1")), nullptr);  // outside the block
  EXPECT_EQ(names.name_at(at("10.0.0.1")), nullptr);  // same low bits, 10/8
  EXPECT_EQ(names.name_at(at("::ffff:127.77.0.1")), names.name_at(*a));  // v4-mapped is its IPv4 form
  EXPECT_EQ(names.name_at(at("::1")), nullptr);
}

TEST(SyntheticNames, StopsAtItsCapacity) {
  SyntheticNames names(2);
  EXPECT_TRUE(names.address_for("a.test"));
  EXPECT_TRUE(names.address_for("b.test"));
  EXPECT_FALSE(names.address_for("c.test"));
  EXPECT_TRUE(names.address_for("a.test"));  // those it has keep theirs
}

}  // namespace
}  // namespace agentos::egress
