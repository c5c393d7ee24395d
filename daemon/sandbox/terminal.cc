#include "sandbox/terminal.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>

namespace agentos::sandbox {

int make_terminal(uint16_t rows, uint16_t cols, int* master, int* slave, const char** what) {
  *what = "/dev/pts";
  if (::mkdir("/dev/pts", 0755) != 0 && errno != EEXIST) return errno;
  // newinstance: the sandbox's own numbering and nodes; nobody outside sees them.
  if (::mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620") != 0)
    return errno;
  // Programs that make terminals themselves (script, tmux, Python's pty) open /dev/ptmx.
  if (::symlink("pts/ptmx", "/dev/ptmx") != 0 && errno != EEXIST && errno != EROFS) return errno;
  *what = "/dev/pts/ptmx";
  *master = ::open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (*master < 0) return errno;
  int unlock = 0;
  if (::ioctl(*master, TIOCSPTLCK, &unlock) != 0) return errno;
  // The slave by the master's own descriptor: no path, so nothing can be swapped in between.
  *slave = ::ioctl(*master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (*slave < 0) return errno;
  winsize ws{rows, cols, 0, 0};
  if (::ioctl(*slave, TIOCSWINSZ, &ws) != 0) return errno;
  return 0;
}

int take_terminal(int fd) {
  if (::setsid() < 0) return errno;
  return ::ioctl(fd, TIOCSCTTY, 0) == 0 ? 0 : errno;
}

}  // namespace agentos::sandbox
