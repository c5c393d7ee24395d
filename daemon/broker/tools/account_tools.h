// The tools that reach the user's own accounts: calendar.* (CalDAV) and email.* (IMAP, SMTP),
// with the servers named in the agent's [tools.calendar] / [tools.email] and the password one of
// the owner's secrets. Each call runs in its own agentos-toolhost process, started as an
// unprivileged helper; the daemon hands it the request and a read-only descriptor of the secret
// and never reads the secret itself. The agent sees the answer, never the account.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "broker/tool.h"
#include "common/event_loop.h"
#include "common/result.h"
#include "common/unique_fd.h"
#include "policy/policy.h"

namespace agentos::broker {

class AccountTools : public Provider {
 public:
  static constexpr std::chrono::seconds kTimeout{30};
  static constexpr size_t kMaxAnswer = 4 << 20;
  static constexpr size_t kMaxRunning = 32;  // tool hosts at once, for every agent together

  struct Deps {
    std::function<std::optional<policy::Tools>(const std::string& agent_id)> tools_of;
    std::function<Result<UniqueFd>(uid_t owner, const std::string& secret)> open_secret;
    // Starts the tool host with these as its stdin, stdout and descriptor 3; its pidfd.
    std::function<Result<UniqueFd>(int in, int out, int secret)> spawn;
  };

  AccountTools(EventLoop& loop, Deps deps) : loop_(loop), deps_(std::move(deps)) {}
  ~AccountTools() override;
  [[nodiscard]] std::vector<ToolSpec> tools() const override;
  [[nodiscard]] ToolResult call(const Caller&, const std::string&, const Json&) override;
  void call_async(const Caller& who, const std::string& tool, const Json& args, Done done) override;

 private:
  using Clock = std::chrono::steady_clock;
  struct Run {
    UniqueFd out, pidfd;
    std::string answer;
    Done done;
    EventLoop::Watch out_watch, exit_watch;
    EventLoop::Timer deadline;  // kTimeout
    bool reaped = false;
  };
  void on_output(int fd);
  void on_exit(int fd);
  void finish(int fd, ToolResult r);

  EventLoop& loop_;
  Deps deps_;
  std::map<int, Run> runs_;  // by the output pipe's descriptor
};

// The tool host's answer line as the tool's result.
[[nodiscard]] ToolResult parse_answer(const std::string& text);

}  // namespace agentos::broker
