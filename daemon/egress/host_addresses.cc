#include "egress/host_addresses.h"

#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>

namespace agentos::egress {

Result<HostAddresses> HostAddresses::open() {
  HostAddresses h;
  // Subscribed before the first read, so no change can fall between the two. Routing netlink
  // announces address changes to unprivileged listeners.
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE));
  sockaddr_nl groups{};
  groups.nl_family = AF_NETLINK;
  groups.nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR;
  if (fd.valid() && ::bind(fd.get(), reinterpret_cast<sockaddr*>(&groups), sizeof groups) == 0)
    h.changes_ = std::move(fd);
  if (auto s = h.refresh(); !s) return s.error();
  return h;
}

std::optional<bool> HostAddresses::holds(const Address& a) {
  drain();
  if (stale_ && !refresh()) return std::nullopt;
  return std::find(addresses_.begin(), addresses_.end(), a) != addresses_.end();
}

void HostAddresses::drain() {
  if (!changes_.valid()) {
    stale_ = true;
    return;
  }
  char buf[8192];
  for (;;) {
    ssize_t n = ::recv(changes_.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    // A change, or (ENOBUFS) so many that some notices were lost.
    if (n <= 0 && !(n < 0 && errno == ENOBUFS)) return;
    stale_ = true;
  }
}

Status HostAddresses::refresh() {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return sys_error("getifaddrs");
  std::vector<Address> now;
  for (ifaddrs* i = list; i; i = i->ifa_next)
    if (i->ifa_addr && (i->ifa_addr->sa_family == AF_INET || i->ifa_addr->sa_family == AF_INET6))
      now.push_back(from_sockaddr(i->ifa_addr));
  ::freeifaddrs(list);
  addresses_ = std::move(now);
  stale_ = false;
  return {};
}

}  // namespace agentos::egress
