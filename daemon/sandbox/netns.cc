#include "sandbox/netns.h"

#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace agentos::sandbox {

int bring_up_loopback() {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  int rc = ::ioctl(fd, SIOCGIFFLAGS, &ifr);
  if (rc == 0 && !(ifr.ifr_flags & IFF_UP)) {
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    rc = ::ioctl(fd, SIOCSIFFLAGS, &ifr);
  }
  int e = rc == 0 ? 0 : errno;
  ::close(fd);
  return e;
}

namespace {

// A socket of `type` bound to `ss` (listening, for a stream); the fd or -errno.
int bound_socket(int type, const sockaddr_storage& ss, socklen_t len) {
  int fd = ::socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  if (ss.ss_family == AF_INET6) {
    int on = 1;
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
  }
  // No SO_REUSEPORT: nothing else, the agent included, can bind the port after it.
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&ss), len) != 0 || (type == SOCK_STREAM && ::listen(fd, 256) != 0)) {
    int e = errno;
    ::close(fd);
    return -e;
  }
  return fd;
}

int v4_socket(int type, uint32_t address, uint16_t port) {
  sockaddr_storage ss{};
  auto* a = reinterpret_cast<sockaddr_in*>(&ss);
  a->sin_family = AF_INET;
  a->sin_port = htons(port);
  a->sin_addr.s_addr = htonl(address);
  return bound_socket(type, ss, sizeof *a);
}

int v6_loopback_listener(uint16_t port) {
  sockaddr_storage ss{};
  auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
  a->sin6_family = AF_INET6;
  a->sin6_port = htons(port);
  a->sin6_addr = in6addr_loopback;
  return bound_socket(SOCK_STREAM, ss, sizeof *a);
}

}  // namespace

int gateway_listener(int family) {
  return family == AF_INET ? v4_socket(SOCK_STREAM, INADDR_LOOPBACK, kGatewayPort) : v6_loopback_listener(kGatewayPort);
}

int dns_stub_socket() { return v4_socket(SOCK_DGRAM, INADDR_LOOPBACK, kDnsStubPort); }

int transparent_listener(uint16_t port) { return v4_socket(SOCK_STREAM, INADDR_ANY, port); }

int loopback6_listener(uint16_t port) { return v6_loopback_listener(port); }

}  // namespace agentos::sandbox
