// parse_policy_file: the policy text read from disk, with the same size cap as parse_policy.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/unique_fd.h"
#include "policy/input_limits.h"
#include "policy/policy.h"
#include "policy/quote.h"

namespace agentos::policy {
namespace {

ParseResult file_error(const std::string& path, std::string message) {
  return {std::nullopt, {Diagnostic{{path, 0, 0}, std::move(message)}}};
}

}  // namespace

ParseResult parse_policy_file(const std::string& path, const Policy* previous) {
  if (path.find('\0') != std::string::npos) return file_error(path, "path contains a NUL byte");
  // O_NONBLOCK so that a FIFO dropped into the policy directory cannot hang the daemon in open();
  // it is refused below as not a regular file.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd.valid()) return file_error(path, std::string("cannot open: ") + std::strerror(errno));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) {
    return file_error(path, std::string("cannot stat: ") + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return file_error(path, "not a regular file");

  // Read one byte past the cap rather than trusting st_size, which may change under us.
  std::string text;
  text.resize(kMaxPolicyBytes + 1);
  size_t got = 0;
  while (got < text.size()) {
    ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return file_error(path, std::string("cannot read: ") + std::strerror(errno));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  if (got > kMaxPolicyBytes) {
    return file_error(path,
                      "policy is larger than " + std::to_string(kMaxPolicyBytes >> 20) + " MiB");
  }
  text.resize(got);
  if (previous && previous->source_path == path && previous->source_text == text) return {*previous, {}};
  return parse_policy(text, path);
}

}  // namespace agentos::policy
