#include "egress/synthetic_names.h"

#include <gtest/gtest.h>

namespace agentos::egress {
namespace {

TEST(SyntheticNames, OneStableAddressPerNameInTheBlock) {
  SyntheticNames names;
  bool fresh = false;
  auto a = names.address_for("api.example.test", &fresh);
  ASSERT_TRUE(a);
  EXPECT_TRUE(fresh);
  EXPECT_EQ(*a & kSyntheticMask, kSyntheticNet);
  EXPECT_NE(*a, kSyntheticNet);  // .0.0 is never given out
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
  EXPECT_EQ(names.name_at(*a + 1), nullptr);  // the next one, not yet given out
  EXPECT_EQ(names.name_at(kSyntheticNet), nullptr);
  EXPECT_EQ(names.name_at(0x7f000001), nullptr);  // 127.0.0.1: outside the block
  EXPECT_EQ(names.name_at((*a & ~kSyntheticMask) | 0x0a000000), nullptr);  // same low bits, 10/8
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
