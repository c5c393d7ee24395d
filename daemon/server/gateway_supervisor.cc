#include "server/gateway_supervisor.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "common/enum_words.h"
#include "common/fd_passing.h"
#include "common/log.h"
#include "egress/egress_wire.h"
#include "sandbox/helper.h"

namespace agentos {
namespace {

constexpr size_t kMaxEvent = 64 * 1024;

std::string bytes_text(uint64_t n) {
  if (n < 10'000) return std::to_string(n) + " B";
  if (n < 10'000'000) return std::to_string(n / 1024) + " KiB";
  return std::to_string(n >> 20) + " MiB";
}

// One line for the audit trail; never a header or a secret, only where and how much.
std::string describe_record(const gateway::Record& r) {
  std::string op = "egress " + enum_word(r.protocol());
  if (!r.route().empty()) op += " " + r.route() + " ->";
  if (!r.host().empty()) op += " " + r.host() + (r.port() ? ":" + std::to_string(r.port()) : "");
  if (!r.address().empty() && r.address() != r.host()) op += " (" + r.address() + ")";
  if (!r.reason().empty()) op += ": " + r.reason();
  if (r.allowed() && r.protocol() != gateway::PROTOCOL_DNS)  // a DNS answer carries no bytes of the agent's
    op += std::string(r.reason().empty() ? ": " : "; ") + bytes_text(r.bytes_up()) + " up, " + bytes_text(r.bytes_down()) +
          " down, " + std::to_string(r.duration_ms()) + " ms";
  return op;
}

}  // namespace

GatewaySupervisor::~GatewaySupervisor() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

Status GatewaySupervisor::start() {
  if (options_.uid == 0) return error("the egress gateway never runs as root");
  if (::access(options_.binary.c_str(), X_OK) != 0) return sys_error(options_.binary);
  spawn();
  if (!running()) return error("cannot start " + options_.binary);
  return {};
}

void GatewaySupervisor::spawn() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    log::error(sys_error("egress gateway: socketpair").str());
    return;
  }
  UniqueFd ours(sv[0]), theirs(sv[1]);
  std::vector<std::string> args = {"--control-fd", "3", "--handshake-timeout-ms", std::to_string(options_.handshake_timeout_ms)};
  if (!options_.dns.empty()) args.insert(args.end(), {"--dns", options_.dns});
  if (!options_.ca_file.empty()) args.insert(args.end(), {"--ca-file", options_.ca_file});
  auto helper = sandbox::spawn_helper({.binary = options_.binary,
                                       .args = std::move(args),
                                       .uid = options_.uid,
                                       .seccomp = &options_.seccomp,
                                       .fds = {theirs.get()}});
  if (!helper) {
    log::error("egress gateway: " + helper.error().str());
    return;
  }
  theirs.reset();
  pid_ = helper->pid;
  pidfd_ = std::move(helper->pidfd);
  control_ = std::move(ours);
  timeval timeout{1, 0};  // a gateway that stops reading is killed, and restarts with all state
  ::setsockopt(control_.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  if (auto w = loop_.watch(pidfd_.get(), EPOLLIN, [this](uint32_t) { on_exit(); })) pid_watch_ = std::move(*w);
  if (auto w = loop_.watch(control_.get(), EPOLLIN, [this](uint32_t e) { on_control(e); })) control_watch_ = std::move(*w);
  // Running a minute after a start counts as recovered: the next failure restarts it at once.
  calm_ = loop_.after(std::chrono::seconds(60), [this] { failures_ = 0; });
  log::info("egress gateway started (pid " + std::to_string(pid_) + ", uid " + std::to_string(options_.uid) + ")");
  for (auto& [id, h] : agents_)
    if (!h.listeners.empty()) send(h, true);
}

void GatewaySupervisor::on_exit() {
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_watch_.reset();
  pidfd_.reset();
  control_watch_.reset();
  control_.reset();
  calm_.reset();
  pid_ = -1;
  ++failures_;
  auto delay = std::chrono::seconds(std::min(30, 1 << std::min(failures_ - 1, 5)));
  log::error("egress gateway exited (" +
             (WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status)) : "status " + std::to_string(WEXITSTATUS(status))) +
             "); agents' connections wait until it is back, in " + std::to_string(delay.count()) + " s");
  restart_ = loop_.after(delay, [this] { spawn(); });
}

void GatewaySupervisor::on_control(uint32_t events) {
  if (!(events & EPOLLIN)) return;
  std::string buf(kMaxEvent, '\0');
  for (int i = 0; i < 256; ++i) {
    ssize_t n = ::recv(control_.get(), buf.data(), buf.size(), MSG_DONTWAIT);
    if (n <= 0) return;  // EOF shows as the pidfd's exit
    gateway::Event e;
    if (!e.ParseFromArray(buf.data(), static_cast<int>(n)) || !e.has_record()) continue;
    const gateway::Record& r = e.record();
    if (r.agent_id().empty()) {
      audit_.lost(r.dropped(), v1::AUDIT_LAYER_EGRESS);
      continue;
    }
    Who w = who_(r.agent_id());
    v1::Decision decision = r.failed() ? v1::DECISION_FAIL : r.allowed() ? v1::DECISION_ALLOW : v1::DECISION_DENY;
    audit_.event(r.agent_id(), w.name, w.owner, describe_record(r), v1::AUDIT_LAYER_EGRESS, decision);
  }
}

void GatewaySupervisor::send(Held& h, bool with_listeners) {
  gateway::Command c;
  *c.mutable_agent() = h.config;
  std::vector<int> fds;
  if (with_listeners)
    for (auto& l : h.listeners) fds.push_back(l.get());
  c.mutable_agent()->set_listeners(static_cast<uint32_t>(fds.size()));
  for (auto& s : h.secrets) fds.push_back(s.get());
  if (!control_.valid()) return;  // it gets everything when it restarts
  std::string data = c.SerializeAsString();
  if (send_with_fds(control_.get(), data.data(), data.size(), fds.data(), fds.size()) != static_cast<ssize_t>(data.size())) {
    log::error(sys_error("egress gateway: send").str() + "; restarting it");
    if (pid_ > 0) ::kill(pid_, SIGKILL);  // on_exit() follows, then a restart with every agent
  }
}

void GatewaySupervisor::send_forget(const std::string& id) {
  if (!control_.valid()) return;
  gateway::Command c;
  c.set_forget(id);
  std::string data = c.SerializeAsString();
  if (::send(control_.get(), data.data(), data.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(data.size()) && pid_ > 0)
    ::kill(pid_, SIGKILL);
}

Result<GatewaySupervisor::Described> GatewaySupervisor::describe(const std::string& id, const policy::Policy& p, uid_t owner,
                                                         bool strict) const {
  Described d;
  gateway::Agent& a = d.config;
  a.set_id(id);
  a.set_name(p.name);
  a.set_owner_uid(owner);
  if (!p.egress) return d;  // no grants: every request is refused
  const policy::Egress& e = *p.egress;
  egress::put_grants(e, a);
  for (const auto& r : e.routes) {
    // Each secret the route names, opened here and passed on as a descriptor; never read.
    std::vector<std::pair<std::string, UniqueFd>> opened;
    Status ok;
    for (const auto& name : r.secrets) {
      if (std::find(a.secrets().begin(), a.secrets().end(), name) != a.secrets().end()) continue;
      if (std::any_of(opened.begin(), opened.end(), [&](auto& o) { return o.first == name; })) continue;
      auto fd = secrets_.open(owner, name);
      if (!fd) {
        ok = error("route " + r.path + ": " + fd.error().str());
        break;
      }
      opened.emplace_back(name, std::move(*fd));
    }
    if (!ok) {
      if (strict) return ok.error();
      log::warning("agent " + id + ": " + ok.error().str() + "; the route is off", {{"AGENT_ID", id}});
      continue;
    }
    for (auto& [name, fd] : opened) {
      a.add_secrets(name);
      d.secrets.push_back(std::move(fd));
    }
    egress::put_route(r, a);
  }
  return d;
}

Status GatewaySupervisor::admit(const std::string& id, const policy::Policy& p, uid_t owner) {
  if (!p.egress) return {};
  if (auto d = describe(id, p, owner); !d) return error(ErrorKind::kInvalid, "agent \"" + p.name + "\": " + d.error().str());
  return {};
}

void GatewaySupervisor::serve(const AgentRecord& r, const policy::Policy& p, AgentSockets& sockets) {
  if (!p.egress || sockets.gateway.empty()) return;
  // Not strict: a secret removed since the start was admitted takes its route with it.
  auto d = describe(r.id, p, r.owner_uid, false);
  if (!d) return log::error("agent " + r.id + ": no egress: " + d.error().str(), {{"AGENT_ID", r.id}});
  Held& h = agents_[r.id];
  h.policy = p;
  h.listeners = std::move(sockets.gateway);
  h.config = std::move(d->config);
  h.secrets = std::move(d->secrets);
  send(h, true);
}

void GatewaySupervisor::replace(Held& h, Described agent) {
  h.config = std::move(agent.config);
  h.secrets = std::move(agent.secrets);
  send(h, false);
}

ServiceUpdate GatewaySupervisor::update(const AgentRecord& r, const policy::Policy& now, const policy::Policy& next,
                                    std::vector<v1::AgentChange>& changes) {
  if (!now.egress && !next.egress) return ServiceUpdate::kInForce;
  if (!now.egress) return ServiceUpdate::kAtNextStart;  // its network namespace has no gateway sockets yet
  auto before = describe(r.id, now, r.owner_uid);
  auto after = describe(r.id, next, r.owner_uid);
  if (!after) {
    changes.push_back(agent_change(r.id, r.name, v1::AgentChange::PART_EGRESS, v1::AgentChange::OUTCOME_REFUSED,
                                   after.error().str()));
    return ServiceUpdate::kRefused;
  }
  auto it = agents_.find(r.id);
  if (it == agents_.end()) return ServiceUpdate::kInForce;
  it->second.policy = next;
  if (!before || before->config.SerializeAsString() != after->config.SerializeAsString()) {
    replace(it->second, std::move(*after));
    changes.push_back(agent_change(r.id, r.name, v1::AgentChange::PART_EGRESS, v1::AgentChange::OUTCOME_IN_FORCE));
  }
  return ServiceUpdate::kInForce;
}

void GatewaySupervisor::secrets_changed(uid_t owner, std::vector<v1::AgentChange>& changes) {
  for (auto& [id, h] : agents_) {
    const policy::Policy& p = h.policy;
    if (h.config.owner_uid() != owner || !p.egress || p.egress->routes.empty()) continue;
    if (auto d = describe(id, p, owner, false)) {
      changes.push_back(agent_change(id, p.name, v1::AgentChange::PART_ROUTES, v1::AgentChange::OUTCOME_IN_FORCE,
                                     std::to_string(d->config.routes_size()) + " of " +
                                         std::to_string(p.egress->routes.size()) + " routes"));
      replace(h, std::move(*d));
    }
  }
}

Status GatewaySupervisor::adopt(const std::string& id, UniqueFd conn) {
  if (!agents_.contains(id)) return error("the agent has no [egress]: http.fetch reaches only what [egress] grants");
  if (!control_.valid()) return error("the egress gateway is restarting");
  gateway::Command c;
  c.set_adopt(id);
  std::string data = c.SerializeAsString();
  int fd = conn.get();
  if (send_with_fds(control_.get(), data.data(), data.size(), &fd, 1) != static_cast<ssize_t>(data.size()))
    return sys_error("egress gateway: send");
  return {};
}

void GatewaySupervisor::ended(const std::string& id) {
  if (agents_.erase(id) == 0) return;
  send_forget(id);
}

}  // namespace agentos
