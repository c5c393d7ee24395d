// Reads a user's policy file on the client side: the daemon never opens user paths, so that a
// caller cannot use it to read files the caller could not read.
#pragma once

#include <string>

#include "agentctl/outcome.h"

namespace agentos::ctl {

// The whole file; fails with "cannot read PATH: <strerror>" or when it could never fit in a
// request frame.
Outcome<std::string> read_policy_file(const std::string& path);

}  // namespace agentos::ctl
