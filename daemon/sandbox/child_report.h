// What a sandbox child tells its monitor when setup fails, over a SOCK_SEQPACKET pair.
// Success is the end of the stream: the socket is CLOEXEC, so a successful execve closes it.
#pragma once

#include <cstdint>

namespace agentos::sandbox {

enum class Stage : int32_t {
  kWaitForMaps = 1,
  kIdentity,
  kMounts,
  kHostname,
  kLoopback,
  kWorkdir,
  kCapabilities,
  kNoNewPrivs,
  kLandlock,
  kSeccomp,
  kFork,
  kExec,
  // The egress gateway's listening sockets: with err 0, the message that carries them (SCM_RIGHTS)
  // to the monitor; otherwise making them failed.
  kGateway,
};

struct ChildReport {
  Stage stage;
  int32_t err;  // errno
  char detail[200];  // e.g. the path being mounted
};

const char* stage_name(Stage s);

}  // namespace agentos::sandbox
