#include "server/api_server.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "common/fd_passing.h"
#include "server/agent_info.h"
#include "server/api_request.h"
#include "common/log.h"

namespace agentos {
namespace {

constexpr size_t kOutHighWater = 256 * 1024;  // stop reading logs for a slow client past this
// Console input queued for a monitor past which the client's next input waits.
constexpr size_t kConsoleInHighWater = 256 * 1024;
constexpr size_t kLogChunk = 64 * 1024;

}  // namespace

v1::Response error_response(v1::Error::Code code, const std::string& message,
                            const std::vector<std::string>& diagnostics) {
  v1::Response r;
  r.set_final(true);
  r.mutable_error()->set_code(code);
  r.mutable_error()->set_message(message);
  for (const auto& d : diagnostics) r.mutable_error()->add_diagnostics(d);
  return r;
}

v1::Error::Code api_code(const Error& e) {
  switch (e.kind) {
    case ErrorKind::kInvalid: return v1::Error::CODE_INVALID_ARGUMENT;
    case ErrorKind::kNotFound: return v1::Error::CODE_NOT_FOUND;
    case ErrorKind::kExists: return v1::Error::CODE_ALREADY_EXISTS;
    case ErrorKind::kCannotConfine: return v1::Error::CODE_FAILED_PRECONDITION;
    case ErrorKind::kInternal: break;
  }
  return v1::Error::CODE_INTERNAL;
}

Status ApiServer::serve(UniqueFd listener) {
  listener_ = std::move(listener);
  return listeners_.add(listener_.get(), [this](UniqueFd fd) { accepted(std::move(fd)); });
}

ApiServer::~ApiServer() {
  if (listener_.valid()) listeners_.remove(listener_.get());
}

void ApiServer::accepted(UniqueFd fd) {
  auto peer = peer_of(fd.get(), admin_gid_);
  std::string agent_refusal = peer ? refuse_agent(fd.get(), *peer) : "";
  if (!agent_refusal.empty()) peer->admin = false;  // an admin's agent is no admin, for the reserve either
  std::optional<std::string> refused = peer ? over_limit(*peer) : std::optional<std::string>(peer.error().str());
  if (refused) {
    // Best effort: a full daemon says so rather than hanging the client.
    std::string msg = encode_frame(
        error_response(peer ? v1::Error::CODE_RESOURCE_EXHAUSTED : v1::Error::CODE_INTERNAL, *refused).SerializeAsString());
    (void)!::send(fd.get(), msg.data(), msg.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    return;
  }
  int raw = fd.get();
  auto c = std::make_unique<Conn>();
  c->fd = std::move(fd);
  c->peer = std::move(*peer);
  c->refused = std::move(agent_refusal);
  auto watch = loop_.watch(raw, EPOLLIN | EPOLLRDHUP, [this, raw](uint32_t ev) { on_event(raw, ev); });
  if (!watch) return;
  c->watch = std::move(*watch);
  // A client that never finishes its request is dropped, so none can hold a connection idle.
  c->deadline = loop_.after(kRequestDeadline, [this, raw] {
    close(raw);
    reap();
  });
  ++open_;
  ++by_uid_[c->peer.uid];
  conns_.emplace(raw, std::move(c));
}

std::optional<std::string> ApiServer::over_limit(const Peer& p) {
  std::string why;
  auto mine = by_uid_.find(p.uid);
  size_t held = mine == by_uid_.end() ? 0 : mine->second;
  if (p.admin ? open_ < limits_.connections : held < limits_.per_uid && open_ + limits_.admin_reserve < limits_.connections)
    return std::nullopt;
  if (!p.admin && held >= limits_.per_uid) {
    why = "too many connections: uid " + std::to_string(p.uid) + " holds " + std::to_string(held) +
          ", its limit (--api-connections-per-uid)";
    if (!reported_uids_.insert(p.uid).second) return why;
  } else {
    why = "too many connections: the daemon holds " + std::to_string(open_) +
          (p.admin ? ", its limit (--api-connections)"
                   : "; the last " + std::to_string(limits_.admin_reserve) + " of " + std::to_string(limits_.connections) +
                         " are kept for root and the admin group (--api-admin-reserve)");
    if (std::exchange(reported_full_, true)) return why;
  }
  audit_.limit("", "", p.uid, "API: " + why, v1::AUDIT_LAYER_API);
  return why;
}

// An agent runs as its owner, with the owner's groups: by credentials alone it would have its
// owner's rights here (an admin's, for an admin's agent). Agents reach the platform through the
// broker; a request from inside one, or from a caller whose cgroup cannot be known, is refused.
std::string ApiServer::refuse_agent(int fd, const Peer& peer) {
  auto cgroup = peer_cgroup(fd, peer.pid);
  if (cgroup && !cgroup->starts_with(agents_cgroup_)) return "";
  std::string why = cgroup ? "requests from inside an agent are refused: agents reach the platform through the broker"
                           : "cannot tell where the caller runs: " + cgroup.error().str();
  if (cgroup) {
    std::string id = cgroup->substr(agents_cgroup_.size());
    id = id.substr(0, id.find('/'));
    const AgentRecord* r = agents_.find(id);
    audit_.deny(id, r ? r->name : "", r ? r->owner_uid : peer.uid, "API request from inside the agent (pid " +
                std::to_string(peer.pid) + ")", v1::AUDIT_LAYER_API);
  }
  return why;
}

void ApiServer::on_event(int fd, uint32_t events) {
  auto it = conns_.find(fd);
  if (it == conns_.end() || it->second->dead) return;
  Conn& c = *it->second;
  if ((events & (EPOLLERR | EPOLLHUP)) || ((events & EPOLLRDHUP) && c.input_paused)) {
    close(fd);  // paused, what the client sent last has no reader before it went away
  } else {
    if (events & (EPOLLIN | EPOLLRDHUP)) read_request(c);
    if ((events & EPOLLOUT) && !c.dead) flush(c);
  }
  reap();
}

void ApiServer::read_request(Conn& c) {
  char buf[64 * 1024];
  int fds[4];
  size_t nfds = 0;
  ssize_t n = recv_with_fds(c.fd.get(), buf, sizeof buf, fds, 4, &nfds);
  // One descriptor may come with a request; any more, or any later, are closed unused.
  for (size_t i = 0; i < nfds; ++i) {
    if (!c.passed.valid() && !c.got_request) c.passed.reset(fds[i]);
    else ::close(fds[i]);
  }
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return close(c.fd.get());
  if (n < 0) return;
  // After the request, input is ignored until hangup, but for a console's: what the user types.
  if (c.got_request && c.console.empty()) return;
  c.in.feed(buf, static_cast<size_t>(n));
  if (c.got_request) return console_frames(c);
  auto req = next_request(c.in);
  if (req && !*req) return;  // need more bytes
  c.got_request = true;
  c.deadline.reset();
  if (!req) return send(c, error_response(v1::Error::CODE_INVALID_ARGUMENT, req.error().str()));
  dispatch(c, **req);
}

void ApiServer::console_frames(Conn& c) {
  for (;;) {
    if (agents_.console_backlog(c.console) >= kConsoleInHighWater) {
      c.input_paused = true;  // until console_drained
      return set_interest(c);
    }
    auto more = c.in.next();
    // A frame too large to be one ends the connection: its bytes could never be taken out of the
    // buffer, and all that follows would pile up behind them. (The agent stops, as when any
    // attached client goes away.) A frame that is no request is only dropped.
    if (!more) {
      log::warning("console client of agent " + c.console + " sent " + more.error().str() + "; closing it");
      return close(c.fd.get());
    }
    if (!*more) return;
    v1::Request in;
    if (in.ParseFromString(**more) && in.has_input()) console_input(c, in.input());
    if (c.dead || c.console.empty()) return;
  }
}

void ApiServer::console_drained(const std::string& id) {
  for (auto& [fd, c] : conns_) {
    if (c->dead || c->console != id || !c->input_paused) continue;
    c->input_paused = false;
    set_interest(*c);
    console_frames(*c);
  }
  reap();
}

void ApiServer::set_interest(Conn& c) {
  if (c.dead) return;
  (void)c.watch.modify((c.input_paused ? 0U : EPOLLIN) | EPOLLRDHUP | (c.out.empty() ? 0U : EPOLLOUT));
}

void ApiServer::dispatch(Conn& c, const v1::Request& req) {
  v1::Response resp;
  resp.set_final(true);
  const Peer& p = c.peer;
  if (!c.refused.empty()) return send(c, error_response(v1::Error::CODE_PERMISSION_DENIED, c.refused));
  switch (req.kind_case()) {
    case v1::Request::kStatus: do_status(p, resp); break;
    case v1::Request::kPolicyList: do_policy_list(resp); break;
    case v1::Request::kPolicyApply: do_policy_apply(p, req.policy_apply(), resp); break;
    case v1::Request::kRun: do_run(c, req.run(), resp); break;
    case v1::Request::kPs: do_ps(p, req.ps(), resp); break;
    case v1::Request::kStop: do_stop(c, req.stop(), resp); break;
    case v1::Request::kRemove: do_remove(p, req.remove(), resp); break;
    case v1::Request::kLogs: do_logs(c, req.logs(), resp); break;
    case v1::Request::kInspect: do_inspect(p, req.inspect(), resp); break;
    case v1::Request::kAudit: do_audit(c, req.audit(), resp); break;
    case v1::Request::kSecretSet: do_secret_set(p, req.secret_set(), c.passed.get(), resp); break;
    case v1::Request::kSecretList: do_secret_list(p, resp); break;
    case v1::Request::kSecretRemove: do_secret_remove(p, req.secret_remove(), resp); break;
    case v1::Request::kPending: do_pending(c, req.pending(), resp); break;
    case v1::Request::kAnswer: do_answer(p, req.answer(), resp); break;
    case v1::Request::kRevoke: do_revoke(p, req.revoke(), resp); break;
    case v1::Request::kAttach: do_attach(c, req.attach(), resp); break;
    case v1::Request::kInput: resp = error_response(v1::Error::CODE_INVALID_ARGUMENT, "input needs an attached run first"); break;
    case v1::Request::KIND_NOT_SET: resp = error_response(v1::Error::CODE_INVALID_ARGUMENT, "empty request"); break;
  }
  if (resp.has_error() && resp.error().code() == v1::Error::CODE_PERMISSION_DENIED)
    audit_.deny("", "", p.uid, "request refused: " + resp.error().message(), v1::AUDIT_LAYER_API);
  if (resp.has_error() || resp.kind_case() != v1::Response::KIND_NOT_SET) send(c, resp);
  if (!c.dead && c.stream) pump(c);
}

void ApiServer::send(Conn& c, const v1::Response& r) {
  if (c.dead) return;
  std::string payload = r.SerializeAsString();
  if (payload.size() > kMaxFrame) payload = error_response(v1::Error::CODE_INTERNAL, "response too large").SerializeAsString();
  c.out += encode_frame(payload);
  if (r.final()) {
    c.closing = true;
    c.stream.reset();
  }
  flush(c);
}

void ApiServer::flush(Conn& c) {
  if (c.dead) return;
  int fd = c.fd.get();
  while (!c.out.empty()) {
    ssize_t w = ::send(fd, c.out.data(), c.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) break;
    if (w < 0) return close(fd);
    c.out.erase(0, static_cast<size_t>(w));
  }
  set_interest(c);
  if (c.holding_output && c.out.size() < kOutHighWater / 2) {
    c.holding_output = false;
    agents_.console_hold(c.console, false);
  }
  if (!c.out.empty()) return;
  if (c.closing) return close(fd);
  if (c.stream) pump(c);
}

void ApiServer::pump(Conn& c) {
  if (c.dead || !c.stream || c.out.size() >= kOutHighWater) return;
  Stream& s = *c.stream;
  if (s.log.valid()) {
    std::string buf(kLogChunk, '\0');
    for (;;) {
      // The log cap punches out what is older than the agent's last output (AgentManager::log_grew):
      // skip the hole and say so, rather than stream zeros.
      if (off_t data = ::lseek(s.log.get(), s.offset, SEEK_DATA); data > s.offset) {
        v1::Response note;
        note.mutable_log()->set_data("[agentos: " + std::to_string(data - s.offset) +
                                     " bytes of older output were dropped (agentosd --agent-log-max)]\n");
        s.offset = data;
        send(c, note);
        if (c.dead || !c.stream) return;
      }
      ssize_t n = ::pread(s.log.get(), buf.data(), buf.size(), s.offset);
      if (n <= 0) break;
      s.offset += n;
      v1::Response chunk;
      chunk.mutable_log()->set_data(buf.data(), static_cast<size_t>(n));
      send(c, chunk);  // may flush and re-enter pump; the offset is already advanced
      if (c.dead || !c.stream || c.out.size() >= kOutHighWater) return;
    }
  }
  const AgentRecord* r = agents_.find(s.agent_id);
  bool running = r && r->state == AgentState::kRunning;
  v1::Response end;
  end.set_final(true);
  if (!s.until_exit) {
    end.mutable_log();
  } else if (running) {
    return;  // more output or the exit will wake us
  } else if (s.stop_reply) {
    if (r) fill_agent_info(*r, end.mutable_stop()->mutable_agent());
  } else {
    auto* e = end.mutable_exit();
    e->set_id(s.agent_id);
    if (r) {
      e->set_exit_code(r->exit_code);
      e->set_signal(r->signal);
      e->set_reason(r->reason);
      e->set_ended(r->ended);
    }
  }
  send(c, end);
}

void ApiServer::agent_output(const std::string& id) {
  std::vector<int> fds;
  for (auto& [fd, c] : conns_)
    if (c->stream && c->stream->agent_id == id) fds.push_back(fd);
  for (int fd : fds)
    if (auto it = conns_.find(fd); it != conns_.end()) pump(*it->second);
  reap();
}

void ApiServer::exited(const AgentRecord& r) { agent_output(r.id); }

void ApiServer::console_output(const std::string& id, sandbox::ConsoleKind kind, std::string_view data) {
  for (auto& [fd, c] : conns_) {
    if (c->dead || c->console != id) continue;
    v1::Response r;
    auto* chunk = r.mutable_log();
    chunk->set_data(data.data(), data.size());
    chunk->set_stream(kind == sandbox::ConsoleKind::kStdout   ? v1::LogChunk::STREAM_STDOUT
                      : kind == sandbox::ConsoleKind::kStderr ? v1::LogChunk::STREAM_STDERR
                                                              : v1::LogChunk::STREAM_OUTPUT);
    send(*c, r);
    if (!c->dead && !c->holding_output && c->out.size() >= kOutHighWater) {
      c->holding_output = true;  // until flush has sent most of it
      agents_.console_hold(id, true);
    }
  }
  reap();
}

void ApiServer::audit_event(const v1::AuditEvent& e) {
  std::vector<int> fds;
  for (auto& [fd, c] : conns_)
    if (c->audit && audit_visible(c->peer, c->audit->agent, e)) fds.push_back(fd);
  for (int fd : fds) {
    auto it = conns_.find(fd);
    if (it == conns_.end()) continue;
    v1::Response r;
    *r.mutable_audit() = e;
    send(*it->second, r);
  }
  reap();
}

void ApiServer::pending_event(const broker::PendingCall& call) {
  std::vector<int> fds;
  for (auto& [fd, c] : conns_)
    if (c->pending && may_answer(c->peer, call)) fds.push_back(fd);
  for (int fd : fds) {
    auto it = conns_.find(fd);
    if (it == conns_.end()) continue;
    v1::Response r;
    fill_pending(call, r.mutable_pending()->add_calls());
    send(*it->second, r);
  }
  reap();
}

void ApiServer::close(int fd) {
  auto it = conns_.find(fd);
  if (it == conns_.end() || it->second->dead) return;
  it->second->watch.reset();
  it->second->deadline.reset();
  // An attached client gone without detaching (agentctl killed, its terminal closed): the agent
  // it ran ends too, as a program does when its terminal goes (--detach, or detaching, keeps it).
  if (Conn& c = *it->second; c.holding_output) agents_.console_hold(c.console, false);
  if (Conn& c = *it->second; !c.console.empty() && !c.detached) {
    const AgentRecord* r = agents_.find(c.console);
    if (r && r->state == AgentState::kRunning) {
      log::info("agent " + r->name + ": its attached client went away; stopping it", {{"AGENT_ID", r->id}});
      audit_.event(r->id, r->name, r->owner_uid, "stop: the attached client went away", v1::AUDIT_LAYER_API, v1::DECISION_ALLOW);
      (void)agents_.stop(r->id);
    }
  }
  uid_t uid = it->second->peer.uid;
  if (auto n = by_uid_.find(uid); n != by_uid_.end() && --n->second == 0) by_uid_.erase(n);
  --open_;
  if (!by_uid_.contains(uid) || by_uid_[uid] < limits_.per_uid / 2) reported_uids_.erase(uid);
  if (open_ < (limits_.connections - limits_.admin_reserve) / 2) reported_full_ = false;
  it->second->dead = true;
  it->second->stream.reset();
  it->second->audit.reset();
  doomed_.push_back(fd);
}

void ApiServer::reap() {
  for (int fd : doomed_) conns_.erase(fd);  // closes the socket
  doomed_.clear();
}

}  // namespace agentos
