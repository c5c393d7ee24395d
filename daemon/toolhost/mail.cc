#include "toolhost/mail.h"

#include <algorithm>
#include <sstream>

#include "common/mail_address.h"
#include "toolhost/mime.h"

namespace agentos::toolhost {
namespace {

constexpr size_t kMaxText = 256 * 1024;
constexpr size_t kMaxRecipients = 50;

ToolAnswer fail(std::string why) { return {true, Json{{"error", std::move(why)}}}; }

// A mailbox name as a URL path: letters, digits, space, . _ - and / between levels; each
// character that URLs need escaped is escaped. Anything else is refused rather than guessed at.
Result<std::string> mailbox_path(const Json& args) {
  std::string mb = args.contains("mailbox") && args["mailbox"].is_string() ? args["mailbox"].get<std::string>() : "INBOX";
  if (mb.empty() || mb.size() > 200 || mb.front() == '/' || mb.back() == '/' || mb.find("//") != std::string::npos)
    return error("mailbox must be a name like INBOX or Archive/2026");
  std::string out;
  for (char c : mb) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == '/') out += c;
    else if (c == ' ') out += "%20";
    else return error("mailbox may hold letters, digits, spaces, '.', '_', '-' and '/'");
  }
  if (mb.find("..") != std::string::npos) return error("mailbox must not hold \"..\"");
  return out;
}

std::string base_url(const std::string& url) { return url.ends_with('/') ? url : url + "/"; }

ToolAnswer list_messages(CurlClient& curl, const policy::MailAccount& a, const Json& args) {
  auto mb = mailbox_path(args);
  if (!mb) return fail(mb.error().str());
  int64_t limit = 20;
  if (args.contains("limit")) {
    if (!args["limit"].is_number_integer() || args["limit"].get<int64_t>() < 1 || args["limit"].get<int64_t>() > 100)
      return fail("limit must be an integer 1..100");
    limit = args["limit"].get<int64_t>();
  }
  std::string box = base_url(a.imap) + *mb;
  auto found = curl.imap(box, "UID SEARCH ALL");
  if (!found) return fail(found.error().str());
  std::vector<uint64_t> uids;
  std::istringstream lines(*found);
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("* SEARCH")) continue;
    std::istringstream words(line.substr(8));
    for (uint64_t u; words >> u;) uids.push_back(u);
  }
  std::sort(uids.begin(), uids.end());
  if (uids.size() > static_cast<size_t>(limit)) uids.erase(uids.begin(), uids.end() - limit);
  Json messages = Json::array();
  for (auto it = uids.rbegin(); it != uids.rend(); ++it) {  // newest first
    auto header = curl.imap(box + "/;UID=" + std::to_string(*it) + "/;SECTION=HEADER");
    if (!header) return fail(header.error().str());
    Json m = message_summary(*header);
    m["uid"] = *it;
    messages.push_back(std::move(m));
  }
  return {false, Json{{"mailbox", args.value("mailbox", "INBOX")}, {"messages", std::move(messages)}}};
}

ToolAnswer read_message(CurlClient& curl, const policy::MailAccount& a, const Json& args) {
  auto mb = mailbox_path(args);
  if (!mb) return fail(mb.error().str());
  if (!args.contains("uid") || !args["uid"].is_number_unsigned() || args["uid"].get<uint64_t>() == 0)
    return fail("uid must be a message's uid as email.list gives it");
  uint64_t uid = args["uid"].get<uint64_t>();
  auto raw = curl.imap(base_url(a.imap) + *mb + "/;UID=" + std::to_string(uid));
  if (!raw) return fail(raw.error().str());
  if (raw->empty()) return fail("no message " + std::to_string(uid));
  Json m = message_content(*raw, kMaxText);
  m["uid"] = uid;
  return {m.contains("error"), std::move(m)};
}

ToolAnswer send_message(CurlClient& curl, const policy::MailAccount& a, const Json& args) {
  std::vector<std::string> to;
  if (args.contains("to") && args["to"].is_string()) to.push_back(args["to"].get<std::string>());
  else if (args.contains("to") && args["to"].is_array())
    for (const auto& v : args["to"]) {
      if (!v.is_string()) return fail("to must be an address or a list of them");
      to.push_back(v.get<std::string>());
    }
  if (to.empty() || to.size() > kMaxRecipients) return fail("to must name 1.." + std::to_string(kMaxRecipients) + " recipients");
  for (const auto& r : to)
    if (!is_mail_address(r)) return fail("recipient \"" + r.substr(0, 100) + "\" is not one bare address, local@domain");
  auto text = [&](const char* k) { return args.contains(k) && args[k].is_string() ? args[k].get<std::string>() : ""; };
  std::string subject = text("subject"), body = text("body");
  if (subject.size() > 998) return fail("subject is longer than 998 bytes");
  if (body.size() > 1 << 20) return fail("body is longer than 1 MiB");
  if (body.find('\0') != std::string::npos) return fail("body must be text");
  std::string message_id;
  auto message = compose_message(a.from, to, subject, body, &message_id);
  if (!message) return fail(message.error().str());
  if (auto s = curl.smtp_send(a.smtp, a.from, to, *message); !s) return fail(s.error().str());
  return {false, Json{{"sent", true}, {"message_id", message_id}, {"from", a.from}, {"to", to}}};
}

}  // namespace

ToolAnswer email_tool(CurlClient& curl, const policy::MailAccount& account, const std::string& tool, const Json& args) {
  if (tool == "email.list") return list_messages(curl, account, args);
  if (tool == "email.read") return read_message(curl, account, args);
  if (tool == "email.send") return send_message(curl, account, args);
  return fail("no tool " + tool);
}

}  // namespace agentos::toolhost
