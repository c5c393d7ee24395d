// A bare mail address (local@domain), as the email tool takes recipients and the policy a sender:
// one address per string, nothing a mail header or an SMTP command could read as more (no
// spaces, commas, angle brackets, quotes or control characters), so a glob in
// [tools.constraints] decides about exactly one recipient.
#pragma once

#include <string_view>

namespace agentos {

[[nodiscard]] bool is_mail_address(std::string_view s);

}  // namespace agentos
