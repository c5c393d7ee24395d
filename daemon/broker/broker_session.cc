// An agent's connections to the broker: accepted on its listener, every message checked to come
// from inside the agent, read as MCP lines or broker.proto frames within the buffer and time
// bounds, and answered in order.
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "broker/broker_parts.h"
#include "common/fd_passing.h"
#include "common/framing.h"

namespace agentos::broker {

using namespace detail;

void Broker::accepted(const std::string& agent_id, UniqueFd fd) {
  static uint64_t serial = 0;
  auto it = agents_.find(agent_id);
  if (it == agents_.end()) return;
  Agent& a = *it->second;
  if (a.conns.size() >= limits_.connections)  // accepted and closed: left in the backlog, it would wake the loop again
    return report(agent_id, kConnectionsHit,
                  "more than " + std::to_string(limits_.connections) +
                      " broker connections at once (--broker-connections): the ones past it are closed as they come");
  ucred cred{};
  socklen_t len = sizeof cred;
  int on = 1;
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
      ::setsockopt(fd.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0)
    return;
  auto c = std::make_unique<Conn>();
  c->serial = ++serial;
  c->agent_id = agent_id;
  c->peer = cred.pid;
  int raw = fd.get();
  c->fd = std::move(fd);
  c->events = EPOLLIN;
  auto w = loop_.watch(raw, EPOLLIN, [this, raw](uint32_t e) { on_conn(raw, e); });
  if (!w) return;
  c->watch = std::move(*w);
  a.conns.insert(raw);
  conns_[raw] = std::move(c);
}

// Each message carries its sender (SCM_CREDENTIALS, which the kernel fills in): a process that
// is not in the agent's cgroup cannot speak as the agent, even over the agent's own connection.
bool Broker::sender_allowed(Conn& c, pid_t pid) {
  if (pid == c.peer || c.verified.contains(pid)) return true;
  auto a = agents_.find(c.agent_id);
  if (a == agents_.end() || cgroup_of(pid) != a->second->info.cgroup) return false;
  c.verified.insert(pid);
  return true;
}

void Broker::on_conn(int fd, uint32_t events) {
  auto it = conns_.find(fd);
  if (it == conns_.end()) return;
  Conn& c = *it->second;
  if (events & EPOLLOUT) send(c, "");
  if (!conns_.contains(fd)) return;
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
    if (!c.closing && !has_message(c)) {
      char buf[64 * 1024];
      std::optional<ucred> cred;
      size_t nfds = 0;  // an agent's descriptors are closed unread
      ssize_t n = recv_with_fds(fd, buf, sizeof buf, nullptr, 0, &nfds, 0, &cred);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      if (n <= 0) return close_conn(fd);
      if (!cred || !sender_allowed(c, cred->pid)) {
        if (auto a = agents_.find(c.agent_id); a != agents_.end() && hooks_.audit)
          hooks_.audit(a->second->info.caller,
                       "broker: a message from pid " + std::to_string(cred ? cred->pid : 0) + ", outside the agent, over its connection",
                       v1::DECISION_DENY);
        return close_conn(fd);
      }
      if (c.in.empty()) c.partial_since = Clock::now();
      c.in.append(buf, static_cast<size_t>(n));
      if (over_buffer(c)) return;
    }
  }
  // A bounded batch per wakeup: one agent flooding the broker gets its turn, and so do the others.
  for (int i = 0; i < kBatch && conns_.contains(fd) && !c.closing; ++i) {
    std::optional<std::string> m = next_message(c);
    if (!m) return;
    if (!c.proto) {
      if (m->find_first_not_of(" \t\r") != std::string::npos) handle(c, *m);
      continue;
    }
    ProtoSession::Translated t = c.proto->request(*m);
    if (!t.over_bound.empty()) report(c.agent_id, kJsonHit, t.over_bound + " (--json-depth): refused");
    if (!t.frames.empty()) write_out(c, std::move(t.frames));
    if (t.request && conns_.contains(fd)) handle(c, *t.request);
  }
  if (conns_.contains(fd) && !c.closing && has_message(c) && !c.scheduled) {
    c.scheduled = true;
    loop_.defer([this, fd, serial = c.serial] {
      auto it2 = conns_.find(fd);
      if (it2 == conns_.end() || it2->second->serial != serial) return;
      it2->second->scheduled = false;
      on_conn(fd, 0);
    });
  }
}

// The connection's first bytes choose its protocol: the preface line for broker.proto, else MCP.
bool Broker::choose_protocol(Conn& c) {
  if (c.protocol_chosen) return true;
  if (c.in.size() < kProtobufPreface.size() && kProtobufPreface.starts_with(c.in)) return false;  // not yet known
  c.protocol_chosen = true;
  if (c.in.starts_with(kProtobufPreface)) {
    c.proto = std::make_unique<ProtoSession>(limits_.json_depth);
    c.in.erase(0, kProtobufPreface.size());
  }
  return true;
}

bool Broker::has_message(Conn& c) {
  if (!choose_protocol(c)) return false;
  if (!c.proto) return c.in.find('\n') != std::string::npos;
  return frame_ready(c.in);
}

std::optional<std::string> Broker::next_message(Conn& c) {
  if (!has_message(c)) {
    if (!c.proto && c.protocol_chosen && c.in.size() > kMaxLine) {
      c.closing = true;
      send(c, error_line(nullptr, kInvalidRequest, "message larger than " + std::to_string(kMaxLine) + " bytes"));
    }
    return std::nullopt;
  }
  c.partial_since = Clock::now();  // whatever follows began now
  if (!c.proto) {
    size_t nl = c.in.find('\n');
    std::string line = c.in.substr(0, nl);
    c.in.erase(0, nl + 1);
    return line;
  }
  auto frame = take_frame(c.in);
  if (!frame) {
    c.closing = true;
    send(c, error_line(nullptr, kInvalidRequest, "message larger than " + std::to_string(kMaxFrame) + " bytes"));
    return std::nullopt;
  }
  return std::move(*frame);
}

void Broker::send(Conn& c, std::string line) {
  write_out(c, c.proto ? c.proto->answer(line) : std::move(line));
}

void Broker::write_out(Conn& c, std::string bytes) {
  int fd = c.fd.get();
  c.out += bytes;
  while (!c.out.empty()) {
    ssize_t n = ::send(fd, c.out.data(), c.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      c.out.erase(0, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
    return close_conn(fd);
  }
  if (c.out.size() > kMaxOutput) return close_conn(fd);  // a client that never reads
  if (over_buffer(c)) return;
  if (c.out.empty() && c.closing) return close_conn(fd);
  uint32_t want = EPOLLIN | (c.out.empty() ? 0u : uint32_t{EPOLLOUT});
  if (want != c.events && c.watch.modify(want)) c.events = want;
}

// The connection that took its agent past the limit is the one closed: what the agent holds on
// its other connections stays theirs, and only the agent loses by it.
bool Broker::over_buffer(Conn& c) {
  auto a = agents_.find(c.agent_id);
  if (a == agents_.end() || buffered(*a->second) <= limits_.buffered) return false;
  report(c.agent_id, kBufferedHit,
         "more than " + std::to_string(limits_.buffered) +
             " bytes buffered across its connections (--broker-buffer): the connection that went past is closed");
  close_conn(c.fd.get());
  return true;
}

void Broker::close_partial(Clock::time_point now) {
  std::vector<int> stale;
  for (auto& [fd, c] : conns_)
    if (!c->in.empty() && now - c->partial_since >= limits_.partial_timeout && !has_message(*c)) stale.push_back(fd);
  for (int fd : stale) {
    report(conns_.at(fd)->agent_id, kPartialHit,
           "part of a message held for " + std::to_string(limits_.partial_timeout.count()) +
               " s (--broker-partial-timeout): its connection is closed");
    close_conn(fd);
  }
}

void Broker::close_conn(int fd) {
  auto it = conns_.find(fd);
  if (it == conns_.end()) return;
  it->second->watch.reset();
  if (auto a = agents_.find(it->second->agent_id); a != agents_.end()) a->second->conns.erase(fd);
  // Its waiting calls have no one to answer to.
  for (auto w = waiting_.begin(); w != waiting_.end();) {
    if (w->second->fd == fd && w->second->serial == it->second->serial) {
      if (auto a = agents_.find(w->second->call.agent_id); a != agents_.end()) --a->second->quota.in_flight;
      w = waiting_.erase(w);
    } else {
      ++w;
    }
  }
  conns_.erase(it);  // closes the descriptor; the handler's copy in the loop stays alive until it returns
}

}  // namespace agentos::broker
