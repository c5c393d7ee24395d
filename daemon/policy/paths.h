// Checks on the filesystem paths a policy names. Purely textual: the parser never looks at the
// host's filesystem, so a policy means the same thing wherever it is parsed.
#pragma once

#include <string_view>

#include "common/result.h"

namespace agentos::policy {

// Absolute and normalized: starts with "/", no "." or ".." parts, no "//", no trailing "/"
// (except "/" itself), no NUL or newline, at most PATH_MAX bytes and NAME_MAX per part.
[[nodiscard]] Status check_normalized_path(std::string_view path);

// A path that may be granted to an agent: normalized, and neither "/" nor at or under /proc,
// /sys or /dev (the sandbox has its own /proc and /dev; the host's would leak host state).
// The launcher applies it again to each grant's real path, so a symlink cannot lead there.
[[nodiscard]] Status check_grant_path(std::string_view path);

// Whether `grant` covers `path`: equal, or `path` lies beneath it. Both normalized.
[[nodiscard]] bool path_covers(std::string_view grant, std::string_view path);

}  // namespace agentos::policy
