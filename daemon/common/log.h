// The daemon's log: structured journal entries under systemd, plain lines on stderr otherwise.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace agentos::log {

enum class Level { kError = 3, kWarning = 4, kNotice = 5, kInfo = 6, kDebug = 7 };

using Fields = std::vector<std::pair<std::string, std::string>>;  // e.g. {"AGENT_ID", "3f9a..."}

void write(Level level, const std::string& message, const Fields& fields = {});

inline void error(const std::string& m, const Fields& f = {}) { write(Level::kError, m, f); }
inline void warning(const std::string& m, const Fields& f = {}) { write(Level::kWarning, m, f); }
inline void info(const std::string& m, const Fields& f = {}) { write(Level::kInfo, m, f); }

}  // namespace agentos::log
