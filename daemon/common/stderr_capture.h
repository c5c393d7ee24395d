// For tests of what must not be logged: what a call writes to stderr.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <string>

#include "common/unique_fd.h"

namespace agentos {

inline std::string stderr_of(const std::function<void()>& f) {
  UniqueFd out(::memfd_create("stderr", MFD_CLOEXEC)), saved(::dup(STDERR_FILENO));
  std::fflush(stderr);
  ::dup2(out.get(), STDERR_FILENO);
  f();
  std::fflush(stderr);
  ::dup2(saved.get(), STDERR_FILENO);
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = ::pread(out.get(), buf, sizeof buf, static_cast<off_t>(text.size()))) > 0;)
    text.append(buf, static_cast<size_t>(n));
  return text;
}

}  // namespace agentos
