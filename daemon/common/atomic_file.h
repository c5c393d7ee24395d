// Writes that a crash cannot leave half done: write a temporary file, fsync, rename.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "common/result.h"

namespace agentos {

[[nodiscard]] Status write_file_atomic(const std::string& path, std::string_view content, mode_t mode);

}  // namespace agentos
