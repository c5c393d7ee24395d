// What changed between the policy a running agent started with and the one now loaded, in the
// terms the live update acts on (server/agent_update.cc): what can be replaced under a running
// agent, and what only its next start can change. [egress] is compared by the gateway, after
// secrets are filled in.
#pragma once

#include "policy/policy.h"

namespace agentos::policy {

struct PolicyDiff {
  bool files = false;  // read, write, exec
  bool sockets = false;  // connect, bind
  bool tools = false;  // which tools, asked or not, and the rates
  bool sandbox = false;  // command, workdir, environment, views, devices, limits
};

[[nodiscard]] PolicyDiff diff(const Policy& now, const Policy& next);

}  // namespace agentos::policy
