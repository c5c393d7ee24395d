#include "agentctl/console.h"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "agentctl/output.h"
#include "common/framing.h"
#include "common/unique_fd.h"

namespace agentos::ctl {
namespace {

constexpr char kDetach1 = 0x10, kDetach2 = 0x11;  // Ctrl-P, Ctrl-Q: docker's detach keys

// The user's terminal as it was, put back on every way out: normal return, an error, exit(), and
// the signals that end us (SIGTERM, SIGHUP reach the loop through a signalfd, so they return too).
termios g_saved;
bool g_raw = false;

void restore_terminal() {
  if (g_raw) ::tcsetattr(STDIN_FILENO, TCSADRAIN, &g_saved);
  g_raw = false;
}

bool make_raw() {
  if (::tcgetattr(STDIN_FILENO, &g_saved) != 0) return false;
  termios raw = g_saved;
  ::cfmakeraw(&raw);  // keys as bytes (Ctrl-C is the agent's terminal's to turn into SIGINT)
  if (::tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) != 0) return false;
  g_raw = true;
  static bool registered = false;
  if (!registered) std::atexit(restore_terminal);
  registered = true;
  return true;
}

struct RawMode {
  explicit RawMode(bool on) : on_(on && make_raw()) {}
  ~RawMode() {
    if (on_) restore_terminal();
  }
  bool on_;
};

// What we send the daemon, written as its socket takes it: a blocking write would stop us reading
// the agent's output, which the daemon holds back until we take it (console flow control).
class Outbox {
 public:
  explicit Outbox(int fd) : fd_(fd) {}
  void add(const std::function<void(agentos::v1::ConsoleInput*)>& fill) {
    agentos::v1::Request req;
    fill(req.mutable_input());
    buf_ += encode_frame(req.SerializeAsString());
  }
  Outcome<void> flush() {
    while (!buf_.empty()) {
      ssize_t n = ::send(fd_, buf_.data(), buf_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return {};
      if (n < 0) return failed(std::string("sending to agentosd: ") + std::strerror(errno));
      buf_.erase(0, static_cast<size_t>(n));
    }
    return {};
  }
  [[nodiscard]] size_t size() const { return buf_.size(); }

 private:
  int fd_;
  std::string buf_;
};

constexpr size_t kOutboxFull = 64 * 1024;  // stdin is not read past this

}  // namespace

std::optional<agentos::v1::Winsize> terminal_size(int fd) {
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) != 0 || ws.ws_row == 0 || ws.ws_col == 0) return std::nullopt;
  agentos::v1::Winsize out;
  out.set_rows(ws.ws_row);
  out.set_cols(ws.ws_col);
  return out;
}

std::optional<std::string> stdin_misuse(bool interactive, bool terminal) {
  if (terminal && !::isatty(STDIN_FILENO)) return "run -t needs a terminal on standard input (for a pipe, use -i)";
  // In the background, taking the terminal (raw mode) would stop us with SIGTTOU.
  if (terminal && ::tcgetpgrp(STDIN_FILENO) != ::getpgrp())
    return "run -t needs to be in the terminal's foreground (it is run in the background here)";
  if (interactive || terminal) return std::nullopt;
  struct stat st;
  if (::fstat(STDIN_FILENO, &st) != 0) return std::nullopt;  // closed: nothing to drop
  if (S_ISFIFO(st.st_mode) || S_ISREG(st.st_mode) || S_ISSOCK(st.st_mode))
    return "standard input is a pipe or a file, which the agent would not get: pass -i to give it to the agent";
  return std::nullopt;
}

Outcome<ConsoleEnd> run_console(Connection& conn, ConsoleOptions opts) {
  ConsoleEnd end;
  RawMode raw(opts.terminal && ::isatty(STDIN_FILENO));
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGWINCH}) sigaddset(&set, s);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  UniqueFd signals(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  bool reading = opts.interactive;
  Outbox outbox(conn.fd());
  bool detaching = false, pending_ctrl_p = false;
  std::string note;
  while (!conn.finished()) {
    short conn_events = POLLIN | (outbox.size() ? POLLOUT : 0);
    bool read_stdin = reading && outbox.size() < kOutboxFull;
    pollfd p[3] = {{conn.fd(), conn_events, 0}, {signals.get(), POLLIN, 0}, {read_stdin ? STDIN_FILENO : -1, POLLIN, 0}};
    if (::poll(p, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return failed(std::string("poll: ") + std::strerror(errno));
    }
    if (p[1].revents) {
      signalfd_siginfo si;
      while (::read(signals.get(), &si, sizeof si) == sizeof si) {
        int sig = static_cast<int>(si.ssi_signo);
        if (sig == SIGWINCH) {
          if (auto ws = terminal_size(STDIN_FILENO))
            outbox.add([&](auto* in) { *in->mutable_size() = *ws; });
        } else if (raw.on_ && sig == SIGHUP) {
          return failed("our terminal went away; the agent is stopped");  // the daemon sees us go
        } else {
          // Without a terminal of ours, the user's signals are the agent's.
          outbox.add([&](auto* in) { in->set_signal(sig); });
        }
      }
    }
    if (p[2].revents) {
      char buf[16384];
      ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        reading = false;
        if (!raw.on_) outbox.add([&](auto* in) { in->set_eof(true); });
      } else {
        std::string data(buf, static_cast<size_t>(n));
        if (raw.on_) {
          // Ctrl-P Ctrl-Q detaches; Ctrl-P followed by anything else is sent as typed.
          std::string pass;
          for (char c : data) {
            if (pending_ctrl_p) {
              pending_ctrl_p = false;
              if (c == kDetach2) {
                detaching = true;
                break;
              }
              pass += kDetach1;
            }
            if (c == kDetach1) pending_ctrl_p = true;
            else pass += c;
          }
          data = std::move(pass);
        }
        if (!data.empty()) outbox.add([&](auto* in) { in->set_data(data); });
        if (detaching) {
          outbox.add([&](auto* in) { in->set_detach(true); });
          reading = false;
        }
      }
    }
    if (auto s = outbox.flush(); !s && !(p[0].revents & POLLIN)) return s.error();
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      auto resp = conn.next();
      if (!resp) return resp.error();
      if (resp->has_log()) {
        const auto& chunk = resp->log();
        int fd = chunk.stream() == agentos::v1::LogChunk::STREAM_STDERR ? STDERR_FILENO : STDOUT_FILENO;
        if (auto s = write_all(fd, chunk.data()); !s) return failed("writing the agent's output: " + s.error().str());
        if (resp->final()) end.detached = true;  // we detached, or another client took the console
      } else if (resp->has_exit()) {
        end.exit = resp->exit();
      }
    }
  }
  return end;
}

}  // namespace agentos::ctl
