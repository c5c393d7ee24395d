#include "agentctl/policy_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/framing.h"
#include "common/unique_fd.h"

namespace agentos::ctl {

Outcome<std::string> read_policy_file(const std::string& path) {
  auto cannot = [&](int err) { return failed("cannot read " + path + ": " + std::strerror(err)); };
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) return cannot(errno);
  std::string content;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return cannot(errno);
    if (n == 0) break;
    content.append(buf, static_cast<size_t>(n));
    // Stop early on something that could never fit in one request (e.g. /dev/zero).
    if (content.size() > kMaxFrame) return failed(path + ": too large for a policy file");
  }
  return content;
}

}  // namespace agentos::ctl
