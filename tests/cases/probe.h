// Shared by the agentos-probe action files. See probe.cc for the output convention.
#pragma once

#include <functional>
#include <map>
#include <string>

namespace probe {

using Actions = std::map<std::string, std::function<int()>>;
using Arg = std::function<const char*(int)>;  // argv[i], or "" past the end

// Prints "ok" for rc >= 0, else "denied <ERRNO> <message>"; returns the exit code.
int result(long rc);

// Every file access kind the enforcement issue names, one syscall each.
void add_fs_actions(Actions& actions, const Arg& arg);

}  // namespace probe
