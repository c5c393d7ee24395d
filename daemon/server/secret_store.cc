#include "server/secret_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "common/atomic_file.h"
#include "common/unique_fd.h"
#include "policy/egress_rule.h"

namespace agentos {

std::string SecretStore::path(uid_t owner, const std::string& name) const {
  return dir_ + "/" + std::to_string(owner) + "/" + name;
}

Status SecretStore::set(uid_t owner, const std::string& name, const std::string& value) {
  if (auto s = policy::check_secret_name(name); !s) return s;
  if (value.empty()) return error("a secret may not be empty");
  if (value.size() > kMaxBytes) return error("a secret may hold at most " + std::to_string(kMaxBytes) + " bytes");
  for (const std::string& d : {dir_, dir_ + "/" + std::to_string(owner)})
    if (::mkdir(d.c_str(), 0700) != 0 && errno != EEXIST) return sys_error("mkdir " + d);
  return write_file_atomic(path(owner, name), value, 0600);
}

Status SecretStore::remove(uid_t owner, const std::string& name) {
  if (auto s = policy::check_secret_name(name); !s) return s;
  if (::unlink(path(owner, name).c_str()) != 0) return errno == ENOENT ? error("no secret \"" + name + "\"") : sys_error("remove");
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

Result<std::string> SecretStore::get(uid_t owner, const std::string& name) const {
  if (auto s = policy::check_secret_name(name); !s) return s.error();
  UniqueFd fd(::open(path(owner, name).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) {
    if (errno == ENOENT) return error("secret \"" + name + "\" is not set (agentctl secret set " + name + ")");
    return sys_error("secret \"" + name + "\"");
  }
  std::string value(kMaxBytes + 1, '\0');
  ssize_t n = ::read(fd.get(), value.data(), value.size());
  if (n < 0) return sys_error("read secret \"" + name + "\"");
  value.resize(static_cast<size_t>(n));
  return value;
}

}  // namespace agentos
