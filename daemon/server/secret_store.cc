#include "server/secret_store.h"

#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "common/unique_fd.h"
#include "policy/egress_rule.h"

namespace agentos {

std::string SecretStore::path(uid_t owner, const std::string& name) const {
  return dir_ + "/" + std::to_string(owner) + "/" + name;
}

Status SecretStore::set(uid_t owner, const std::string& name, int value_fd) {
  if (auto s = policy::check_secret_name(name); !s) return with_kind(s.error(), ErrorKind::kInvalid);
  struct stat st;
  if (value_fd < 0 || ::fstat(value_fd, &st) != 0 || !S_ISREG(st.st_mode))
    return error(ErrorKind::kInvalid, "the value must come as a memfd attached to the request");
  if (st.st_size == 0) return error(ErrorKind::kInvalid, "a secret may not be empty");
  if (static_cast<size_t>(st.st_size) > kMaxBytes) return error(ErrorKind::kInvalid, "a secret may hold at most " + std::to_string(kMaxBytes) + " bytes");
  for (const std::string& d : {dir_, dir_ + "/" + std::to_string(owner)})
    if (::mkdir(d.c_str(), 0700) != 0 && errno != EEXIST) return sys_error("mkdir " + d);
  // Not a valid name (a leading '.'), so never listed nor mistaken for another secret.
  std::string final_path = path(owner, name), tmp = dir_ + "/" + std::to_string(owner) + "/." + name + ".new";
  UniqueFd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!out.valid()) return sys_error("create " + tmp);
  // Kernel to kernel: the value never enters this process.
  off_t offset = 0;
  while (offset < st.st_size) {
    ssize_t n = ::sendfile(out.get(), value_fd, &offset, static_cast<size_t>(st.st_size - offset));
    if (n <= 0) {
      auto e = n < 0 ? sys_error("copy the secret") : error(ErrorKind::kInvalid, "the secret's memfd shrank while it was copied");
      ::unlink(tmp.c_str());
      return e;
    }
  }
  if (::fsync(out.get()) != 0 || ::rename(tmp.c_str(), final_path.c_str()) != 0) {
    auto e = sys_error("store the secret");
    ::unlink(tmp.c_str());
    return e;
  }
  return {};
}

Status SecretStore::remove(uid_t owner, const std::string& name) {
  if (auto s = policy::check_secret_name(name); !s) return with_kind(s.error(), ErrorKind::kInvalid);
  if (::unlink(path(owner, name).c_str()) != 0)
    return errno == ENOENT ? error(ErrorKind::kNotFound, "no secret \"" + name + "\"") : sys_error("remove");
  return {};
}

Result<std::vector<SecretInfo>> SecretStore::list(uid_t owner) const {
  std::vector<SecretInfo> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir_ + "/" + std::to_string(owner), ec)) {
    std::string name = e.path().filename();
    struct stat st;
    if (!policy::check_secret_name(name) || ::lstat(e.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    out.push_back({name, static_cast<uint64_t>(st.st_size), static_cast<uint64_t>(st.st_mtime)});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

Result<UniqueFd> SecretStore::open(uid_t owner, const std::string& name) const {
  if (auto s = policy::check_secret_name(name); !s) return s.error();
  UniqueFd fd(::open(path(owner, name).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) {
    if (errno == ENOENT) return error("secret \"" + name + "\" is not set (agentctl secret set " + name + ")");
    return sys_error("secret \"" + name + "\"");
  }
  return fd;
}

}  // namespace agentos
