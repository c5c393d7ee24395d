// Watches the socket hook's verdict on one destination, from inside an agent, for the policy-update
// benchmark: connects to 127.0.0.1:PORT, where nothing listens, as fast as it can. ECONNREFUSED
// means the hook let the connect through to TCP, EPERM that the policy said no; neither leaves a
// connection behind, so the loop can run for long. Prints "allowed T" or "denied T" (T is
// CLOCK_MONOTONIC seconds, the clock bench/policy_update.py reads outside) at the start and at each
// change, and exits after CHANGES changes.
//   verdict_watch PORT CHANGES
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

// 1 allowed, 0 denied, -1 something else (printed: the benchmark cannot read it).
int verdict(const sockaddr_in& to) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to);
  int err = errno;
  ::close(fd);
  if (rc != 0 && err == ECONNREFUSED) return 1;
  if (rc != 0 && err == EPERM) return 0;
  std::fprintf(stderr, "verdict_watch: connect: %s\n", rc == 0 ? "connected (something listens)" : std::strerror(err));
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: verdict_watch PORT CHANGES\n");
    return 2;
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(std::atoi(argv[1])));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  long changes = std::atol(argv[2]);

  int last = -2;
  for (long seen = -1; seen < changes;) {
    int v = verdict(to);
    if (v < 0) return 1;
    if (v == last) continue;
    timespec t;
    ::clock_gettime(CLOCK_MONOTONIC, &t);
    std::printf("%s %ld.%09ld\n", v ? "allowed" : "denied", static_cast<long>(t.tv_sec), t.tv_nsec);
    std::fflush(stdout);
    last = v;
    ++seen;
  }
  return 0;
}
