#include "common/fd_passing.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace agentos {

ssize_t send_with_fds(int sock, const void* data, size_t len, const int* fds, size_t nfds) {
  if (nfds > kMaxPassedFds) nfds = kMaxPassedFds;
  iovec iov{const_cast<void*>(data), len};
  alignas(cmsghdr) char cbuf[CMSG_SPACE(kMaxPassedFds * sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (nfds > 0) {
    msg.msg_control = cbuf;
    msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
    std::memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
  }
  return ::sendmsg(sock, &msg, MSG_NOSIGNAL);
}

ssize_t recv_with_fds(int sock, void* data, size_t len, int* fds, size_t max_fds, size_t* nfds, int flags,
                      std::optional<ucred>* sender) {
  *nfds = 0;
  if (sender) sender->reset();
  iovec iov{data, len};
  alignas(cmsghdr) char cbuf[CMSG_SPACE(kMaxPassedFds * sizeof(int)) + CMSG_SPACE(sizeof(ucred))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = cbuf;
  // Room for the descriptors the caller takes and no more: the kernel drops the rest unopened, so
  // a sender's descriptors are never installed here (closing one would run its file's flush, and
  // drop this process's POSIX locks on that file).
  max_fds = std::min(max_fds, kMaxPassedFds);
  // (The credentials come first; without them their room would hold descriptors, hence exact.)
  msg.msg_controllen = (sender ? CMSG_SPACE(sizeof(ucred)) : 0) + (max_fds > 0 ? CMSG_SPACE(max_fds * sizeof(int)) : 0);
  if (msg.msg_controllen == 0) msg.msg_control = nullptr;
  ssize_t n = ::recvmsg(sock, &msg, flags | MSG_CMSG_CLOEXEC);
  if (n < 0) return n;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS && sender &&
        c->cmsg_len >= CMSG_LEN(sizeof(ucred))) {
      ucred cred;
      std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
      *sender = cred;
    }
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      if (*nfds < max_fds) fds[(*nfds)++] = fd;
      else ::close(fd);
    }
  }
  return n;
}

}  // namespace agentos
