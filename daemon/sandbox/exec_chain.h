// What the kernel loads to run a program: a script's interpreter (its "#!" line, through
// /usr/bin/env's PATH search), and each ELF program's dynamic loader (PT_INTERP), as deep as the
// kernel itself goes. The launcher needs it twice: each loader is made executable where a grant
// shows it, and a program or interpreter without an exec grant is named before the agent starts,
// instead of an EACCES from inside.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace agentos::sandbox {

struct ExecStep {
  enum Kind { kProgram, kInterpreter, kLoader };
  Kind kind = kProgram;
  std::string path;  // as the kernel (or env) will open it
  std::string why;  // for messages: "the interpreter of /w/run (#!/usr/bin/env node)"
};

// `visible`: whether the agent's view shows a path (env skips what it cannot find). `path_env`:
// the agent's PATH. Reads files with the caller's identity: call it as the agent's owner.
[[nodiscard]] std::vector<ExecStep> exec_chain(const std::string& program, const std::string& path_env,
                                               const std::function<bool(const std::string&)>& visible);

}  // namespace agentos::sandbox
