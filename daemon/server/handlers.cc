// The API's request handlers. Authorisation uses only the peer's kernel-reported credentials:
// everyone sees and controls their own agents; root and the admin group see all of them.
#include <fcntl.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <chrono>

#include "common/version.h"
#include "sandbox/landlock.h"
#include "server/agent_info.h"
#include "server/api_server.h"
#include "common/log.h"

namespace agentos {
namespace {

void set_error(v1::Response& r, v1::Error::Code code, const std::string& message,
               const std::vector<std::string>& diagnostics = {}) {
  r = error_response(code, message, diagnostics);
}

bool visible(const Peer& p, const AgentRecord& r) { return p.admin || r.owner_uid == p.uid; }

void add_layer(google::protobuf::RepeatedPtrField<v1::Layer>* out, const std::string& name, bool ok,
               const std::string& detail) {
  auto* l = out->Add();
  l->set_name(name);
  l->set_available(ok);
  l->set_detail(detail);
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s.empty() ? "none" : s;
}

std::vector<std::string> texts(const std::vector<policy::NetRule>& rules) {
  std::vector<std::string> out;
  for (const auto& r : rules) out.push_back(r.text);
  return out;
}

}  // namespace

const AgentRecord* ApiServer::lookup(const Peer& p, const std::string& key, v1::Response& resp) const {
  if (const auto* r = agents_.find(key)) {
    if (visible(p, *r)) return r;
    set_error(resp, v1::Error::CODE_PERMISSION_DENIED, "agent " + key + " belongs to another user");
    return nullptr;
  }
  // By name: the running one, else the most recent.
  const AgentRecord* best = nullptr;
  bool others = false;
  for (const auto* r : agents_.list()) {
    if (r->name != key) continue;
    if (!visible(p, *r)) {
      others = true;
      continue;
    }
    auto rank = [](const AgentRecord* a) { return std::pair(a->state == AgentState::kRunning, a->started_unix); };
    if (!best || rank(r) > rank(best)) best = r;
  }
  if (!best)
    set_error(resp, others ? v1::Error::CODE_PERMISSION_DENIED : v1::Error::CODE_NOT_FOUND,
              others ? "agent " + key + " belongs to another user" : "no agent " + key);
  return best;
}

void ApiServer::do_status(const Peer& p, v1::Response& resp) {
  auto* s = resp.mutable_status();
  s->set_version(kVersion);
  s->set_uptime_seconds(static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started_).count()));
  uint32_t running = 0;
  for (const auto* r : agents_.list()) running += visible(p, *r) && r->state == AgentState::kRunning;
  s->set_agents_running(running);
  for (const auto& l : probe_.layers) add_layer(s->mutable_layers(), l.name, l.available, l.detail);
  s->set_caller_uid(p.uid);
  s->set_caller_is_admin(p.admin);
  s->set_policy_dir(policies_.dir());
}

void ApiServer::do_policy_list(v1::Response& resp) {
  auto* out = resp.mutable_policy_list();
  for (const auto& [name, p] : policies_.all()) {
    auto* s = out->add_policies();
    s->set_name(name);
    s->set_path(p.source_path);
    for (const auto& a : p.command) s->add_command(a);
  }
}

void ApiServer::do_policy_apply(const Peer& p, const v1::PolicyApplyRequest& req, v1::Response& resp) {
  if (!p.admin) return set_error(resp, v1::Error::CODE_PERMISSION_DENIED, "applying policies needs root or the admin group");
  std::vector<std::string> diags;
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& f : req.files()) files.emplace_back(f.path(), f.content());
  if (files.empty()) {
    diags = policies_.reload();
  } else if (auto r = policies_.install(files, &diags); !r) {
    return set_error(resp, v1::Error::CODE_INVALID_ARGUMENT, r.error().str(), diags);
  }
  log::info("policies applied by uid " + std::to_string(p.uid), {{"POLICY_DIR", policies_.dir()}});
  auto* out = resp.mutable_policy_apply();
  for (const auto& [name, pol] : policies_.all()) {
    auto* s = out->add_loaded();
    s->set_name(name);
    s->set_path(pol.source_path);
    for (const auto& a : pol.command) s->add_command(a);
  }
  for (const auto& d : diags) out->add_diagnostics(d);
  for (auto& c : agents_.update_running(policies_.all())) *out->add_changes() = std::move(c);
}

void ApiServer::do_run(Conn& c, const v1::RunRequest& req, v1::Response& resp) {
  policy::Policy pol;
  if (req.has_policy()) {
    auto parsed = policy::parse_policy(req.policy().content(), req.policy().path());
    if (!parsed.policy) {
      std::vector<std::string> diags;
      for (const auto& d : parsed.errors) diags.push_back(d.str());
      return set_error(resp, v1::Error::CODE_INVALID_ARGUMENT, "invalid policy", diags);
    }
    pol = std::move(*parsed.policy);
  } else if (const auto* found = policies_.find(req.name())) {
    pol = *found;
  } else {
    return set_error(resp, v1::Error::CODE_NOT_FOUND, "no policy named \"" + req.name() + "\" in " + policies_.dir());
  }
  if (req.command_size() > 0) {
    pol.command.assign(req.command().begin(), req.command().end());
    for (const auto& a : pol.command)
      if (a.find('\0') != std::string::npos)
        return set_error(resp, v1::Error::CODE_INVALID_ARGUMENT, "command arguments must not contain NUL");
    if (!pol.command[0].starts_with("/"))
      return set_error(resp, v1::Error::CODE_INVALID_ARGUMENT, "command must start with an absolute path");
  }

  if ((req.tty() || req.interactive()) && !req.attach())
    return set_error(resp, v1::Error::CODE_INVALID_ARGUMENT, "a terminal or stdin needs an attached run (not --detach)");
  ConsoleRequest console{req.attach(), req.interactive() || req.tty(), req.tty(),
                         static_cast<uint16_t>(std::clamp(req.size().rows(), 1u, 4096u)),
                         static_cast<uint16_t>(std::clamp(req.size().cols(), 1u, 4096u))};
  if (!req.has_size()) console.rows = 24, console.cols = 80;
  if (req.tty()) {
    // A terminal type is a terminfo name: anything else is not passed into the agent's environment.
    const std::string& t = req.term();
    bool valid = !t.empty() && t.size() <= 64 && std::all_of(t.begin(), t.end(), [](unsigned char ch) {
      return std::isalnum(ch) || ch == '-' || ch == '.' || ch == '+' || ch == '_';
    });
    console.term = valid ? t : "xterm";
  }
  auto r = agents_.run(pol, c.peer, nullptr, nullptr, &console);
  if (!r) {
    if (r.error().kind == ErrorKind::kCannotConfine)
      audit_.deny("", pol.name, c.peer.uid, "start refused: " + r.error().str(), v1::AUDIT_LAYER_LAUNCHER);
    return set_error(resp, api_code(r.error()), r.error().str());
  }
  fill_agent_info(**r, resp.mutable_run()->mutable_agent());
  if (!req.attach()) return;
  resp.set_final(false);
  take_console(c, (*r)->id);  // the monitor sends from the first byte: nothing is missed
}

// This connection holds the agent's console from now on: its output comes here (a client that
// held it before is told and let go), and the stream ends with the agent's exit.
void ApiServer::take_console(Conn& c, const std::string& id) {
  for (auto& [fd, other] : conns_)
    if (!other->dead && other.get() != &c && other->console == id) {
      let_go(*other);
      v1::Response note;
      note.set_final(true);
      note.mutable_log()->set_data("agentos: another client attached to agent " + id + "\n");
      note.mutable_log()->set_stream(v1::LogChunk::STREAM_STDERR);
      send(*other, note);
    }
  c.console = id;
  Stream s;
  s.agent_id = id;
  s.until_exit = true;
  c.stream = std::move(s);
}

// The connection leaves the console (detached, or another client took it): the agent runs on,
// and the stream's last response closes it.
void ApiServer::let_go(Conn& c) {
  if (c.holding_output) agents_.console_hold(c.console, false);
  c.holding_output = c.input_paused = false;
  c.detached = true;
  c.console.clear();
  c.stream.reset();
  c.closing = true;
  set_interest(c);
}

void ApiServer::do_attach(Conn& c, const v1::AttachRequest& req, v1::Response& resp) {
  const AgentRecord* r = lookup(c.peer, req.agent(), resp);
  if (!r) return;
  if (r->state != AgentState::kRunning)
    return set_error(resp, v1::Error::CODE_FAILED_PRECONDITION, "agent " + r->id + " is not running (" + r->reason + ")");
  std::string id = r->id;
  if (!agents_.console_attach(id, true))
    return set_error(resp, v1::Error::CODE_FAILED_PRECONDITION, "agent " + id + " has no console to attach to (an MCP server's stdio is its protocol)");
  if (req.has_size()) {
    v1::ConsoleInput resize;
    *resize.mutable_size() = req.size();
    Conn* self = &c;
    take_console(c, id);
    console_input(*self, resize);
  } else {
    take_console(c, id);
  }
  resp.Clear();
  resp.set_final(false);
  fill_agent_info(*r, resp.mutable_run()->mutable_agent());
}

void ApiServer::console_input(Conn& c, const v1::ConsoleInput& in) {
  using sandbox::ConsoleKind;
  using sandbox::console_message;
  const std::string& id = c.console;
  for (size_t at = 0; at < in.data().size(); at += sandbox::kConsoleChunk)
    agents_.console_send(id, console_message(ConsoleKind::kInput, std::string_view(in.data()).substr(at, sandbox::kConsoleChunk)));
  if (in.has_size() && in.size().rows() > 0 && in.size().cols() > 0) {
    uint16_t rc[2] = {static_cast<uint16_t>(std::min(in.size().rows(), 4096u)), static_cast<uint16_t>(std::min(in.size().cols(), 4096u))};
    agents_.console_send(id, console_message(ConsoleKind::kResize, std::string_view(reinterpret_cast<const char*>(rc), sizeof rc)));
  }
  if (in.signal() != 0) agents_.console_signal(id, in.signal());
  if (in.eof()) agents_.console_send(id, console_message(ConsoleKind::kEof));
  if (in.detach()) {
    agents_.console_attach(id, false);
    let_go(c);
    v1::Response done;
    done.set_final(true);
    done.mutable_log();  // an empty last chunk: the stream ends, the agent runs on
    send(c, done);
  }
}

void ApiServer::do_ps(const Peer& p, const v1::PsRequest& req, v1::Response& resp) {
  auto* out = resp.mutable_ps();
  auto list = agents_.list();
  std::sort(list.begin(), list.end(), [](auto* a, auto* b) { return a->started_unix < b->started_unix; });
  for (const auto* r : list)
    if (visible(p, *r) && (req.all() || r->state == AgentState::kRunning)) fill_agent_info(*r, out->add_agents());
}

void ApiServer::do_stop(Conn& c, const v1::StopRequest& req, v1::Response& resp) {
  const AgentRecord* r = lookup(c.peer, req.agent(), resp);
  if (!r) return;
  if (r->state != AgentState::kRunning) return fill_agent_info(*r, resp.mutable_stop()->mutable_agent());
  std::string id = r->id;
  if (auto s = agents_.stop(id); !s) return set_error(resp, api_code(s.error()), s.error().str());
  log::info("agent " + r->name + " stop requested by uid " + std::to_string(c.peer.uid), {{"AGENT_ID", id}});
  resp.Clear();  // the reply waits for the exit
  Stream s;
  s.agent_id = id;
  s.until_exit = true;
  s.stop_reply = true;
  c.stream = std::move(s);
}

void ApiServer::do_remove(const Peer& p, const v1::RemoveRequest& req, v1::Response& resp) {
  std::vector<std::string> ids;
  if (req.all_ended()) {
    for (const auto* r : agents_.list())
      if (visible(p, *r) && r->state != AgentState::kRunning) ids.push_back(r->id);
  }
  for (const auto& key : req.agents()) {  // all checked before any is removed
    const AgentRecord* r = lookup(p, key, resp);
    if (!r) return;
    if (r->state == AgentState::kRunning)
      return set_error(resp, v1::Error::CODE_FAILED_PRECONDITION, "agent " + r->id + " (" + r->name + ") is running: stop it first");
    ids.push_back(r->id);
  }
  auto* out = resp.mutable_remove();
  for (const auto& id : ids)
    if (agents_.remove(id)) out->add_removed(id);
}

void ApiServer::do_logs(Conn& c, const v1::LogsRequest& req, v1::Response& resp) {
  const AgentRecord* r = lookup(c.peer, req.agent(), resp);
  if (!r) return;
  Stream s;
  s.agent_id = r->id;
  s.log.reset(::open(r->log_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!s.log.valid()) return set_error(resp, v1::Error::CODE_NOT_FOUND, "no log for agent " + r->id);
  s.until_exit = req.follow();
  resp.Clear();
  c.stream = std::move(s);
}

bool ApiServer::audit_visible(const Peer& p, const std::string& agent, const v1::AuditEvent& e) const {
  if (!agent.empty() && e.agent_id() != agent && e.agent_name() != agent) return false;
  return p.admin || e.owner_uid() == p.uid;
}

void ApiServer::do_audit(Conn& c, const v1::AuditRequest& req, v1::Response& resp) {
  for (const auto& e : audit_.read([&](const v1::AuditEvent& e) { return audit_visible(c.peer, req.agent(), e); })) {
    v1::Response r;
    *r.mutable_audit() = e;
    send(c, r);
  }
  resp.Clear();
  if (req.follow()) {
    c.audit = AuditFollow{req.agent()};
    return;
  }
  resp.set_final(true);
  resp.mutable_audit();  // an empty event ends the stream
}

void ApiServer::do_inspect(const Peer& p, const v1::InspectRequest& req, v1::Response& resp) {
  const AgentRecord* r = lookup(p, req.agent(), resp);
  if (!r) return;
  auto* out = resp.mutable_inspect();
  fill_agent_info(*r, out->mutable_agent());
  out->set_policy_toml(r->policy_text);
  for (const auto& ns : r->namespaces) out->add_namespaces(ns);

  auto effective = policy_of(*r);
  struct {
    std::optional<policy::Policy> policy;
  } parsed;
  if (effective) parsed.policy = std::move(*effective);
  auto* e = out->mutable_enforcement();
  if (!r->delegated_by.empty())
    add_layer(e, "delegation", true,
              "a delegate of " + r->delegated_by + " (trace " + r->trace + ", chain " + join(r->chain) +
                  "): its grants are its policy's narrowed to each delegator's");
  add_layer(e, "namespaces", true, "own user, mount, pid, net, ipc, uts and cgroup namespaces");
  add_layer(e, "identity", true,
            "uid " + std::to_string(r->uid) + (r->owner_uid == 0 ? " (dynamic user for a root-owned agent)" : " (the owner's)"));
  if (parsed.policy) {
    const auto& pol = *parsed.policy;
    const std::string file_layer = agents_.lsm_governs() ? "BPF LSM" : "Landlock";
    if (pol.host_filesystem) {
      add_layer(e, "filesystem read", true, "host filesystem visible; " + file_layer + " allows reading only " + join(pol.read));
      add_layer(e, "filesystem write", true, file_layer + " allows writing only " + join(pol.write));
    } else {
      add_layer(e, "filesystem read", true, "mount namespace: only these paths exist, read-only: " + join(pol.read));
      add_layer(e, "filesystem write", true, "mount namespace: writable: " + join(pol.write) + "; plus private /tmp");
    }
    if (agents_.lsm_governs())
      add_layer(e, "filesystem exec", true,
                "BPF LSM: execute only beneath " + join(pol.exec) +
                    " (and the dynamic loader); no executable mapping of what the agent can write");
    else if (int abi = sandbox::landlock_abi(); abi > 0)
      add_layer(e, "filesystem exec", true,
                "Landlock ABI " + std::to_string(abi) + ": execute only beneath " + join(pol.exec) +
                    " (and the dynamic loader); read and write are enforced by Landlock too");
    else
      add_layer(e, "filesystem exec", false, "not enforced apart from read: this kernel offers no Landlock");
    const std::string granted = pol.devices.empty() ? "no [devices] grant" : "granted: " + join(pol.devices);
    if (agents_.devices_governed())
      add_layer(e, "devices", true,
                "cgroup-BPF device hook: opens only the sandbox's own (null, zero, full, random, urandom, tty, "
                "its pseudo-terminals) and " + granted + "; no mknod");
    else
      add_layer(e, "devices", false,
                "no cgroup device hook on this host: the mount namespace and Landlock decide alone; " + granted);
    if (pol.host_network)
      add_layer(e, "network", true,
                "host network namespace; cgroup-BPF hooks allow only connect " + join(texts(pol.connect)) +
                    " and bind " + join(texts(pol.bind)) + "; no raw, packet or non-route netlink sockets");
    else
      add_layer(e, "network", true,
                "own network namespace with loopback only; connect/bind grants are recorded but nothing outside is reachable");
  }
  if (parsed.policy && parsed.policy->audit_mode)
    add_layer(e, "mode", false,
              "audit: BPF LSM and the socket hooks log what the policy lacks and allow it; namespaces, "
              "capabilities and seccomp still hold");
  add_layer(e, "capabilities", true, "none: bounding, ambient, permitted and effective sets empty");
  add_layer(e, "no_new_privs", true, "set");
  add_layer(e, "seccomp", true, "baseline filter: native ABI only; mount, bpf, keyctl, ptrace, io_uring, nested userns, ... denied");
  for (const auto& l : r->limits) add_layer(e, "limit " + l.name, l.in_force, l.detail);
  if (parsed.policy && parsed.policy->egress)
    add_layer(e, "egress gateway", true,
              "the only way out, at 127.0.0.1:3128 in its namespace: " + std::to_string(parsed.policy->egress->allow.size()) +
                  " grants by name or range, " + std::to_string(parsed.policy->egress->routes.size()) + " routes");
  add_layer(e, "broker", true,
            "/run/agentos/broker.sock: " + (parsed.policy && parsed.policy->tools
                                                ? "tools.allow " + join(parsed.policy->tools->allow) + "; tools.ask " + join(parsed.policy->tools->ask)
                                                : std::string("no [tools]: every call is refused")));
  if (auto q = broker_.quota(r->id)) {
    auto* out_q = out->mutable_quotas();
    out_q->set_calls_per_minute(q->calls_per_minute);
    out_q->set_concurrent(q->concurrent);
    out_q->set_available(static_cast<uint32_t>(std::max(0.0, q->rate.saved())));
    out_q->set_in_flight(q->in_flight);
    out_q->set_calls(q->calls);
    out_q->set_refused(q->refused);
  }
}

}  // namespace agentos
