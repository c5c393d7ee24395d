#include "broker/tools/account_tools.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace agentos::broker {
namespace {

Json object(std::initializer_list<std::pair<const char*, Json>> props, std::vector<std::string> required) {
  Json p = Json::object();
  for (auto& [k, v] : props) p[k] = v;
  return {{"type", "object"}, {"properties", p}, {"required", required}};
}

const Json kString{{"type", "string"}};
const ArgRules kInbox{{"mailbox", {ArgKind::kText, "INBOX"}}};  // the tool host's default, made visible
const Json kTime{{"type", "string"}, {"description", "2026-12-01T10:00:00Z (UTC) or 2026-12-01 (a whole day)"}};

}  // namespace

AccountTools::~AccountTools() {
  for (auto& [fd, r] : runs_) {
    if (r.reaped) continue;
    ::syscall(SYS_pidfd_send_signal, r.pidfd.get(), SIGKILL, nullptr, 0);
    siginfo_t si;
    ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(r.pidfd.get()), &si, WEXITED);
  }
}

std::vector<ToolSpec> AccountTools::tools() const {
  return {
      {"calendar.read", "List the events of the user's calendar, optionally those overlapping [from, to)",
       object({{"from", kTime}, {"to", kTime}}, {})},
      {"calendar.create", "Add an event to the user's calendar; answers its id",
       object({{"summary", kString}, {"start", kTime}, {"end", kTime}, {"location", kString}, {"description", kString}},
              {"summary", "start", "end"})},
      {"calendar.delete", "Remove an event from the user's calendar, by the id calendar.read gave",
       object({{"id", kString}}, {"id"})},
      {"email.list", "The newest messages of a mailbox (default INBOX): uid, from, to, subject, date",
       object({{"mailbox", kString}, {"limit", {{"type", "integer"}, {"minimum", 1}, {"maximum", 100}}}}, {}), kInbox},
      {"email.read", "One message: its sender, recipients, subject, date, text and attachments' names",
       object({{"uid", {{"type", "integer"}, {"minimum", 1}}}, {"mailbox", kString}}, {"uid"}), kInbox},
      {"email.send", "Send a text message from the user's address; `to` holds every recipient, each a bare address",
       object({{"to", {{"oneOf", Json::array({kString, {{"type", "array"}, {"items", kString}}})}}},
               {"subject", kString},
               {"body", kString}},
              {"to", "subject", "body"}),
       {{"to", {ArgKind::kRecipients, std::nullopt}}}},
  };
}

ToolResult AccountTools::call(const Caller&, const std::string&, const Json&) {
  return tool_error("account tools answer later");
}

void AccountTools::call_async(const Caller& who, const std::string& tool, const Json& args, Done done) {
  bool calendar = tool.starts_with("calendar.");
  std::optional<policy::Tools> t = deps_.tools_of(who.agent_id);
  Json request{{"tool", tool}, {"arguments", args}};
  std::string secret;
  if (calendar && t && t->calendar) {
    request["calendar"] = {{"url", t->calendar->url}, {"user", t->calendar->user}};
    secret = t->calendar->secret;
  } else if (!calendar && t && t->email) {
    const auto& e = *t->email;
    request["email"] = {{"imap", e.imap}, {"smtp", e.smtp}, {"user", e.user}, {"from", e.from}};
    secret = e.secret;
  } else {
    return done(tool_error(std::string("the agent's policy names no account for it ([tools.") +
                           (calendar ? "calendar" : "email") + "])"));
  }
  if (runs_.size() >= kMaxRunning) return done(tool_error("too many account tool calls at once; try again"));
  auto secret_fd = deps_.open_secret(who.owner, secret);
  if (!secret_fd) return done(tool_error("the account's secret \"" + secret + "\" is not set (agentctl secret set " + secret + ")"));

  // The request goes in as a sealed memfd: any size, no writing loop, nothing to block on.
  UniqueFd in(static_cast<int>(::memfd_create("agentos-tool-request", MFD_CLOEXEC | MFD_ALLOW_SEALING)));
  std::string text = request.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (!in.valid() || ::write(in.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
      ::lseek(in.get(), 0, SEEK_SET) != 0 ||
      ::fcntl(in.get(), F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) != 0)
    return done(tool_error("cannot pass the request to the tool host"));
  int p[2];
  if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) return done(tool_error("cannot start the tool host"));
  UniqueFd out(p[0]), child_out(p[1]);
  auto pidfd = deps_.spawn(in.get(), child_out.get(), secret_fd->get());
  if (!pidfd) return done(tool_error("cannot start the tool host: " + pidfd.error().str()));
  child_out.reset();  // EOF once the tool host is gone

  int fd = out.get();
  int pfd = pidfd->get();
  Run& run = runs_.emplace(fd, Run{std::move(out), std::move(*pidfd), "", std::move(done)}).first->second;
  run.deadline = loop_.after(kTimeout, [this, fd] {
    finish(fd, tool_error("no answer within " + std::to_string(kTimeout.count()) + " s"));
  });
  auto out_watch = loop_.watch(fd, EPOLLIN, [this, fd](uint32_t) { on_output(fd); });
  auto exit_watch = loop_.watch(pfd, EPOLLIN, [this, fd](uint32_t) { on_exit(fd); });
  if (!out_watch || !exit_watch) return finish(fd, tool_error("cannot watch the tool host"));
  run.out_watch = std::move(*out_watch);
  run.exit_watch = std::move(*exit_watch);
}

void AccountTools::on_output(int fd) {
  auto it = runs_.find(fd);
  if (it == runs_.end()) return;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      it->second.answer.append(buf, static_cast<size_t>(n));
      if (it->second.answer.size() > kMaxAnswer) return finish(fd, tool_error("the tool's answer is larger than 4 MiB"));
      continue;
    }
    if (n == 0) (void)it->second.out_watch.modify(0);  // EOF: wait for the exit, which follows
    return;
  }
}

void AccountTools::on_exit(int fd) {
  on_output(fd);  // what it wrote before it went
  auto it = runs_.find(fd);
  if (it == runs_.end()) return;
  siginfo_t si{};
  ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(it->second.pidfd.get()), &si, WEXITED);
  it->second.reaped = true;
  if (si.si_code == CLD_EXITED && si.si_status == 0) return finish(fd, parse_answer(it->second.answer));
  finish(fd, tool_error(si.si_code == CLD_EXITED ? "the tool host failed (status " + std::to_string(si.si_status) + ")"
                                                 : "the tool host was killed (signal " + std::to_string(si.si_status) + ")"));
}

void AccountTools::finish(int fd, ToolResult r) {
  auto it = runs_.find(fd);
  if (it == runs_.end()) return;
  Run run = std::move(it->second);
  runs_.erase(it);
  run.out_watch.reset();
  run.exit_watch.reset();
  run.deadline.reset();
  if (!run.reaped) {  // still running: an answer too big, or late
    ::syscall(SYS_pidfd_send_signal, run.pidfd.get(), SIGKILL, nullptr, 0);
    siginfo_t si;
    ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(run.pidfd.get()), &si, WEXITED);
  }
  run.done(std::move(r));
}

ToolResult parse_answer(const std::string& text) {
  auto parsed = parse_json(text, {kJsonDepth, text.size()});  // its size is bounded where it is read
  if (!parsed) return tool_error("the tool host's answer is malformed: " + parsed.error().message);
  Json& a = *parsed;
  if (!a.is_object() || !a.contains("error") || !a["error"].is_boolean() || !a.contains("value"))
    return tool_error("the tool host's answer is malformed");
  return {a["error"].get<bool>(), std::move(a["value"])};
}

}  // namespace agentos::broker
