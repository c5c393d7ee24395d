// The values of [limits]: memory sizes, CPU percentages, process counts.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/result.h"

namespace agentos::policy {

// Below this an agent cannot even start a dynamically linked interpreter; a smaller limit is a
// typo ("512K" for "512M") rather than an intent.
inline constexpr uint64_t kMinMemoryBytes = 4ull << 20;
// Kept within int64 so the value survives any signed conversion on its way to the kernel.
inline constexpr uint64_t kMaxMemoryBytes = INT64_MAX;
inline constexpr uint32_t kMaxCpuPercent = 100000;  // a thousand CPUs
inline constexpr int64_t kMaxPids = 4194304;        // the kernel's PID_MAX_LIMIT

// What every agent gets where its policy sets nothing: nothing an agent does is unbounded.
inline constexpr uint32_t kDefaultPids = 4096;  // processes and threads at once
inline constexpr uint64_t kDefaultTmpBytes = 1ull << 30;  // its private /tmp (tmpfs, in memory)
inline constexpr uint64_t kDefaultShmBytes = 64ull << 20;  // its /dev/shm, as Docker's
inline constexpr uint64_t kBytesPerTmpfsInode = 4096;  // a tmpfs's file count is bounded with its size

// "536870912", "512K", "512M", "2G", "1T" (1024-based), positive.
[[nodiscard]] Result<uint64_t> parse_size(std::string_view text);
// A size of at least kMinMemoryBytes.
[[nodiscard]] Result<uint64_t> parse_memory(std::string_view text);
// A byte count given as a TOML integer.
[[nodiscard]] Result<uint64_t> check_memory_bytes(int64_t bytes);
// "50%" is half of one CPU, "250%" two and a half.
[[nodiscard]] Result<uint32_t> parse_cpu(std::string_view text);
[[nodiscard]] Result<uint32_t> check_pids(int64_t pids);

}  // namespace agentos::policy
