#include "policy/narrow.h"

#include <algorithm>

#include "policy/paths.h"
#include "policy/tool_names.h"

namespace agentos::policy {
namespace {

// Subtrees both lists grant: each of one list's paths that the other covers.
std::vector<std::string> paths(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::string> out;
  auto add = [&](const std::string& p) {
    if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
  };
  for (const auto& x : a)
    for (const auto& y : b)
      if (path_covers(y, x)) add(x);
      else if (path_covers(x, y)) add(y);
  return out;
}

// Whether range `outer` holds all of range `inner` (same family, same port and protocol).
bool holds(const NetRule& outer, const NetRule& inner) {
  if (outer.family != inner.family || outer.port != inner.port || outer.proto != inner.proto || outer.prefix_len > inner.prefix_len)
    return false;
  for (unsigned bit = 0; bit < outer.prefix_len; ++bit)
    if (((outer.addr[bit / 8] ^ inner.addr[bit / 8]) >> (7 - bit % 8)) & 1) return false;
  return true;
}

std::vector<NetRule> rules(const std::vector<NetRule>& a, const std::vector<NetRule>& b) {
  std::vector<NetRule> out;
  for (const auto& x : a)
    for (const auto& y : b)
      if (holds(y, x)) out.push_back(x);
      else if (holds(x, y)) out.push_back(y);
  return out;
}

bool name_holds(const EgressGrant& outer, const EgressGrant& inner) {
  if (outer.port != inner.port || outer.range || inner.range) return false;
  if (!outer.subdomains) return !inner.subdomains && outer.name == inner.name;
  return inner.name.size() > outer.name.size() && inner.name.ends_with("." + outer.name);
}

std::vector<EgressGrant> egress_grants(const std::vector<EgressGrant>& a, const std::vector<EgressGrant>& b) {
  std::vector<EgressGrant> out;
  for (const auto& x : a)
    for (const auto& y : b) {
      if (x.range && y.range) {
        if (holds(*y.range, *x.range)) out.push_back(x);
        else if (holds(*x.range, *y.range)) out.push_back(y);
      } else if (x.text == y.text || name_holds(y, x)) {
        out.push_back(x);
      } else if (name_holds(x, y)) {
        out.push_back(y);
      }
    }
  return out;
}

std::vector<std::string> tool_grants(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::string> out;
  for (const auto& x : a)
    for (const auto& y : b)
      if (grant_covers(y, x)) out.push_back(x);
      else if (grant_covers(x, y)) out.push_back(y);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

template <typename T>
std::optional<T> smaller(const std::optional<T>& a, const std::optional<T>& b) {
  if (!a) return b;
  if (!b) return a;
  return std::min(*a, *b);
}

}  // namespace

Policy narrow(const Policy& d, const Policy& by) {
  Policy out = d;
  out.host_filesystem = d.host_filesystem && by.host_filesystem;
  // Writing and running imply reading, for both: what both may read is what either may read at all.
  auto readable = [](const Policy& p) {
    std::vector<std::string> r = p.read;
    r.insert(r.end(), p.write.begin(), p.write.end());
    r.insert(r.end(), p.exec.begin(), p.exec.end());
    return r;
  };
  out.read = paths(readable(d), readable(by));
  out.write = paths(d.write, by.write);
  out.exec = paths(d.exec, by.exec);
  // Devices as both spell them; the launch then checks the nodes reached (objects_within).
  out.devices.clear();
  for (const auto& dev : d.devices)
    if (std::find(by.devices.begin(), by.devices.end(), dev) != by.devices.end()) out.devices.push_back(dev);
  out.host_network = d.host_network && by.host_network;
  out.connect = out.host_network ? rules(d.connect, by.connect) : std::vector<NetRule>{};
  out.bind = out.host_network ? rules(d.bind, by.bind) : std::vector<NetRule>{};
  out.audit_mode = d.audit_mode && by.audit_mode;  // audit mode allows; both must allow it
  if (!d.egress || !by.egress) {
    out.egress.reset();
  } else {
    out.egress->allow = egress_grants(d.egress->allow, by.egress->allow);
    out.egress->routes.clear();  // a route carries its owner's secrets: only where both have it alike
    for (const auto& r : d.egress->routes)
      for (const auto& s : by.egress->routes)
        if (r.path == s.path && r.host == s.host && r.port == s.port && r.tls == s.tls && r.base_path == s.base_path &&
            r.headers == s.headers)
          out.egress->routes.push_back(r);
    out.egress->max_connections = std::min(d.egress->max_connections, by.egress->max_connections);
    out.egress->bandwidth = smaller(d.egress->bandwidth, by.egress->bandwidth);
  }
  if (!d.tools || !by.tools) {
    out.tools.reset();
  } else {
    // Allowed where both allow; asked where either asks and the other grants at all.
    Tools& t = *out.tools;
    std::vector<std::string> d_all = d.tools->allow, by_all = by.tools->allow;
    d_all.insert(d_all.end(), d.tools->ask.begin(), d.tools->ask.end());
    by_all.insert(by_all.end(), by.tools->ask.begin(), by.tools->ask.end());
    t.allow = tool_grants(d.tools->allow, by.tools->allow);
    t.ask.clear();
    for (const auto& g : tool_grants(d_all, by_all))
      if (std::find(t.allow.begin(), t.allow.end(), g) == t.allow.end()) t.ask.push_back(g);
    // Every constraint either side puts on a grant covering one kept holds for it.
    t.constraints.clear();
    for (const auto* list : {&t.allow, &t.ask})
      for (const auto& g : *list)
        for (const auto* side : {&d.tools->constraints, &by.tools->constraints})
          for (const auto& [grant, c] : *side)
            if (grant_covers(grant, g)) t.constraints[g].insert(t.constraints[g].end(), c.begin(), c.end());
    t.calls_per_minute = std::min(d.tools->calls_per_minute, by.tools->calls_per_minute);
    t.concurrent = std::min(d.tools->concurrent, by.tools->concurrent);
    t.consent_timeout_s = std::min(d.tools->consent_timeout_s, by.tools->consent_timeout_s);
  }
  // Whom it may hand tasks on to stays its own: whatever they do is narrowed to this, in turn.
  // The chain's depth and deadline are the tighter of the two.
  if (d.delegate && by.delegate) {
    out.delegate->max_depth = std::min(d.delegate->max_depth, by.delegate->max_depth);
    out.delegate->deadline_s = std::min(d.delegate->deadline_s, by.delegate->deadline_s);
  }
  out.limits.memory_bytes = smaller(d.limits.memory_bytes, by.limits.memory_bytes);
  out.limits.cpu_percent = smaller(d.limits.cpu_percent, by.limits.cpu_percent);
  out.limits.pids = smaller(d.limits.pids, by.limits.pids);
  out.limits.tmp_bytes = smaller(d.limits.tmp_bytes, by.limits.tmp_bytes);
  out.limits.shm_bytes = smaller(d.limits.shm_bytes, by.limits.shm_bytes);
  return out;
}

}  // namespace agentos::policy
