// Changes to a policy file made on its owner's behalf ("always" answers to a consent request,
// revocations), as edits of the text itself: every comment, blank line and layout choice the
// user made is kept. The result is parsed again before it is returned, so a broken file is never
// written.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace agentos::policy {

// `tool` added to [tools] allow (created if missing) and taken out of [tools] ask.
[[nodiscard]] Result<std::string> grant_tool(std::string_view text, std::string_view path, std::string_view tool);
// `tool` taken out of [tools] allow and ask.
[[nodiscard]] Result<std::string> revoke_tool(std::string_view text, std::string_view path, std::string_view tool);

}  // namespace agentos::policy
