// `agentctl run --here`: a policy made on the spot for running one command confined to the
// current directory, from named profiles (policy/profiles/) and grant flags. Made client-side, as
// text, so that --print-policy shows exactly what the daemon is sent, to save and edit.
#pragma once

#include <string>
#include <vector>

#include "agentctl/outcome.h"

namespace agentos::ctl {

struct HereOptions {
  std::vector<std::string> profiles;  // "base" always comes first
  std::vector<std::string> read, write, exec;  // paths, relative to the current directory or absolute
  std::vector<std::string> allow_hosts;  // NAME:PORT
  std::vector<std::string> tools;
  std::vector<std::string> devices;  // /dev/NAME
  std::vector<std::string> command;  // CMD ARGS; CMD is looked up on our PATH
};

// Where profiles are read from, first match wins: $AGENTOS_PROFILE_DIR, /etc/agentos/profiles,
// then the package's (/usr/share/agentos/profiles).
[[nodiscard]] std::vector<std::string> profile_dirs();

// The policy's text; fails on an unknown profile, a profile that does not parse, a grant flag's
// path that does not exist, or a command not found.
Outcome<std::string> here_policy(const HereOptions& opts);

}  // namespace agentos::ctl
