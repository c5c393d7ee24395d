// libFuzzer entry: an agent's command as the daemon reads it, as root, for its program interpreter
// (launch_spec.cc); the agent may have written that file. Here it is a memfd.
#include <sys/mman.h>

#include <cstdint>
#include <string>

#include "common/unique_fd.h"
#include "sandbox/elf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  agentos::UniqueFd fd(::memfd_create("command", MFD_CLOEXEC));
  if (!fd.valid() || ::write(fd.get(), data, size) != static_cast<ssize_t>(size)) __builtin_trap();
  auto interp = agentos::sandbox::elf_interpreter("/proc/self/fd/" + std::to_string(fd.get()));
  if (interp && (interp->size() > 4096 || interp->find('\0') != std::string::npos)) __builtin_trap();
  return 0;
}
