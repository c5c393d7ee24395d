#include "policy/paths.h"

#include <gtest/gtest.h>

#include <string>

namespace agentos::policy {
namespace {

TEST(CheckNormalizedPath, AcceptsAbsoluteNormalizedPaths) {
  for (std::string_view p : {"/", "/usr", "/usr/lib/x86_64-linux-gnu", "/a b/c", "/...", "/.x",
                             "/x..", "/\u00e9t\u00e9"}) {
    EXPECT_TRUE(check_normalized_path(p)) << p;
  }
}

TEST(CheckNormalizedPath, RefusesEverythingElse) {
  struct Case {
    std::string path;
    std::string_view says;
  };
  const Case cases[] = {
      {"", "empty"},
      {"usr", "not absolute"},
      {"./usr", "not absolute"},
      {"/usr/", "ends with \"/\" (write \"/usr\")"},
      {"/usr///", "(write \"/usr\")"},
      {"//usr", "contains \"//\""},
      {"/usr//lib", "contains \"//\""},
      {"/.", "contains a \".\" part"},
      {"/usr/.", "contains a \".\" part"},
      {"/..", "contains a \"..\" part"},
      {"/usr/../etc", "contains a \"..\" part"},
      {std::string("/a\0b", 4), "NUL"},
      {"/a\nb", "line break"},
      {"/a\rb", "line break"},
      {"/" + std::string(4095, 'a'), "longer than 4095 bytes"},
      {"/" + std::string(256, 'a'), "part longer than 255 bytes"},
  };
  for (const Case& c : cases) {
    Status s = check_normalized_path(c.path);
    ASSERT_FALSE(s) << c.path;
    EXPECT_NE(s.error().what.find(c.says), std::string::npos) << s.error().what;
  }
  EXPECT_TRUE(check_normalized_path("/" + std::string(255, 'a')));
}

TEST(CheckGrantPath, RefusesRootAndTheSandboxesOwnTrees) {
  for (std::string_view p : {"/", "/proc", "/proc/1/root", "/sys", "/sys/kernel", "/dev",
                             "/dev/shm"}) {
    EXPECT_FALSE(check_grant_path(p)) << p;
  }
  for (std::string_view p :
       {"/usr", "/procfs", "/system", "/device", "/tmp", "/tmp/x", "/var/tmp", "/srv/proc", "/home/u/dev"}) {
    EXPECT_TRUE(check_grant_path(p)) << p;
  }
  EXPECT_FALSE(check_grant_path("/usr/"));
}

TEST(PathCovers, CoversItselfAndWhatIsBeneath) {
  EXPECT_TRUE(path_covers("/usr", "/usr"));
  EXPECT_TRUE(path_covers("/usr", "/usr/lib"));
  EXPECT_TRUE(path_covers("/usr", "/usr/lib/x"));
  EXPECT_FALSE(path_covers("/usr", "/usrx"));
  EXPECT_FALSE(path_covers("/usr/lib", "/usr"));
  EXPECT_TRUE(path_covers("/", "/anything"));
}

}  // namespace
}  // namespace agentos::policy
