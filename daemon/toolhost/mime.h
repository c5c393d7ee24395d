// Mail messages through GMime: the summary and text the email tools show, and the message
// email.send sends. Header values come out decoded (RFC 2047) and bodies in UTF-8.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "toolhost/ical_event.h"  // Json

namespace agentos::toolhost {

void mime_init();

// from, to, cc, subject, date (ISO 8601) of a message or of its header alone.
[[nodiscard]] Json message_summary(const std::string& raw);
// The summary, the first text/plain part that is not an attachment (or, failing that, the first
// text/html one, marked so), and the attachments' names and sizes.
[[nodiscard]] Json message_content(const std::string& raw, size_t max_text);

// A text/plain UTF-8 message with CRLF line ends, ready for SMTP.
[[nodiscard]] Result<std::string> compose_message(const std::string& from, const std::vector<std::string>& to,
                                                  const std::string& subject, const std::string& body,
                                                  std::string* message_id);

}  // namespace agentos::toolhost
