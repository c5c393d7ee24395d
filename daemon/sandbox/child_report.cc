#include "sandbox/child_report.h"

namespace agentos::sandbox {

const char* stage_name(Stage s) {
  switch (s) {
    case Stage::kWaitForMaps: return "user namespace setup";
    case Stage::kIdentity: return "switching to the owner's uid/gid";
    case Stage::kMounts: return "building the filesystem view";
    case Stage::kHostname: return "setting the hostname";
    case Stage::kLoopback: return "bringing up loopback";
    case Stage::kWorkdir: return "entering the working directory";
    case Stage::kCapabilities: return "dropping capabilities";
    case Stage::kNoNewPrivs: return "setting no_new_privs";
    case Stage::kLandlock: return "applying the Landlock ruleset";
    case Stage::kSeccomp: return "installing the seccomp filter";
    case Stage::kFork: return "forking the agent";
    case Stage::kExec: return "executing the agent's command";
    case Stage::kGateway: return "making the egress gateway's sockets";
    case Stage::kSockets: return "handing out the broker's and the gateway's sockets";
    case Stage::kTerminal: return "making the agent's terminal";
  }
  return "setup";
}

}  // namespace agentos::sandbox
