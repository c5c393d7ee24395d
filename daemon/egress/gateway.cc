#include "egress/gateway.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <optional>

#include "common/fd_passing.h"
#include "egress/connection.h"
#include "egress/dns_stub.h"
#include "egress/egress_wire.h"
#include "policy/egress_rule.h"
#include "sandbox/netns.h"

namespace agentos::egress {
namespace {

// A byte budget: `rate` bytes a second, with a quarter second's worth (at least 16 KiB) saved up.
void set_bandwidth(TokenBucket& b, uint64_t rate) {
  double burst = std::max(static_cast<double>(rate) / 4, 16384.0);
  if (b.limited())
    b.set(static_cast<double>(rate), burst);
  else
    b = TokenBucket(static_cast<double>(rate), burst);  // a new limit starts with its burst
}

constexpr size_t kMaxCommand = 1 << 20;
// Records wait here while the daemon falls behind. Refusals past kMaxOutbox are counted as lost;
// connections made (allowed) have more room, so a flood of refusals cannot crowd them out.
constexpr size_t kMaxOutbox = 4096;
constexpr size_t kMaxOutboxAllowed = 16 * kMaxOutbox;
constexpr size_t kMaxFds = sandbox::kMaxSandboxSockets + policy::kMaxSecretsPerAgent;

// What a socket from the agent's sandbox is for, told by the socket itself (the daemon passes on
// what the agent's monitor holds): the DNS stub is the datagram socket, the proxy listens on
// kGatewayPort, and every other listener is a granted port, reached through the stub's addresses.
std::optional<Entry> entry_of(int fd) {
  int type = 0;
  socklen_t len = sizeof type;
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type == SOCK_DGRAM) return std::nullopt;
  auto at = local_endpoint(fd);
  return !at || at->port == sandbox::kGatewayPort ? Entry::kProxy : Entry::kTransparent;
}

// The value of each secret the daemon passed, read from its descriptor; a value that could break
// out of its header (a line break, a NUL) is left out, and so is every route that names it.
std::map<std::string, std::string> read_secrets(const gateway::Agent& a, std::vector<UniqueFd>& fds, std::string* problems) {
  std::map<std::string, std::string> out;
  for (int i = 0; i < a.secrets_size() && static_cast<size_t>(i) < fds.size(); ++i) {
    std::string value(64 * 1024 + 1, '\0');
    ssize_t n = ::pread(fds[i].get(), value.data(), value.size(), 0);
    fds[i].reset();
    if (n <= 0 || static_cast<size_t>(n) > 64 * 1024) {
      *problems += "secret \"" + a.secrets(i) + "\" unreadable; ";
      continue;
    }
    value.resize(static_cast<size_t>(n));
    if (value.find_first_of(std::string("\r\n\0", 3)) != std::string::npos) {
      *problems += "secret \"" + a.secrets(i) + "\" holds a line break or NUL; ";
      continue;
    }
    out.emplace(a.secrets(i), std::move(value));
  }
  return out;
}

}  // namespace

Gateway::Gateway(EventLoop& loop, std::unique_ptr<Resolver> resolver, HostAddresses host, TlsClient tls,
                 GatewayOptions options, UniqueFd control)
    : loop_(loop),
      resolver_(std::move(resolver)),
      host_(std::move(host)),
      tls_(std::move(tls)),
      options_(std::move(options)),
      control_(std::move(control)),
      listeners_(loop, [](const Error& e) {
        std::fprintf(stderr, "agentos-gateway: %s: agents' connections wait until there is room\n", e.str().c_str());
      }) {}

Gateway::~Gateway() {
  connections_.clear();  // their records go nowhere now
}

Status Gateway::start() {
  auto w = loop_.watch(control_.get(), EPOLLIN, [this](uint32_t e) { on_control(e); });
  if (!w) return w.error();
  control_watch_ = std::move(*w);
  // Deadlines and bandwidth budgets, ten times a second.
  sweep_ = loop_.every(std::chrono::milliseconds(100), [this] {
    auto now = Clock::now();
    for (auto& [id, c] : connections_) c->on_timer(now);
  });
  return {};
}

Connection* Gateway::find(uint64_t id) {
  auto it = connections_.find(id);
  return it == connections_.end() ? nullptr : it->second.get();
}

void Gateway::finish(uint64_t id) {
  loop_.defer([this, id] { connections_.erase(id); });
}

void Gateway::on_control(uint32_t events) {
  if (events & EPOLLOUT) flush_control();
  if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) return;
  std::vector<char> buf(kMaxCommand);
  int raw[kMaxFds];
  size_t nfds = 0;
  ssize_t n = recv_with_fds(control_.get(), buf.data(), buf.size(), raw, kMaxFds, &nfds, MSG_DONTWAIT | MSG_TRUNC);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  std::vector<UniqueFd> fds;
  for (size_t i = 0; i < nfds; ++i) fds.emplace_back(raw[i]);
  if (n <= 0) {  // the daemon is gone: so are the agents' grants
    loop_.stop();
    return;
  }
  gateway::Command cmd;  // MSG_TRUNC: n is the message's whole length, so a cut one is seen
  if (static_cast<size_t>(n) > buf.size() || !cmd.ParseFromArray(buf.data(), static_cast<int>(n))) return;
  apply(cmd, std::move(fds));
}

void Gateway::apply(const gateway::Command& c, std::vector<UniqueFd> fds) {
  if (c.has_agent()) put_agent(c.agent(), std::move(fds));
  else if (c.kind_case() == gateway::Command::kForget) forget_agent(c.forget());
  else if (c.kind_case() == gateway::Command::kAdopt && fds.size() == 1) adopt(c.adopt(), std::move(fds[0]));
}

void Gateway::put_agent(const gateway::Agent& a, std::vector<UniqueFd> fds) {
  size_t listeners = std::min<size_t>(a.listeners(), fds.size());
  std::vector<UniqueFd> secret_fds(std::make_move_iterator(fds.begin() + static_cast<long>(listeners)),
                                   std::make_move_iterator(fds.end()));
  fds.resize(listeners);
  std::string problems;
  auto secrets = read_secrets(a, secret_fds, &problems);
  auto& slot = agents_[a.id()];
  if (!slot) slot = std::make_shared<AgentEgress>();
  AgentEgress& agent = *slot;
  agent.id = a.id();
  agent.name = a.name();
  agent.rules = rules_of(a, [&](const std::string& name) -> std::optional<std::string> {
    auto it = secrets.find(name);
    return it == secrets.end() ? std::nullopt : std::optional<std::string>(it->second);
  });  // applies from the next request on
  if (!problems.empty()) {
    gateway::Record r;
    r.set_agent_id(a.id());
    r.set_protocol(gateway::PROTOCOL_ROUTE);
    r.set_reason(problems + "routes that use them are off");
    record(r);
  }
  set_bandwidth(agent.up, a.bandwidth());
  set_bandwidth(agent.down, a.bandwidth());
  std::weak_ptr<AgentEgress> weak = slot;
  for (auto& fd : fds) {
    int l = fd.get();
    auto entry = entry_of(l);
    if (!entry) {
      agent.dns.push_back(std::move(fd));
      auto w = loop_.watch(l, EPOLLIN, [this, weak, l](uint32_t) {
        if (auto owner = weak.lock()) answer_dns(*this, *owner, l);
      });
      if (w) agent.dns_watches.push_back(std::move(*w));
      continue;
    }
    agent.listeners.push_back(std::move(fd));
    (void)listeners_.add(
        l,
        [this, weak, entry](UniqueFd conn) {
          if (auto owner = weak.lock()) serve(owner, std::move(conn), *entry);
        },
        [this, weak](bool client_waits) {
          auto owner = weak.lock();
          return owner && admit(*owner, client_waits);
        });
  }
  closed_one(agent);  // a raised limit lets those waiting in
}

void Gateway::forget_agent(const std::string& id) {
  auto it = agents_.find(id);
  if (it == agents_.end()) return;
  it->second->forgotten = true;  // its connections close at the next sweep
  for (auto& l : it->second->listeners) listeners_.remove(l.get());
  it->second->dns_watches.clear();
  agents_.erase(it);
}

// At its limit an agent's new connections wait in its listeners' backlogs until one of its own
// closes: a client that opens many at once (a thread pool, fetch in a loop) is slowed, not reset.
bool Gateway::admit(AgentEgress& agent, bool client_waits) {
  if (agent.open < agent.rules.max_connections) return true;
  if (client_waits && !agent.full) {
    agent.full = true;
    gateway::Record r;
    r.set_agent_id(agent.id);
    r.set_protocol(gateway::PROTOCOL_LIMIT);
    r.set_reason(std::to_string(agent.rules.max_connections) +
                 " connections open at once, its limit: new ones wait until one closes");
    record(r);
  }
  return false;
}

void Gateway::closed_one(AgentEgress& agent) {
  if (!agent.full || agent.open >= agent.rules.max_connections) return;
  agent.full = false;
  for (auto& l : agent.listeners) listeners_.release(l.get());
}

void Gateway::adopt(const std::string& agent_id, UniqueFd fd) {
  auto it = agents_.find(agent_id);
  if (it == agents_.end()) return;  // closed unserved: the broker reports the failure
  int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) != 0) return;
  serve(it->second, std::move(fd), Entry::kBroker);
}

void Gateway::serve(const std::shared_ptr<AgentEgress>& agent, UniqueFd fd, Entry entry) {
  if (agent->open >= agent->rules.max_connections) {  // the broker's: it cannot be left waiting
    gateway::Record r;
    r.set_agent_id(agent->id);
    r.set_reason("over the limit of " + std::to_string(agent->rules.max_connections) + " connections at once");
    record(r);
    return;  // closed: the agent sees its connection reset
  }
  uint64_t id = next_id_++;
  auto c = std::make_unique<Connection>(*this, id, agent, std::move(fd), entry);
  if (c->start()) connections_.emplace(id, std::move(c));
}

void Gateway::record(const gateway::Record& r) {
  gateway::Event e;
  *e.mutable_record() = r;
  if (outbox_.size() >= (r.allowed() ? kMaxOutboxAllowed : kMaxOutbox)) {
    ++outbox_dropped_;
    return;
  }
  outbox_.push_back(e.SerializeAsString());
  flush_control();
}

void Gateway::flush_control() {
  if (outbox_dropped_ && outbox_.size() < kMaxOutbox) {
    gateway::Event e;
    e.mutable_record()->set_dropped(outbox_dropped_);
    outbox_.push_back(e.SerializeAsString());
    outbox_dropped_ = 0;
  }
  size_t sent = 0;
  while (sent < outbox_.size() &&
         ::send(control_.get(), outbox_[sent].data(), outbox_[sent].size(), MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
    ++sent;
  outbox_.erase(outbox_.begin(), outbox_.begin() + static_cast<long>(sent));
  (void)control_watch_.modify(outbox_.empty() ? EPOLLIN : EPOLLIN | EPOLLOUT);
}

}  // namespace agentos::egress
