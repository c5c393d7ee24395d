#include "sandbox/launcher.h"

#include <gtest/gtest.h>
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
