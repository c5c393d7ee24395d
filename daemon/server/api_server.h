// The API socket: one request per connection, answered by one response or, for run --attach,
// logs and stop, a stream that ends when the agent does. Callers are known only by the
// credentials the kernel reports for the connection.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agentos.pb.h"
#include "broker/broker.h"
#include "common/framing.h"
#include "common/listeners.h"
#include "common/unique_fd.h"
#include "sandbox/layer_probe.h"
#include "server/agent_manager.h"
#include "server/audit.h"
#include "common/event_loop.h"
#include "server/identity.h"
#include "server/policy_store.h"
#include "server/secret_store.h"

namespace agentos {

// The final response that reports a failure (one line, plus a policy's diagnostics).
[[nodiscard]] v1::Response error_response(v1::Error::Code code, const std::string& message,
                                          const std::vector<std::string>& diagnostics = {});

// The API's status for a failure, from the kind its maker gave it.
[[nodiscard]] v1::Error::Code api_code(const Error& e);

void fill_pending(const broker::PendingCall& call, v1::PendingCall* out);

// Connections to the API (agentosd options). Followers (audit -f, logs -f, pending -f) hold
// theirs for as long as they follow, so without a cap per user any local user could take them
// all; the last few are kept for root and the admin group, so no user can lock those out.
struct ApiLimits {
  size_t connections = 1024;  // all together (--api-connections)
  size_t per_uid = 64;  // one user's, unless root or an admin (--api-connections-per-uid)
  size_t admin_reserve = 64;  // of `connections`, only for root and admins (--api-admin-reserve)
};

class ApiServer : public AgentObserver {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kRequestDeadline{10};

  // `agents_cgroup`: the cgroup every agent's lies beneath ("/agentos/agents/").
  ApiServer(EventLoop& loop, Listeners& listeners, AgentManager& agents, PolicyStore& policies, SecretStore& secrets,
            broker::Broker& broker, const sandbox::ProbeResult& probe, gid_t admin_gid, AuditLog& audit,
            std::string agents_cgroup, ApiLimits limits = {})
      : loop_(loop), listeners_(listeners), agents_(agents), policies_(policies), secrets_(secrets), broker_(broker), probe_(probe),
        admin_gid_(admin_gid), audit_(audit), agents_cgroup_(std::move(agents_cgroup)), limits_(limits) {
    agents_.subscribe(*this);
  }
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;
  ~ApiServer();

  [[nodiscard]] Status serve(UniqueFd listener);
  void agent_output(const std::string& id);  // its log grew
  // Agents' ends and console output, to the clients that follow or hold them.
  void exited(const AgentRecord& r) override;
  void console_output(const std::string& id, sandbox::ConsoleKind kind, std::string_view data) override;
  void console_drained(const std::string& id) override;  // a paused client's input can go on
  void audit_event(const v1::AuditEvent& e);  // to the clients following the audit trail
  void pending_event(const broker::PendingCall& call);  // to the clients following pending calls

 private:
  struct Stream {
    std::string agent_id;
    UniqueFd log;  // streamed from `offset` when valid
    off_t offset = 0;
    bool until_exit = false;  // otherwise ends at the log's current end
    bool stop_reply = false;  // end with StopReply rather than AgentExit
  };
  struct AuditFollow {
    std::string agent;  // id or name, or empty for all the caller may see
  };
  struct Conn {
    UniqueFd fd;
    Peer peer;
    FrameDecoder in;
    std::string out;
    bool got_request = false;
    UniqueFd passed;  // a descriptor sent with the request (a secret's memfd)
    bool closing = false;  // close once `out` drains
    bool dead = false;  // closed: unregistered, destroyed by reap() once the handler returns
    std::optional<Stream> stream;
    std::optional<AuditFollow> audit;
    bool pending = false;  // following calls that wait for consent
    std::string refused;  // why its request will be refused, whatever it is (set at accept)
    // The agent whose console this connection holds (run with attach, attach): its output comes
    // here, and ConsoleInput frames go to it. The client going away without detaching stops it.
    std::string console;
    bool detached = false;
    bool input_paused = false;  // its console input waits for the agent to take what is queued
    bool holding_output = false;  // its console's output waits for it to take what it has
    EventLoop::Watch watch;  // on fd, until closed
    EventLoop::Timer deadline;  // until the request is read
  };

  void accepted(UniqueFd fd);
  // Why the peer may not have another connection, or nothing.
  [[nodiscard]] std::optional<std::string> over_limit(const Peer& p);
  // Why a request from this peer is refused whatever it asks (it runs inside an agent), or "".
  [[nodiscard]] std::string refuse_agent(int fd, const Peer& peer);
  void on_event(int fd, uint32_t events);
  void read_request(Conn& c);
  void console_frames(Conn& c);  // the ConsoleInput frames received, while the agent keeps up
  void set_interest(Conn& c);
  void let_go(Conn& c);
  void dispatch(Conn& c, const v1::Request& req);
  void send(Conn& c, const v1::Response& r);
  void flush(Conn& c);
  void pump(Conn& c);
  // Unregisters and marks the connection dead; reap() destroys it. A handler deep in a call chain
  // (send -> flush -> close) must not free the Conn its callers still hold.
  void close(int fd);
  void reap();

  // Handlers fill `resp`, or start a stream on `c`.
  void do_status(const Peer& p, v1::Response& resp);
  void do_policy_list(v1::Response& resp);
  void do_policy_apply(const Peer& p, const v1::PolicyApplyRequest& req, v1::Response& resp);
  void do_run(Conn& c, const v1::RunRequest& req, v1::Response& resp);
  void do_attach(Conn& c, const v1::AttachRequest& req, v1::Response& resp);
  void take_console(Conn& c, const std::string& id);
  void console_input(Conn& c, const v1::ConsoleInput& in);
  void do_ps(const Peer& p, const v1::PsRequest& req, v1::Response& resp);
  void do_stop(Conn& c, const v1::StopRequest& req, v1::Response& resp);
  void do_remove(const Peer& p, const v1::RemoveRequest& req, v1::Response& resp);
  void do_logs(Conn& c, const v1::LogsRequest& req, v1::Response& resp);
  void do_inspect(const Peer& p, const v1::InspectRequest& req, v1::Response& resp);
  void do_audit(Conn& c, const v1::AuditRequest& req, v1::Response& resp);
  void do_secret_set(const Peer& p, const v1::SecretSetRequest& req, int value_fd, v1::Response& resp);
  void do_secret_list(const Peer& p, v1::Response& resp);
  void do_secret_remove(const Peer& p, const v1::SecretRemoveRequest& req, v1::Response& resp);
  void do_pending(Conn& c, const v1::PendingRequest& req, v1::Response& resp);
  void do_answer(const Peer& p, const v1::AnswerRequest& req, v1::Response& resp);
  void do_revoke(const Peer& p, const v1::RevokeRequest& req, v1::Response& resp);
  [[nodiscard]] bool may_answer(const Peer& p, const broker::PendingCall& call) const;
  [[nodiscard]] bool audit_visible(const Peer& p, const std::string& agent, const v1::AuditEvent& e) const;

  // The agent `key` (id or name) if the peer may see it; otherwise fills resp's error.
  const AgentRecord* lookup(const Peer& p, const std::string& key, v1::Response& resp) const;

  EventLoop& loop_;
  Listeners& listeners_;
  AgentManager& agents_;
  PolicyStore& policies_;
  SecretStore& secrets_;
  broker::Broker& broker_;
  const sandbox::ProbeResult& probe_;
  gid_t admin_gid_;
  AuditLog& audit_;
  std::string agents_cgroup_;
  ApiLimits limits_;
  UniqueFd listener_;
  std::map<int, std::unique_ptr<Conn>> conns_;
  size_t open_ = 0;  // connections not yet closed (conns_ also holds closed ones until reap)
  std::map<uid_t, size_t> by_uid_;  // open connections per uid
  // Each limit is logged when hit, and again only once the count fell below half of it.
  std::set<uid_t> reported_uids_;
  bool reported_full_ = false;
  std::vector<int> doomed_;
  Clock::time_point started_ = Clock::now();
};

}  // namespace agentos
