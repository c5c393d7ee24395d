#include "sandbox/relay.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <string>

#include "sandbox/console.h"

namespace agentos::sandbox {
namespace {

constexpr size_t kMaxStdinBuffered = 1 << 20;  // then the console is not read until it drains
// After the sandbox ended, how long output may wait for a stalled console before it is given up
// on (the log has it all the same).
constexpr auto kDrainGrace = std::chrono::seconds(5);

void write_all(int fd, const char* data, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;  // a full disk loses log bytes, never the agent's progress
    data += w;
    n -= static_cast<size_t>(w);
  }
}

class Relay {
 public:
  Relay(pid_t child, int signals, RelayFds fds) : child_(child), signals_(signals), f_(fds), attached_(fds.attached) {
    for (int fd : {f_.out, f_.err, f_.in, f_.console})
      if (fd >= 0) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  }

  int run() {
    for (;;) {
      if (exited_ && f_.out < 0 && f_.err < 0) {
        // Everything the agent wrote is in the log; give an attached client a moment for the rest.
        if (pending_.empty() || !attached_ || std::chrono::steady_clock::now() > give_up_) return status_;
      }
      pollfd p[5];
      int n = 0;
      auto add = [&](int fd, short events) {
        p[n] = {fd, events, 0};
        return n++;
      };
      int sig = add(signals_, POLLIN);
      // Output is read only when it can go on: what a slow client has not taken stays in the pipe.
      bool room = pending_.empty();
      int out = f_.out >= 0 && room ? add(f_.out, POLLIN) : -1;
      int err = f_.err >= 0 && room ? add(f_.err, POLLIN) : -1;
      short want = (stdin_.size() < kMaxStdinBuffered ? POLLIN : 0) | (pending_.empty() ? 0 : POLLOUT);
      int con = f_.console >= 0 && want ? add(f_.console, want) : -1;
      int in = f_.in >= 0 && !stdin_.empty() ? add(f_.in, POLLOUT) : -1;
      int timeout = exited_ ? 100 : -1;
      if (::poll(p, static_cast<nfds_t>(n), timeout) < 0 && errno != EINTR) return status_;
      if (p[sig].revents) on_signals();
      if (out >= 0 && p[out].revents) drain(&f_.out, f_.terminal ? ConsoleKind::kTerminal : ConsoleKind::kStdout);
      if (err >= 0 && p[err].revents) drain(&f_.err, ConsoleKind::kStderr);
      if (con >= 0 && (p[con].revents & POLLOUT)) flush_console();
      if (con >= 0 && (p[con].revents & (POLLIN | POLLHUP | POLLERR))) read_console();
      if (in >= 0 && p[in].revents) flush_stdin();
    }
  }

 private:
  void on_signals() {
    signalfd_siginfo si;
    while (::read(signals_, &si, sizeof si) == sizeof si) {
      if (si.ssi_signo != SIGCHLD) {
        // The daemon's stop (SIGTERM), or a client's SIGINT, SIGTERM or SIGHUP: init passes it on.
        ::kill(child_, static_cast<int>(si.ssi_signo));
        continue;
      }
      int status;
      if (!exited_ && ::waitpid(child_, &status, WNOHANG) == child_) {
        exited_ = true;
        status_ = status;
        give_up_ = std::chrono::steady_clock::now() + kDrainGrace;
        // Nothing is left to read stdin: input still queued has nowhere to go.
        if (f_.terminal) f_.in = -1;  // the master, which still has output to give
        else close_fd(&f_.in);
        stdin_.clear();
      }
    }
  }

  // Reads what the agent wrote: into the log, and to the console while attached.
  void drain(int* fd, ConsoleKind kind) {
    char buf[kConsoleChunk];
    for (int i = 0; i < 16; ++i) {  // a bounded turn: the console and signals get theirs
      ssize_t r = ::read(*fd, buf, sizeof buf);
      if (r < 0 && (errno == EINTR)) continue;
      if (r < 0 && errno == EAGAIN) return;
      if (r <= 0) {  // end of the pipe; EIO from a terminal whose last user has gone
        if (*fd == f_.in) f_.in = -1;  // a terminal's master is both
        close_fd(fd);
        return;
      }
      write_all(f_.log, buf, static_cast<size_t>(r));
      if (attached_ && f_.console >= 0) {
        pending_.push_back(console_message(kind, std::string_view(buf, static_cast<size_t>(r))));
        flush_console();
        if (!pending_.empty()) return;  // the client is slower than the agent
      }
    }
  }

  void flush_console() {
    while (!pending_.empty()) {
      const std::string& m = pending_.front();
      ssize_t s = ::send(f_.console, m.data(), m.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (s < 0 && errno == EINTR) continue;
      if (s < 0 && errno == EAGAIN) return;
      if (s < 0) {  // the daemon's end is gone, and its copy too: nobody is attached
        attached_ = false;
        pending_.clear();
        return;
      }
      pending_.pop_front();
    }
  }

  void read_console() {
    char buf[kConsoleChunk + 1];
    for (;;) {
      ssize_t r = ::recv(f_.console, buf, sizeof buf, MSG_DONTWAIT);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        if (r == 0 || (errno != EAGAIN)) close_fd(&f_.console);  // no daemon can reach it any more
        return;
      }
      ConsoleMessage m;
      if (!parse_console_message(std::string_view(buf, static_cast<size_t>(r)), &m)) continue;
      on_console(m);
      if (stdin_.size() >= kMaxStdinBuffered) return;
    }
  }

  void on_console(const ConsoleMessage& m) {
    switch (m.kind) {
      case ConsoleKind::kAttach:
        attached_ = !m.payload.empty() && m.payload[0] != 0;
        if (!attached_) pending_.clear();
        break;
      case ConsoleKind::kInput:
        if (f_.in >= 0) stdin_.append(m.payload);
        flush_stdin();
        break;
      case ConsoleKind::kEof:
        eof_ = true;
        flush_stdin();
        break;
      case ConsoleKind::kResize:
        if (f_.terminal && f_.out >= 0 && m.payload.size() == 4) {
          uint16_t rc[2];
          std::memcpy(rc, m.payload.data(), sizeof rc);
          winsize ws{rc[0], rc[1], 0, 0};
          ::ioctl(f_.out, TIOCSWINSZ, &ws);  // the terminal tells the agent (SIGWINCH)
        }
        break;
      default:
        break;
    }
  }

  void flush_stdin() {
    while (f_.in >= 0 && !stdin_.empty()) {
      ssize_t w = ::write(f_.in, stdin_.data(), stdin_.size());
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && errno == EAGAIN) return;
      if (w < 0) {  // the agent closed its stdin
        stdin_.clear();
        if (!f_.terminal) close_fd(&f_.in);
        return;
      }
      stdin_.erase(0, static_cast<size_t>(w));
    }
    // A pipe's end ends the agent's stdin; a terminal has no end but ^D, which is data.
    if (eof_ && stdin_.empty() && f_.in >= 0 && !f_.terminal) close_fd(&f_.in);
  }

  static void close_fd(int* fd) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }

  pid_t child_;
  int signals_;
  RelayFds f_;
  bool attached_;
  bool exited_ = false;
  bool eof_ = false;
  int status_ = 0;
  std::chrono::steady_clock::time_point give_up_{};
  std::deque<std::string> pending_;  // output for the console, in order
  std::string stdin_;  // input for the agent, in order
};

}  // namespace

int run_relay(pid_t child, int signals, RelayFds fds) { return Relay(child, signals, fds).run(); }

}  // namespace agentos::sandbox
