// agentos-mcp: the stdio transport of the Model Context Protocol, for MCP clients that start their
// servers as programs. Shown in every sandbox at /run/agentos/agentos-mcp; it copies standard
// input to the broker's socket and the broker's answers to standard output, nothing more. Built
// static, so it runs whatever the agent's grants hold.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

bool copy(int from, int to) {
  char buf[65536];
  ssize_t n = ::read(from, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) return false;
  for (ssize_t off = 0; off < n;) {
    ssize_t w = ::write(to, buf + off, static_cast<size_t>(n - off));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    off += w;
  }
  return true;
}

}  // namespace

int main() {
  const char* path = std::getenv("AGENTOS_BROKER");
  if (!path || !*path) path = "/run/agentos/broker.sock";
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (std::strlen(path) >= sizeof addr.sun_path) return 2;
  std::strcpy(addr.sun_path, path);
  int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0 || ::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::fprintf(stderr, "agentos-mcp: cannot reach the broker at %s: %s\n", path, std::strerror(errno));
    return 1;
  }
  pollfd fds[2] = {{0, POLLIN, 0}, {s, POLLIN, 0}};
  bool in_open = true;
  for (;;) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (in_open && (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) && !copy(0, s)) {
      in_open = false;  // the client is done asking: let the answers still in flight arrive
      fds[0].fd = -1;
      ::shutdown(s, SHUT_WR);
    }
    if ((fds[1].revents & (POLLIN | POLLHUP | POLLERR)) && !copy(s, 1)) return 0;
  }
}
