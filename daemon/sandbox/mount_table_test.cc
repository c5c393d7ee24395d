#include "sandbox/mount_table.h"

#include <gtest/gtest.h>

namespace agentos::sandbox {
namespace {

constexpr char kMountinfo[] =
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    "40 22 0:35 / /home/u/proj/tmp rw shared:20 - tmpfs tmpfs rw\n"  // a filesystem from its root
    "41 22 8:1 /srv/secret /home/u/proj/bound rw shared:1 - ext4 /dev/sda1 rw\n"
    "42 22 8:1 /srv/with\\040space /home/u/other\\040dir/in rw shared:1 - ext4 /dev/sda1 rw\n"
    "43 22 0:5 / /srv/data/proc rw,nosuid shared:2 master:7 - proc proc rw\n"
    "44 22 0:6 / /srv/data/dev rw,nosuid shared:3 - devtmpfs udev rw\n";

TEST(MountTable, BindMountsOfSubdirectoriesBeneathAGrant) {
  auto b = bind_mount_beneath(kMountinfo, {"/home/u/proj"});
  ASSERT_TRUE(b);
  EXPECT_EQ(b->grant, "/home/u/proj");
  EXPECT_EQ(b->mount_point, "/home/u/proj/bound");
  EXPECT_EQ(b->source, "/srv/secret");
  EXPECT_FALSE(bind_mount_beneath(kMountinfo, {"/home/u/proj/tmp"}));  // a whole filesystem
  EXPECT_FALSE(bind_mount_beneath(kMountinfo, {"/home/u/proj/bound"}));  // the grant itself
  EXPECT_FALSE(bind_mount_beneath(kMountinfo, {"/usr"}));
  auto spaced = bind_mount_beneath(kMountinfo, {"/home/u/other dir"});
  ASSERT_TRUE(spaced);
  EXPECT_EQ(spaced->source, "/srv/with space");
}

TEST(MountTable, KernelFilesystemsMountedBeneathAGrant) {
  auto m = pseudo_mount_beneath(kMountinfo, "/srv/data");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->mount_point, "/srv/data/proc");
  EXPECT_EQ(m->fstype, "proc");  // read past the optional fields
  EXPECT_EQ(pseudo_mount_beneath(kMountinfo, "/srv")->fstype, "proc");
  EXPECT_FALSE(pseudo_mount_beneath(kMountinfo, "/srv/data/proc"));  // the grant itself is judged by its own statfs
  EXPECT_FALSE(pseudo_mount_beneath(kMountinfo, "/home/u/proj"));  // tmpfs and ext4 beneath: ordinary data
}

}  // namespace
}  // namespace agentos::sandbox
