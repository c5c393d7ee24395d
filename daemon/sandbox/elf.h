// The one thing the launcher needs from ELF files: their program interpreter (PT_INTERP).
#pragma once

#include <optional>
#include <string>

namespace agentos::sandbox {

// The dynamic loader an executable asks for, e.g. /lib64/ld-linux-x86-64.so.2; nothing for a
// static or non-ELF file.
[[nodiscard]] std::optional<std::string> elf_interpreter(const std::string& path);

}  // namespace agentos::sandbox
