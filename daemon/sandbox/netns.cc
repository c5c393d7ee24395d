#include "sandbox/netns.h"

#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
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

Result<UniqueFd> listen_loopback(int family) {
  UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return sys_error("socket");
  sockaddr_storage ss{};
  socklen_t len;
  if (family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(kGatewayPort);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(kGatewayPort);
    a->sin6_addr = in6addr_loopback;
    int on = 1;
    ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    len = sizeof *a;
  }
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) return sys_error("bind the gateway's port");
  if (::listen(fd.get(), 256) != 0) return sys_error("listen");
  return fd;
}

}  // namespace

Result<std::vector<UniqueFd>> gateway_listeners(int ns_fd) {
  UniqueFd own(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!own.valid()) return sys_error("open own network namespace");
  if (::setns(ns_fd, CLONE_NEWNET) != 0) return sys_error("enter the agent's network namespace");
  std::vector<UniqueFd> out;
  Status status;
  if (int e = bring_up_loopback()) {
    errno = e;
    status = sys_error("bring lo up");
  }
  for (int family : {AF_INET, AF_INET6}) {
    if (!status) break;
    auto fd = listen_loopback(family);
    if (fd) out.push_back(std::move(*fd));
    else status = fd.error();
  }
  // Back home whatever happened: a daemon left in an agent's namespace would be a disaster.
  if (::setns(own.get(), CLONE_NEWNET) != 0) ::abort();
  if (!status) return status.error();
  return out;
}

}  // namespace agentos::sandbox
