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
  kGateway,  // making the egress gateway's listening sockets failed
  // Not a failure: the message (err 0) that carries the sandbox's listening sockets to the
  // monitor (SCM_RIGHTS): the broker's, then the gateway's two if the agent has [egress].
  kSockets,
  kTerminal,  // making the agent's terminal; with err 0, the message that carries its master
};

struct ChildReport {
  Stage stage;
  int32_t err;  // errno
  char detail[200];  // e.g. the path being mounted
};

const char* stage_name(Stage s);

}  // namespace agentos::sandbox
