// Descriptors passed over Unix sockets (SCM_RIGHTS), and the sender's credentials
// (SCM_CREDENTIALS), in one place: the launcher's sockets, the gateway's listeners and secrets,
// the broker's adopted connections and its agents' messages, a secret's memfd.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <cstddef>
#include <optional>

namespace agentos {

inline constexpr size_t kMaxPassedFds = 64;

// Sends `len` bytes with `nfds` descriptors attached. No allocation: safe in a forked child.
ssize_t send_with_fds(int sock, const void* data, size_t len, const int* fds, size_t nfds);

// Receives up to `len` bytes; the descriptors that came with them (at most `max_fds`, any more are
// dropped by the kernel, never opened here) go to `fds`, close-on-exec, their count to *nfds. `sender`, if given, gets the
// credentials the kernel attached (a socket with SO_PASSCRED, whose reader must ask for them: they
// come first and would take the descriptors' room), or nothing. No allocation.
ssize_t recv_with_fds(int sock, void* data, size_t len, int* fds, size_t max_fds, size_t* nfds, int flags = 0,
                      std::optional<ucred>* sender = nullptr);

}  // namespace agentos
