// The broker end to end within one process: a real listener, MCP lines over a real connection,
// the kv provider on a temporary directory. Quotas refuse past their rate and count what they
// refused; a call that asks waits for its owner and runs only once approved.
#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <fstream>

#include "broker/broker.h"
#include "broker/test_util.h"
#include "broker/tools/kv_store.h"
#include "common/listeners.h"

namespace agentos::broker {
namespace {

// This process's cgroup, as the broker checks a message's sender against its agent's.
std::string own_cgroup() {
  std::ifstream in("/proc/self/cgroup");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("0::")) return line.substr(3);
  return "";
}

class BrokerCalls : public TestDir {
 protected:
  void start(std::string_view tools_toml) {
    auto l = EventLoop::create();
    ASSERT_TRUE(l.ok());
    loop_.emplace(std::move(*l));
    listeners_.emplace(*loop_, [](const Error&) {});
    std::vector<std::unique_ptr<Provider>> providers;
    providers.push_back(std::make_unique<KvStore>((dir / "kv").string()));
    Hooks hooks;
    hooks.pending = [this](const PendingCall& call) {
      pending_.push_back(call);
      poke();
    };
    hooks.audit = [this](const Caller&, const std::string&, v1::Decision decision) { decisions_.push_back(decision); };
    broker_.emplace(*loop_, *listeners_, std::move(providers), std::move(hooks));

    std::string path = (dir / "broker.sock").string();
    UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof addr.sun_path - 1);
    ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(listener.get(), 8), 0);
    broker_->attach({{"a1", "agent", ::getuid(), ::getuid()}, own_cgroup(), tools_of(tools_toml)}, std::move(listener));
    client_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_EQ(::connect(client_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  }

  void send_call(int id, const std::string& tool, const std::string& arguments) {
    std::string line = R"({"jsonrpc":"2.0","id":)" + std::to_string(id) + R"(,"method":"tools/call","params":{"name":")" +
                       tool + R"(","arguments":)" + arguments + "}}\n";
    ASSERT_EQ(::send(client_.get(), line.data(), line.size(), MSG_NOSIGNAL), static_cast<ssize_t>(line.size()));
  }

  // Runs the loop until `done` holds (checked as answers and pending calls arrive) or 10 s pass.
  bool run_until(std::function<bool()> done) {
    done_ = std::move(done);
    auto w = loop_->watch(client_.get(), EPOLLIN, [this](uint32_t) {
      char buf[4096];
      ssize_t n = ::recv(client_.get(), buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) in_.append(buf, static_cast<size_t>(n));
      if (n == 0) loop_->stop();
      poke();
    });
    EXPECT_TRUE(w.ok());
    bool timed_out = false;
    auto deadline = loop_->after(std::chrono::seconds(10), [&] {
      timed_out = true;
      loop_->stop();
    });
    if (!done_()) {
      EXPECT_TRUE(loop_->run().ok());
    }
    return !timed_out && done_();
  }
  void poke() {
    if (done_ && done_()) loop_->stop();
  }

  // The answers read so far, one per line.
  std::vector<Json> answers() const {
    std::vector<Json> out;
    size_t at = 0;
    for (size_t nl; (nl = in_.find('\n', at)) != std::string::npos; at = nl + 1) out.push_back(Json::parse(in_.substr(at, nl - at)));
    return out;
  }
  static bool is_error(const Json& answer) { return !answer.contains("result") || answer["result"].value("isError", false); }
  static std::string text(const Json& answer) { return answer.contains("result") ? answer["result"]["content"][0].value("text", "") : ""; }

  std::optional<EventLoop> loop_;
  std::optional<Listeners> listeners_;
  std::optional<Broker> broker_;
  UniqueFd client_;
  std::string in_;
  std::vector<PendingCall> pending_;
  std::vector<v1::Decision> decisions_;
  std::function<bool()> done_;
};

TEST_F(BrokerCalls, ARateAMinuteRefusesPastItAndCountsWhatItRefused) {
  start("[tools]\nallow = [\"kv\"]\ncalls_per_minute = 2\n");
  for (int id = 1; id <= 3; ++id) send_call(id, "kv.set", R"({"key":"k","value":"v"})");
  ASSERT_TRUE(run_until([&] { return answers().size() == 3; })) << in_;
  auto a = answers();
  EXPECT_FALSE(is_error(a[0])) << a[0];  // within the rate: run
  EXPECT_FALSE(is_error(a[1])) << a[1];
  // Refused before any tool runs: a JSON-RPC error, "busy", for the agent to try again later.
  ASSERT_TRUE(a[2].contains("error")) << a[2];
  EXPECT_EQ(a[2]["error"]["code"], -32000);
  EXPECT_NE(a[2]["error"].value("message", "").find("over the limit of 2 calls a minute"), std::string::npos) << a[2];
  auto q = broker_->quota("a1");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->calls, 2u);
  EXPECT_EQ(q->refused, 1u);
  EXPECT_LT(q->rate.saved(), 1.0);  // none left until it refills
}

TEST_F(BrokerCalls, AnAskedCallWaitsForItsOwnerAndRunsOnlyOnceApproved) {
  start("[tools]\nallow = [\"kv.get\"]\nask = [\"kv.set\"]\n");
  send_call(1, "kv.set", R"({"key":"k","value":"approved"})");
  ASSERT_TRUE(run_until([&] { return pending_.size() == 1; }));
  EXPECT_TRUE(answers().empty());  // no answer while it waits
  EXPECT_EQ(pending_[0].tool, "kv.set");
  EXPECT_EQ(pending_[0].agent_id, "a1");
  ASSERT_EQ(broker_->pending().size(), 1u);

  ASSERT_TRUE(broker_->answer(pending_[0].id, true, Scope::kOnce, ::getuid()).ok());
  ASSERT_TRUE(run_until([&] { return answers().size() == 1; }));
  EXPECT_FALSE(is_error(answers()[0])) << answers()[0];
  EXPECT_TRUE(broker_->pending().empty());

  // Once is once: the next call asks again, and a denial never runs it.
  send_call(2, "kv.set", R"({"key":"k","value":"denied"})");
  ASSERT_TRUE(run_until([&] { return pending_.size() == 2; }));
  ASSERT_TRUE(broker_->answer(pending_[1].id, false, Scope::kOnce, ::getuid()).ok());
  ASSERT_TRUE(run_until([&] { return answers().size() == 2; }));
  ASSERT_TRUE(is_error(answers()[1]));
  EXPECT_NE(text(answers()[1]).find("denied"), std::string::npos) << answers()[1];
  EXPECT_FALSE(broker_->answer(pending_[1].id, true, Scope::kOnce, ::getuid()).ok());  // answered already

  // What the store holds is the approved value: the denied call did not run.
  send_call(3, "kv.get", R"({"key":"k"})");
  ASSERT_TRUE(run_until([&] { return answers().size() == 3; }));
  EXPECT_NE(text(answers()[2]).find("approved"), std::string::npos) << answers()[2];
}

}  // namespace
}  // namespace agentos::broker
