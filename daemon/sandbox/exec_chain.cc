#include "sandbox/exec_chain.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sstream>

#include "common/unique_fd.h"
#include "sandbox/elf.h"

namespace agentos::sandbox {
namespace {

constexpr int kMaxDepth = 5;  // the kernel follows four "#!" levels (BINPRM_MAX_RECURSION), plus the ELF
constexpr size_t kShebangMax = 256;  // BINPRM_BUF_SIZE: the kernel reads no further either

// The interpreter and its first argument from a "#!" line, or nothing.
std::vector<std::string> shebang(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  char buf[kShebangMax];
  ssize_t n = fd.valid() ? ::pread(fd.get(), buf, sizeof buf, 0) : -1;
  if (n < 2 || buf[0] != '#' || buf[1] != '!') return {};
  std::string line(buf + 2, static_cast<size_t>(n - 2));
  line = line.substr(0, line.find('\n'));
  std::istringstream words(line);
  std::vector<std::string> out;
  for (std::string w; words >> w;) out.push_back(w);
  return out;
}

bool executable_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
}

}  // namespace

std::vector<ExecStep> exec_chain(const std::string& program, const std::string& path_env,
                                 const std::function<bool(const std::string&)>& visible) {
  std::vector<ExecStep> out{{ExecStep::kProgram, program, "the agent's command"}};
  std::string current = program;
  for (int depth = 0; depth < kMaxDepth; ++depth) {
    if (auto loader = elf_interpreter(current)) {
      out.push_back({ExecStep::kLoader, *loader, "the dynamic loader of " + current});
      break;
    }
    auto words = shebang(current);
    if (words.empty()) break;
    std::string line = "#!" + words[0] + (words.size() > 1 ? " " + words[1] : "");
    std::string next = words[0];
    // "#!/usr/bin/env NAME" (or "env -S NAME ..."): the program env finds first on PATH.
    if (next.ends_with("/env") && words.size() > 1) {
      out.push_back({ExecStep::kInterpreter, next, "the interpreter of " + current + " (" + line + ")"});
      std::string name = words[1] == "-S" && words.size() > 2 ? words[2] : words[1];
      if (name.find('/') == std::string::npos) {
        std::string found;
        std::istringstream dirs(path_env);
        for (std::string dir; std::getline(dirs, dir, ':') && found.empty();)
          if (!dir.empty() && executable_file(dir + "/" + name) && visible(dir + "/" + name)) found = dir + "/" + name;
        if (found.empty()) break;
        name = found;
      }
      if (auto loader = elf_interpreter(next)) out.push_back({ExecStep::kLoader, *loader, "the dynamic loader of " + next});
      out.push_back({ExecStep::kInterpreter, name, "the program " + line + " runs, on PATH"});
      current = name;
      continue;
    }
    out.push_back({ExecStep::kInterpreter, next, "the interpreter of " + current + " (" + line + ")"});
    current = next;
  }
  return out;
}

}  // namespace agentos::sandbox
