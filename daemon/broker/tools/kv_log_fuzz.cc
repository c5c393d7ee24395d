// libFuzzer entry: a kv store's log as the broker replays it when the store opens; the agent's
// calls wrote what is in it. Checked: replay keeps whole records only, so the log it leaves opens
// again to the same entries and size, and the counted bytes are those of the entries.
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "broker/tools/kv_log.h"

namespace {

// A scratch directory for the log, on tmpfs where there is one (replay may truncate and fsync).
int scratch_dir() {
  static const std::string path = [] {
    for (std::string base : {std::string("/dev/shm"), std::filesystem::temp_directory_path().string()}) {
      std::string p = base + "/agentos-kv-fuzz-XXXXXX";
      if (::mkdtemp(p.data())) return p;
    }
    __builtin_trap();
  }();
  static const int fd = [] {
    std::atexit([] { std::filesystem::remove_all(path); });
    return ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  }();
  return fd;
}

agentos::UniqueFd dir() { return agentos::UniqueFd(::fcntl(scratch_dir(), F_DUPFD_CLOEXEC, 0)); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using agentos::broker::KvLog;
  agentos::UniqueFd file(::openat(scratch_dir(), "store.kv", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!file.valid() || ::write(file.get(), data, size) != static_cast<ssize_t>(size)) __builtin_trap();
  file.reset();
  auto log = KvLog::open(dir(), "store.kv");
  if (!log) return 0;  // not a kv log: the store refuses to open
  uint64_t bytes = 0;
  for (const auto& [k, v] : (*log)->entries()) bytes += k.size() + v.size();
  auto again = KvLog::open(dir(), "store.kv");
  if (bytes != (*log)->data_bytes() || !again || (*again)->entries() != (*log)->entries() ||
      (*again)->file_bytes() != (*log)->file_bytes())
    __builtin_trap();
  return 0;
}
