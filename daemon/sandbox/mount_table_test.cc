#include "sandbox/mount_table.h"

#include <gtest/gtest.h>

namespace agentos::sandbox {
namespace {

constexpr char kMountinfo[] =
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    "40 22 0:35 / /home/u/proj/tmp rw shared:20 - tmpfs tmpfs rw\n"  // a filesystem from its root
    "41 22 8:1 /srv/secret /home/u/proj/bound rw shared:1 - ext4 /dev/sda1 rw\n"
    "42 22 8:1 /srv/with\\040space /home/u/other\\040dir/in rw shared:1 - ext4 /dev/sda1 rw\n";

TEST(MountTable, BindMountsOfSubdirectoriesBeneathAGrant) {
  auto b = bind_mount_beneath(kMountinfo, {{"/home/u/proj", 1}});
  ASSERT_TRUE(b);
  EXPECT_EQ(b->grant, "/home/u/proj");
  EXPECT_EQ(b->mount_point, "/home/u/proj/bound");
  EXPECT_EQ(b->source, "/srv/secret");
  EXPECT_FALSE(bind_mount_beneath(kMountinfo, {{"/home/u/proj/tmp", 1}}));  // a whole filesystem
  EXPECT_FALSE(bind_mount_beneath(kMountinfo, {{"/home/u/proj/bound", 1}}));  // the grant itself
  EXPECT_FALSE(bind_mount_beneath(kMountinfo, {{"/usr", 1}}));
  auto spaced = bind_mount_beneath(kMountinfo, {{"/home/u/other dir", 1}});
  ASSERT_TRUE(spaced);
  EXPECT_EQ(spaced->source, "/srv/with space");
}

}  // namespace
}  // namespace agentos::sandbox
