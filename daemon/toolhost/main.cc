// agentos-toolhost: carries out one call of a tool that needs the user's account (calendar.*,
// email.*), for the broker, and exits. The daemon starts it as an unprivileged dynamic user under
// seccomp and Landlock (read-only system trees), with the request on stdin, the account's
// password on descriptor 3 (so the daemon never reads it), and reads the answer on stdout:
//   in:  {"tool": "calendar.read", "arguments": {...}, "calendar": {url, user} | "email": {...}}
//   out: {"error": false, "value": {...}}
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>

#include "common/bounded_json.h"
#include "toolhost/caldav.h"
#include "toolhost/mail.h"
#include "toolhost/mime.h"

namespace agentos::toolhost {
namespace {

constexpr size_t kMaxRequest = 4 << 20;

int answer(const ToolAnswer& a) {
  std::cout << Json{{"error", a.error}, {"value", a.value}}.dump(-1, ' ', false, Json::error_handler_t::replace) << '\n';
  return 0;
}

int refuse(const std::string& why) { return answer({true, Json{{"error", why}}}); }

Result<std::string> read_password() {
  std::string value(64 * 1024 + 1, '\0');
  ssize_t n = ::pread(3, value.data(), value.size(), 0);
  ::close(3);
  if (n <= 0 || static_cast<size_t>(n) > 64 * 1024) return error("the account's secret is empty or unreadable");
  value.resize(static_cast<size_t>(n));
  if (value.find_first_of(std::string("\r\n\0", 3)) != std::string::npos) return error("the account's secret holds a line break");
  return value;
}

std::string field(const Json& j, const char* k) { return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : ""; }

int run() {
  std::string input;
  char buf[65536];
  for (ssize_t n; (n = ::read(0, buf, sizeof buf)) > 0;) {
    input.append(buf, static_cast<size_t>(n));
    if (input.size() > kMaxRequest) return refuse("request too large");
  }
  auto parsed = agentos::parse_json(input, {agentos::kJsonDepth + agentos::kJsonEnvelope, input.size()});
  if (!parsed || !parsed->is_object()) return refuse("malformed request");
  Json req = std::move(*parsed);
  std::string tool = field(req, "tool");
  Json args = req.contains("arguments") && req["arguments"].is_object() ? req["arguments"] : Json::object();
  auto password = read_password();
  if (!password) return refuse(password.error().str());
  if (tool.starts_with("calendar.") && req.contains("calendar")) {
    const Json& acc = req["calendar"];
    CurlClient curl(field(acc, "user"), std::move(*password));
    return answer(calendar_tool(curl, field(acc, "url"), tool, args));
  }
  if (tool.starts_with("email.") && req.contains("email")) {
    const Json& acc = req["email"];
    policy::MailAccount a{field(acc, "imap"), field(acc, "smtp"), field(acc, "user"), "", field(acc, "from")};
    CurlClient curl(a.user, std::move(*password));
    mime_init();
    return answer(email_tool(curl, a, tool, args));
  }
  return refuse("no account for " + tool);
}

}  // namespace
}  // namespace agentos::toolhost

#if defined(__SANITIZE_ADDRESS__)
// A sanitizer build (the tests' ASan pass): LeakSanitizer's scan at exit stops the process with
// ptrace, which the helper's seccomp filter refuses, and a helper gets no ASAN_OPTIONS.
extern "C" const char* __asan_default_options() { return "detect_leaks=0"; }
#endif

int main() {
  // Another process of this dynamic user must not read the password from this one's memory.
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  return agentos::toolhost::run();
}
