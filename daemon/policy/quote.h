// User text made safe to put in a diagnostic: policies are untrusted, and their messages end up
// on terminals and in the journal.
#pragma once

#include <string>
#include <string_view>

namespace agentos::policy {

// `s` in double quotes, with control characters, quotes and backslashes escaped and anything past
// 100 bytes cut to "...", so a hostile value can neither move the cursor nor flood a log.
[[nodiscard]] std::string quote_text(std::string_view s);

// `s` with control characters escaped but no quotes added (for toml++'s own messages).
[[nodiscard]] std::string escape_text(std::string_view s);

}  // namespace agentos::policy
