// The one receive for Unix sockets: descriptors beyond what the caller takes are never opened, and
// the sender's credentials come as the kernel attached them.
#include "common/fd_passing.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iterator>

#include "common/unique_fd.h"

namespace agentos {
namespace {

struct Pair {
  UniqueFd a, b;
  explicit Pair(int type = SOCK_SEQPACKET) {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv), 0);
    a.reset(sv[0]);
    b.reset(sv[1]);
  }
};

size_t open_fds() {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) n += e.is_symlink() ? 1 : 0;
  return n;
}

TEST(FdPassing, DescriptorsBeyondMaxAreClosedNotLeaked) {
  Pair p;
  UniqueFd one(::open("/dev/null", O_RDONLY | O_CLOEXEC)), two(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  int fds[2] = {one.get(), two.get()};
  ASSERT_EQ(send_with_fds(p.a.get(), "x", 1, fds, 2), 1);
  size_t before = open_fds();
  int got[1] = {-1};
  size_t n = 0;
  char byte;
  ASSERT_EQ(recv_with_fds(p.b.get(), &byte, 1, got, 1, &n), 1);
  ASSERT_EQ(n, 1u);
  UniqueFd kept(got[0]);
  EXPECT_NE(::fcntl(kept.get(), F_GETFD) & FD_CLOEXEC, 0);
  EXPECT_EQ(open_fds(), before + 1);  // the one taken; the other was closed
}

// Whether another process could take a write lock on `path` now.
bool lockable_by_another(const std::string& path) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(path.c_str(), O_RDWR);
    struct flock l{};
    l.l_type = F_WRLCK;
    l.l_whence = SEEK_SET;
    ::_exit(fd >= 0 && ::fcntl(fd, F_SETLK, &l) == 0 ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// A peer's descriptors the receiver does not take are never installed: closing one here would
// release every POSIX lock this process holds on that file (and run the file's flush).
TEST(FdPassing, UntakenDescriptorsAreNeverOpened) {
  char path[] = "/tmp/agentos-fd-passing-XXXXXX";
  UniqueFd mine(::mkstemp(path));
  ASSERT_TRUE(mine.valid());
  struct flock l{};
  l.l_type = F_WRLCK;
  l.l_whence = SEEK_SET;
  ASSERT_EQ(::fcntl(mine.get(), F_SETLK, &l), 0);
  ASSERT_FALSE(lockable_by_another(path));  // the lock holds

  Pair p;
  UniqueFd theirs(::open(path, O_RDONLY | O_CLOEXEC));
  int fd = theirs.get();
  ASSERT_EQ(send_with_fds(p.a.get(), "x", 1, &fd, 1), 1);  // `theirs` stays open: its close would unlock
  size_t n = 0;
  char byte;
  ASSERT_EQ(recv_with_fds(p.b.get(), &byte, 1, nullptr, 0, &n), 1);
  EXPECT_EQ(n, 0u);
  EXPECT_FALSE(lockable_by_another(path));  // still ours

  // As the broker reads its agents: credentials wanted, descriptors not.
  int on = 1;
  ASSERT_EQ(::setsockopt(p.b.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof on), 0);
  int many[8];
  std::fill(std::begin(many), std::end(many), fd);
  ASSERT_EQ(send_with_fds(p.a.get(), "y", 1, many, 8), 1);
  std::optional<ucred> sender;
  ASSERT_EQ(recv_with_fds(p.b.get(), &byte, 1, nullptr, 0, &n, 0, &sender), 1);
  EXPECT_TRUE(sender);
  EXPECT_EQ(n, 0u);
  EXPECT_FALSE(lockable_by_another(path));

  // Control: a close here does release it, so the checks above could have seen that.
  theirs.reset();
  EXPECT_TRUE(lockable_by_another(path));
  ::unlink(path);
}

TEST(FdPassing, SenderCredentialsOnlyWherePassed) {
  Pair p;
  std::optional<ucred> sender;
  size_t n = 0;
  char byte;
  ASSERT_EQ(::send(p.a.get(), "x", 1, 0), 1);
  ASSERT_EQ(recv_with_fds(p.b.get(), &byte, 1, nullptr, 0, &n, 0, &sender), 1);
  EXPECT_FALSE(sender);  // SO_PASSCRED is off: nothing is claimed
  int on = 1;
  ASSERT_EQ(::setsockopt(p.b.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof on), 0);
  ASSERT_EQ(::send(p.a.get(), "y", 1, 0), 1);
  ASSERT_EQ(recv_with_fds(p.b.get(), &byte, 1, nullptr, 0, &n, 0, &sender), 1);
  ASSERT_TRUE(sender);
  EXPECT_EQ(sender->pid, ::getpid());
  EXPECT_EQ(sender->uid, ::getuid());
}

}  // namespace
}  // namespace agentos
