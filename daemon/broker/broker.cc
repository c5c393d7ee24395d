#include "broker/broker.h"

#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <fstream>

#include "broker/proto_session.h"
#include "common/framing.h"
#include "common/random_id.h"
#include "policy/tool_names.h"

namespace agentos::broker {
namespace {

// What the audit trail keeps of a call's arguments: enough to match two calls, nothing to read.
std::string digest(const Json& args) {
  return sha256_hex(args.dump(-1, ' ', false, Json::error_handler_t::replace)).substr(0, 16);
}

Json tool_content(const ToolResult& r) {
  return Json{{"content", Json::array({{{"type", "text"}, {"text", r.value.dump(-1, ' ', false, Json::error_handler_t::replace)}}})},
              {"structuredContent", r.value},
              {"isError", r.error}};
}

Json refusal(const std::string& why) {
  return Json{{"content", Json::array({{{"type", "text"}, {"text", "agentos: " + why}}})}, {"isError", true}};
}

// The process's cgroup v2 path, as /proc/PID/cgroup gives it in our cgroup namespace.
std::string cgroup_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("0::")) return line.substr(3);
  return "";
}

long long us_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t).count();
}

}  // namespace

struct Broker::Agent {
  AgentInfo info;
  UniqueFd listener;
  std::set<std::string> approved;  // "session" answers, for this run
  Quota quota;
  Clock::time_point refilled = Clock::now();
  std::set<int> conns;
  unsigned reported = 0;  // LimitHit bits: each limit is reported once per run
};

struct Broker::Conn {
  UniqueFd fd;
  uint64_t serial = 0;
  std::string agent_id;
  pid_t peer = 0;  // who connected (SO_PEERCRED)
  std::set<pid_t> verified;  // senders seen in the agent's cgroup
  std::string in, out;
  Clock::time_point partial_since;  // when `in` last began a message
  bool closing = false;  // close once `out` is sent
  bool scheduled = false;  // more lines wait in `in`: handled after other connections' turn
  bool protocol_chosen = false;
  std::unique_ptr<ProtoSession> proto;  // set when the connection speaks broker.proto
  uint32_t events = 0;
};

struct Broker::Waiting {
  PendingCall call;
  int fd = -1;
  uint64_t serial = 0;
  Json request_id;
  Json args;
  Clock::time_point deadline, started;
};

Broker::Broker(EventLoop& loop, Listeners& listeners, std::vector<std::unique_ptr<Provider>> providers, Hooks hooks,
               Limits limits)
    : loop_(loop), listeners_(listeners), providers_(std::move(providers)), hooks_(std::move(hooks)), limits_(limits) {
  refresh_tools();
}

void Broker::refresh_tools() {
  by_tool_.clear();
  rules_.clear();
  specs_.clear();
  for (auto& p : providers_)
    for (auto& t : p->tools()) {
      if (by_tool_.contains(t.name)) continue;  // the first provider of a name keeps it
      by_tool_[t.name] = p.get();
      rules_[t.name] = t.rules;
      specs_.push_back(std::move(t));
    }
}

Broker::~Broker() {
  for (auto& [fd, c] : conns_) loop_.remove(fd);
  for (auto& [id, a] : agents_) listeners_.remove(a->listener.get());
}

void Broker::attach(AgentInfo info, UniqueFd listener) {
  auto a = std::make_unique<Agent>();
  a->info = std::move(info);
  a->listener = std::move(listener);
  if (a->info.tools) {
    a->quota.calls_per_minute = a->info.tools->calls_per_minute;
    a->quota.concurrent = a->info.tools->concurrent;
    a->quota.tokens = a->quota.calls_per_minute;
  }
  Agent* raw = a.get();
  std::string id = a->info.caller.agent_id;
  if (agents_.contains(id)) detach(id);
  agents_[id] = std::move(a);
  (void)listeners_.add(raw->listener.get(), [this, id](UniqueFd fd) { accepted(id, std::move(fd)); });
}

void Broker::update(const std::string& agent_id, std::optional<policy::Tools> tools) {
  auto it = agents_.find(agent_id);
  if (it == agents_.end()) return;
  Agent& a = *it->second;
  a.info.tools = std::move(tools);
  a.quota.calls_per_minute = a.info.tools ? a.info.tools->calls_per_minute : 0;
  a.quota.concurrent = a.info.tools ? a.info.tools->concurrent : 0;
  a.quota.tokens = std::min<double>(a.quota.tokens, a.quota.calls_per_minute);
}

std::optional<policy::Tools> Broker::tools_of(const std::string& agent_id) const {
  auto it = agents_.find(agent_id);
  return it == agents_.end() ? std::nullopt : it->second->info.tools;
}

void Broker::detach(const std::string& agent_id) {
  auto it = agents_.find(agent_id);
  if (it == agents_.end()) return;
  for (int fd : std::vector<int>(it->second->conns.begin(), it->second->conns.end())) close_conn(fd);
  std::erase_if(waiting_, [&](auto& w) { return w.second->call.agent_id == agent_id; });
  listeners_.remove(it->second->listener.get());
  for (auto& p : providers_) p->forget(it->second->info.caller);
  agents_.erase(it);
}

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
  if (!loop_.add(raw, EPOLLIN, [this, raw](uint32_t e) { on_conn(raw, e); })) return;
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
      iovec iov{buf, sizeof buf};
      alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(ucred))];
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = cbuf;
      msg.msg_controllen = sizeof cbuf;
      ssize_t n = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      if (n <= 0) return close_conn(fd);
      const ucred* cred = nullptr;
      for (cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS) cred = reinterpret_cast<const ucred*>(CMSG_DATA(cm));
        else if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
          for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); ++i) ::close(reinterpret_cast<int*>(CMSG_DATA(cm))[i]);
      if (!cred || !sender_allowed(c, cred->pid)) {
        if (auto a = agents_.find(c.agent_id); a != agents_.end() && hooks_.audit)
          hooks_.audit(a->second->info.caller,
                       "broker: a message from pid " + std::to_string(cred ? cred->pid : 0) + ", outside the agent, over its connection",
                       "deny");
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
  if (c.in.size() < kFrameHeader) return false;
  uint32_t len = 0;
  std::memcpy(&len, c.in.data(), sizeof len);  // little-endian, as the framing says
  return len > kMaxFrame || c.in.size() >= kFrameHeader + len;
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
  uint32_t len = 0;
  std::memcpy(&len, c.in.data(), sizeof len);
  if (len > kMaxFrame) {
    c.closing = true;
    send(c, error_line(nullptr, kInvalidRequest, "message larger than " + std::to_string(kMaxFrame) + " bytes"));
    return std::nullopt;
  }
  std::string payload = c.in.substr(kFrameHeader, len);
  c.in.erase(0, kFrameHeader + len);
  return payload;
}

void Broker::handle(Conn& c, std::string_view line) {
  auto started = Clock::now();
  auto parsed = parse_message(line, {limits_.json_depth, kMaxLine});
  if (auto* f = std::get_if<ParseFailure>(&parsed)) {
    if (f->over_bound) report(c.agent_id, kJsonHit, f->message + " (--json-depth): refused");
    return send(c, error_line(f->id, f->code, f->message));
  }
  const Message& m = std::get<Message>(parsed);
  if (m.method == "tools/call") {
    if (m.notification()) return;
    return call_tool(c, m.id, m.params, started);
  }
  if (m.method == "initialize") return send(c, result_line(m.id, initialize_result(m.params)));
  if (m.method == "tools/list") {
    auto a = agents_.find(c.agent_id);
    Json tools = Json::array();
    const auto& t = a->second->info.tools;
    for (const auto& spec : specs_) {
      bool granted = t && (std::any_of(t->allow.begin(), t->allow.end(), [&](auto& g) { return policy::grant_covers(g, spec.name); }) ||
                           std::any_of(t->ask.begin(), t->ask.end(), [&](auto& g) { return policy::grant_covers(g, spec.name); }));
      if (granted) tools.push_back({{"name", spec.name}, {"description", spec.description}, {"inputSchema", spec.input_schema}});
    }
    return send(c, result_line(m.id, {{"tools", tools}}));
  }
  if (m.method == "ping") return send(c, result_line(m.id, Json::object()));
  if (m.notification()) return;  // notifications/initialized, cancelled, ...: nothing to answer
  send(c, error_line(m.id, kMethodNotFound, "no method \"" + m.method.substr(0, 100) + "\""));
}

std::string Broker::describe_call(const std::string& tool, const Json& args) const {
  return "tool " + tool + " (arguments " + digest(args) + ")";
}

void Broker::call_tool(Conn& c, const Json& id, const Json& params, Clock::time_point started) {
  auto name_it = params.find("name");
  if (name_it == params.end() || !name_it->is_string()) return send(c, error_line(id, kInvalidParams, "params.name must be a string"));
  std::string tool = name_it->get<std::string>();
  Json args = params.contains("arguments") ? params["arguments"] : Json::object();
  if (!args.is_object()) return send(c, error_line(id, kInvalidParams, "params.arguments must be an object"));
  if (!by_tool_.contains(tool)) return send(c, error_line(id, kInvalidParams, "no tool \"" + tool.substr(0, 100) + "\""));
  Agent& a = *agents_.at(c.agent_id);
  const Caller& who = a.info.caller;

  auto refuse = [&](int code, const std::string& why) {
    ++a.quota.refused;
    if (hooks_.audit) hooks_.audit(who, describe_call(tool, args) + ": " + why, "deny");
    if (code) return send(c, error_line(id, code, why));
    send(c, result_line(id, refusal("refused: " + why)));
  };
  // From here on the arguments are the tool's own reading of them: matched, shown and run as one.
  const ArgRules& rules = rules_[tool];
  auto canonical = canonical_arguments(rules, args);
  if (!canonical) return refuse(0, canonical.error().what);
  args = std::move(*canonical);
  Decision d = decide(a.info.tools, a.approved, tool, args, rules);
  if (d.verdict == Verdict::kDeny) return refuse(0, d.reason);
  std::string args_json;
  std::vector<ShownArgument> shown;
  if (d.verdict == Verdict::kAsk) {
    args_json = args.dump(-1, ' ', false, Json::error_handler_t::replace);
    auto view = show_arguments(args, rules, args_json.size());
    if (!view) return refuse(0, "consent cannot show this call: " + view.error().what);
    shown = std::move(*view);
  }

  // Quotas: a rate a minute (a bucket that refills continuously) and calls at once.
  auto now = Clock::now();
  double per_second = a.quota.calls_per_minute / 60.0;
  a.quota.tokens = std::min<double>(a.quota.calls_per_minute,
                                    a.quota.tokens + std::chrono::duration<double>(now - a.refilled).count() * per_second);
  a.refilled = now;
  if (a.quota.tokens < 1)
    return refuse(kBusy, "over the limit of " + std::to_string(a.quota.calls_per_minute) + " calls a minute (tools.calls_per_minute)");
  if (a.quota.in_flight >= a.quota.concurrent)
    return refuse(kBusy, "over the limit of " + std::to_string(a.quota.concurrent) + " calls at once (tools.concurrent)");
  a.quota.tokens -= 1;
  ++a.quota.calls;

  if (d.verdict == Verdict::kAsk) {
    auto w = std::make_unique<Waiting>();
    std::string call_id = random_hex(4);
    while (waiting_.contains(call_id)) call_id = random_hex(4);  // an answer must reach the call it names
    w->call = {call_id, who.agent_id, who.agent_name, who.owner, tool, std::move(shown), std::move(args_json),
               static_cast<uint64_t>(std::time(nullptr)), a.info.tools->consent_timeout_s};
    w->fd = c.fd.get();
    w->serial = c.serial;
    w->request_id = id;
    w->args = args;
    w->started = started;
    w->deadline = now + std::chrono::seconds(a.info.tools->consent_timeout_s);
    ++a.quota.in_flight;
    PendingCall copy = w->call;
    waiting_[w->call.id] = std::move(w);
    if (hooks_.audit) hooks_.audit(who, describe_call(tool, args) + ": waits for consent as " + copy.id, "ask");
    if (hooks_.pending) hooks_.pending(copy);
    return;
  }
  finish_call(c.fd.get(), id, a, tool, args, "", started);
}

void Broker::finish_call(int fd, const Json& id, Agent& a, const std::string& tool, const Json& args, const std::string& how,
                         Clock::time_point started) {
  ++a.quota.in_flight;  // until the provider answers, which for http.fetch is later
  uint64_t serial = conns_.contains(fd) ? conns_.at(fd)->serial : 0;
  std::string agent_id = a.info.caller.agent_id;
  auto answered = [=, this](ToolResult r) {
    auto ag = agents_.find(agent_id);
    if (ag == agents_.end()) return;  // it ended meanwhile
    --ag->second->quota.in_flight;
    if (hooks_.audit)
      hooks_.audit(ag->second->info.caller,
                   describe_call(tool, args) + (how.empty() ? "" : ", " + how) + (r.error ? ", failed" : "") + ", " +
                       std::to_string(us_since(started)) + " µs",
                   "allow");
    auto it = conns_.find(fd);
    if (it != conns_.end() && it->second->serial == serial) send(*it->second, result_line(id, tool_content(r)));
  };
  auto provider = by_tool_.find(tool);  // an external server's tool may be gone since a consent wait began
  if (provider == by_tool_.end()) return answered(tool_error(tool + " is no longer offered"));
  provider->second->call_async(a.info.caller, tool, args, std::move(answered));
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
  if (want != c.events && loop_.modify(fd, want)) c.events = want;
}

void Broker::report(const std::string& agent_id, LimitHit which, const std::string& what) {
  auto a = agents_.find(agent_id);
  if (a == agents_.end() || (a->second->reported & which)) return;
  a->second->reported |= which;
  if (hooks_.limit) hooks_.limit(a->second->info.caller, "broker: " + what);
}

size_t Broker::buffered(const Agent& a) const {
  size_t n = 0;
  for (int fd : a.conns) {
    const Conn& c = *conns_.at(fd);
    n += c.in.size() + c.out.size() + (c.proto ? c.proto->kept_bytes() : 0);
  }
  return n;
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
  loop_.remove(fd);
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

std::vector<PendingCall> Broker::pending() const {
  std::vector<PendingCall> out;
  for (const auto& [id, w] : waiting_) out.push_back(w->call);
  return out;
}

Status Broker::answer(const std::string& pending_id, bool approve, Scope scope, uid_t by) {
  auto it = waiting_.find(pending_id);
  if (it == waiting_.end()) return error("no call waits as " + pending_id);
  auto a = agents_.find(it->second->call.agent_id);
  if (a == agents_.end()) return error("its agent has ended");
  Waiting& w = *it->second;
  const std::string& tool = w.call.tool;
  if (approve && scope == Scope::kAlways && hooks_.grant_always)
    if (auto s = hooks_.grant_always(w.call.agent_id, tool); !s) return s;
  std::unique_ptr<Waiting> owned = std::move(it->second);
  waiting_.erase(it);
  Agent& agent = *a->second;
  --agent.quota.in_flight;
  std::string who = "uid " + std::to_string(by);
  if (!approve) {
    if (hooks_.audit) hooks_.audit(agent.info.caller, describe_call(tool, owned->args) + ": denied by " + who, "deny");
    if (auto c = conns_.find(owned->fd); c != conns_.end() && c->second->serial == owned->serial)
      send(*c->second, result_line(owned->request_id, refusal("denied: " + tool + " was refused by the agent's owner")));
    return {};
  }
  if (scope != Scope::kOnce) agent.approved.insert(tool);
  static const char* const kScopes[] = {"once", "session", "always"};
  std::string how = "approved by " + who + " (" + kScopes[static_cast<int>(scope)] + ")";
  int fd = conns_.contains(owned->fd) && conns_.at(owned->fd)->serial == owned->serial ? owned->fd : -1;
  finish_call(fd, owned->request_id, agent, tool, owned->args, how, owned->started);
  return {};
}

void Broker::revoke(const std::string& agent_id, const std::string& tool) {
  if (auto a = agents_.find(agent_id); a != agents_.end())
    std::erase_if(a->second->approved, [&](const std::string& t) { return policy::grant_covers(tool, t); });
}

void Broker::tick() {
  auto now = Clock::now();
  close_partial(now);
  std::vector<std::string> expired;
  for (auto& [id, w] : waiting_)
    if (w->deadline <= now) expired.push_back(id);
  for (const auto& id : expired) {
    auto it = waiting_.find(id);
    std::unique_ptr<Waiting> w = std::move(it->second);
    waiting_.erase(it);
    auto a = agents_.find(w->call.agent_id);
    if (a == agents_.end()) continue;
    --a->second->quota.in_flight;
    std::string why = "no answer within " + std::to_string(w->call.timeout_s) + " s (tools.consent_timeout)";
    if (hooks_.audit) hooks_.audit(a->second->info.caller, describe_call(w->call.tool, w->args) + ": " + why, "deny");
    if (auto c = conns_.find(w->fd); c != conns_.end() && c->second->serial == w->serial)
      send(*c->second, result_line(w->request_id, refusal("denied: " + why)));
  }
}

std::optional<Broker::Quota> Broker::quota(const std::string& agent_id) const {
  auto it = agents_.find(agent_id);
  if (it == agents_.end()) return std::nullopt;
  return it->second->quota;
}

}  // namespace agentos::broker
