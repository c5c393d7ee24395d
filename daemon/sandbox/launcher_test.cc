#include "sandbox/launcher.h"

#include <gtest/gtest.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "sandbox/elf.h"

namespace agentos::sandbox {
namespace {

TEST(WaitStatus, FollowsTheShellConvention) {
  EXPECT_EQ(decode_wait_status(0).exit_code, 0);
  ExitStatus e = decode_wait_status(3 << 8);
  EXPECT_EQ(e.exit_code, 3);
  EXPECT_EQ(e.signal, 0);
  // The monitor sees pid 1 die of SIGKILL when the cgroup is killed.
  e = decode_wait_status(SIGKILL);
  EXPECT_EQ(e.exit_code, 137);
  EXPECT_EQ(e.signal, SIGKILL);
  // pid 1 reports the agent's death by signal N as exit status 128+N.
  e = decode_wait_status((128 + SIGSYS) << 8);
  EXPECT_EQ(e.exit_code, 128 + SIGSYS);
  EXPECT_EQ(e.signal, SIGSYS);
}

TEST(Elf, FindsTheDynamicLoader) {
  auto interp = elf_interpreter("/bin/sh");
  ASSERT_TRUE(interp.has_value());
  EXPECT_NE(interp->find("ld-linux"), std::string::npos) << *interp;
  EXPECT_FALSE(elf_interpreter("/etc/passwd").has_value());  // not ELF
  EXPECT_FALSE(elf_interpreter("/nonexistent").has_value());
}

}  // namespace
}  // namespace agentos::sandbox

namespace agentos::sandbox {
namespace {

TEST(LaunchSpec, GrantsCarryTheRightsOfGrantsAboveThem) {
  policy::Policy p;
  p.name = "t";
  p.command = {"/bin/sh"};
  p.read = {"/usr"};
  p.exec = {"/usr/bin"};
  p.write = {"/tmp"};
  auto s = make_launch_spec(p, "id", 1000, 1000, {});
  ASSERT_TRUE(s.ok()) << s.error().str();
  EXPECT_EQ(s->fs_rights.at("/usr").rights, kFsRead);
  EXPECT_EQ(s->fs_rights.at("/usr/bin").rights, kFsRead | kFsExec);
  EXPECT_EQ(s->fs_rights.at("/tmp").rights, kFsRead | kFsWrite);
  EXPECT_EQ(s->fs_rights.at("/dev/null").rights, kFsRead | kFsWrite);
  // /bin/sh's loader, beneath the /usr grant, is executable: nothing runs without it.
  auto interp = elf_interpreter("/bin/sh");
  ASSERT_TRUE(interp);
  char real[PATH_MAX];
  ASSERT_TRUE(::realpath(interp->c_str(), real));
  EXPECT_EQ(s->fs_rights.at(real).rights, kFsRead | kFsExec);
}

TEST(LaunchSpec, RefusesUid0AndGrantsThatResolveIntoProc) {
  policy::Policy p;
  p.name = "t";
  p.command = {"/bin/true"};
  EXPECT_FALSE(make_launch_spec(p, "id", 0, 0, {}).ok());
  p.read = {"/dev/fd"};  // a symlink to /proc/self/fd: the text passed the parser, the real path must not
  auto s = make_launch_spec(p, "id", 1000, 1000, {});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().str().find("resolves to /proc"), std::string::npos) << s.error().str();
}

}  // namespace
}  // namespace agentos::sandbox
