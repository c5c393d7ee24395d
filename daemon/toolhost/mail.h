// The email tools: IMAP to read, SMTP to send, through the account in [tools.email].
//   email.list {mailbox?, limit?}   the newest messages' uid, from, to, subject, date
//   email.read {uid, mailbox?}      one message: its summary, text and attachments' names
//   email.send {to, subject, body}  a text message from the account's address; `to` is one
//                                   address or a list, every recipient (no cc, no bcc), so a
//                                   constraint on `to` covers them all
#pragma once

#include <string>

#include "policy/policy.h"
#include "toolhost/caldav.h"  // ToolAnswer
#include "toolhost/curl_client.h"

namespace agentos::toolhost {

[[nodiscard]] ToolAnswer email_tool(CurlClient& curl, const policy::MailAccount& account, const std::string& tool,
                                    const Json& args);

}  // namespace agentos::toolhost
