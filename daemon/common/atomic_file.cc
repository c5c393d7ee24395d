#include "common/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/unique_fd.h"

namespace agentos {

Status write_file_atomic(const std::string& path, std::string_view content, mode_t mode) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd.valid()) return sys_error("open " + tmp);
  size_t off = 0;
  while (off < content.size()) {
    ssize_t w = ::write(fd.get(), content.data() + off, content.size() - off);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      auto e = sys_error("write " + tmp);
      ::unlink(tmp.c_str());
      return e;
    }
    off += static_cast<size_t>(w);
  }
  if (::fchmod(fd.get(), mode) != 0 || ::fsync(fd.get()) != 0) {
    auto e = sys_error("fsync " + tmp);
    ::unlink(tmp.c_str());
    return e;
  }
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    auto e = sys_error("rename " + path);
    ::unlink(tmp.c_str());
    return e;
  }
  return {};
}

}  // namespace agentos
