// parse_policy: TOML text to a validated Policy, or every error found in it.
#include <toml++/toml.h>

#include <algorithm>
#include <initializer_list>
#include <map>
#include <new>

#include "policy/builtin_tools.h"
#include "policy/input_limits.h"
#include "policy/egress_rule.h"
#include "policy/limit_values.h"
#include "policy/names.h"
#include "policy/net_rule.h"
#include "policy/paths.h"
#include "policy/policy.h"
#include "policy/quote.h"
#include "policy/walker.h"

namespace agentos::policy {

std::string type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

std::string position_text(const toml::source_position& p) {
  return std::to_string(p.line) + ":" + std::to_string(p.column);
}

void Walker::walk(const toml::table& root) {
  check_keys(root, {"agent", "filesystem", "devices", "network", "egress", "tools", "delegate", "serve", "limits"}, "");
  const toml::table* agent_table = section(root, "agent");
  agent(agent_table);
  if (const toml::table* t = section(root, "filesystem")) filesystem(*t);
  if (const toml::table* t = section(root, "devices")) devices(*t);
  if (const toml::table* t = section(root, "network")) network(*t);
  if (const toml::table* t = section(root, "egress")) egress(*t);
  if (const toml::table* t = section(root, "tools")) tools(*t);
  if (const toml::table* t = section(root, "delegate")) delegate(*t);
  if (const toml::table* t = section(root, "serve")) serve(*t);
  if (const toml::table* t = section(root, "limits")) limits(*t);
  check_workdir_granted();
}

void Walker::error(const toml::source_position& at, std::string message) {
  errors_.push_back({{file_, at.line, at.column}, std::move(message)});
}

void Walker::error(const toml::node& at, std::string message) {
  error(at.source().begin, std::move(message));
}

// Every key of `table` outside `known` is an error at the key: a misspelled key silently
// ignored would be a grant or limit the author believes is in force.
void Walker::check_keys(const toml::table& table, std::initializer_list<std::string_view> known,
                std::string_view where) {
  for (auto&& [key, value] : table) {
    std::string_view k = key.str();
    if (std::find(known.begin(), known.end(), k) != known.end()) continue;
    std::string message = "unknown key " + quote_text(k);
    if (!where.empty()) message += " in [" + std::string(where) + "]";
    std::string_view close;
    if (k.size() <= 32) {
      for (std::string_view candidate : known) {
        if (edit_distance(k, candidate) <= 2) close = candidate;
      }
    }
    if (!close.empty()) {
      message += " (did you mean " + quote_text(close) + "?)";
    } else {
      message += "; expected one of: ";
      for (std::string_view candidate : known) {
        if (candidate != *known.begin()) message += ", ";
        message += candidate;
      }
    }
    error(key.source().begin, std::move(message));
  }
}

const toml::table* Walker::section(const toml::table& root, std::string_view name) {
  const toml::node* n = root.get(name);
  if (!n) return nullptr;
  if (const toml::table* t = n->as_table()) return t;
  error(*n, std::string(name) + " must be a table, not " + type_name(*n));
  return nullptr;
}

// A key that takes one of two words: `off` (the default) or `on`, which sets `flag`.
void Walker::two_way(const toml::table& t, std::string_view key, std::string_view section, std::string_view off,
             std::string_view on, bool& flag) {
  const toml::node* n = t.get(key);
  if (!n) return;
  std::string what = std::string(section) + "." + std::string(key);
  std::optional<std::string> v = string_value(*n, what);
  if (!v) return;
  if (*v == on) flag = true;
  else if (*v != off)
    error(*n, what + ": " + quote_text(*v) + " is neither \"" + std::string(off) + "\" nor \"" + std::string(on) + "\"");
}

std::optional<std::string> Walker::string_value(const toml::node& n, const std::string& what) {
  if (const toml::value<std::string>* s = n.as_string()) {
    if (s->get().find('\0') != std::string::npos) {
      error(n, what + " contains a NUL byte");
      return std::nullopt;
    }
    return s->get();
  }
  error(n, what + " must be a string, not " + type_name(n));
  return std::nullopt;
}

const toml::array* Walker::array_value(const toml::node& n, const std::string& what) {
  if (const toml::array* a = n.as_array()) return a;
  error(n, what + " must be an array of strings, not " + type_name(n));
  return nullptr;
}

void Walker::agent(const toml::table* t) {
  if (t) check_keys(*t, {"name", "command", "workdir", "env", "mode"}, "agent");
  name(t ? t->get("name") : nullptr);
  if (t) two_way(*t, "mode", "agent", "enforce", "audit", out_.audit_mode);

  const toml::node* command = t ? t->get("command") : nullptr;
  if (!command) {
    std::string message =
        "agent.command is required: the program to run, as an array starting with its absolute "
        "path";
    if (t && t->source().begin.line != 0) {
      error(*t, std::move(message));
    } else {
      file_error(std::move(message));
    }
  } else if (const toml::array* args = array_value(*command, "agent.command")) {
    if (args->empty()) error(*command, "agent.command is empty: it needs at least the program");
    for (size_t i = 0; i < args->size(); ++i) {
      const toml::node& arg = *args->get(i);
      std::optional<std::string> s =
          string_value(arg, "agent.command[" + std::to_string(i) + "]");
      if (!s) continue;
      if (i == 0 && !s->starts_with('/')) {
        error(arg, "agent.command[0] " + quote_text(*s) +
                       " must be an absolute path (there is no PATH search)");
        continue;
      }
      out_.command.push_back(std::move(*s));
    }
  }

  if (const toml::node* w = t ? t->get("workdir") : nullptr) {
    if (std::optional<std::string> s = string_value(*w, "agent.workdir")) {
      if (Status st = check_normalized_path(*s); !st) {
        error(*w, "agent.workdir: " + st.error().what);
      } else {
        out_.workdir = std::move(*s);
        workdir_at_ = w->source().begin;
      }
    }
  }

  if (const toml::node* e = t ? t->get("env") : nullptr) env(*e);
}

void Walker::name(const toml::node* n) {
  if (n) {
    if (std::optional<std::string> s = string_value(*n, "agent.name")) {
      if (Status st = check_agent_name(*s); !st) {
        error(*n, "agent.name: " + st.error().what);
      } else {
        out_.name = std::move(*s);
        out_.name_location = {file_, n->source().begin.line, n->source().begin.column};
      }
    }
    return;
  }
  out_.name = name_from_path(file_);
  out_.name_location = {file_, 1, 1};
  if (Status st = check_agent_name(out_.name); !st) {
    file_error("agent.name is not set and the file name does not give a valid one (" +
               st.error().what + "); set agent.name or rename the file");
  }
}

void Walker::env(const toml::node& n) {
  const toml::table* t = n.as_table();
  if (!t) {
    error(n, "agent.env must be a table of strings, not " + type_name(n));
    return;
  }
  for (auto&& [key, value] : *t) {
    std::string_view k = key.str();
    if (Status st = check_env_name(k); !st) {
      error(key.source().begin, "agent.env: " + st.error().what);
      continue;
    }
    if (k.starts_with("AGENTOS_")) {
      error(key.source().begin, "agent.env: " + quote_text(k) +
                                    ": names starting with AGENTOS_ are set by the daemon");
      continue;
    }
    if (std::optional<std::string> v = string_value(value, "agent.env." + std::string(k))) {
      out_.env.emplace(std::string(k), std::move(*v));
    }
  }
}

void Walker::filesystem(const toml::table& t) {
  check_keys(t, {"view", "read", "write", "exec"}, "filesystem");
  two_way(t, "view", "filesystem", "private", "host", out_.host_filesystem);
  path_list(t, "read", out_.read);
  path_list(t, "write", out_.write);
  path_list(t, "exec", out_.exec);
}

void Walker::devices(const toml::table& t) {
  check_keys(t, {"allow"}, "devices");
  const toml::node* n = t.get("allow");
  const toml::array* list = n ? array_value(*n, "devices.allow") : nullptr;
  if (!list) return;
  for (const toml::node& entry : *list) {
    std::optional<std::string> path = string_value(entry, "devices.allow entry");
    if (!path) continue;
    std::string_view dir = std::string_view(*path).substr(0, path->rfind('/') + 1);
    if (Status st = check_normalized_path(*path); !st) {
      error(entry, "devices.allow: " + st.error().what);
    } else if (!path->starts_with("/dev/") || path->size() == 5) {
      error(entry, "devices.allow: " + quote_text(*path) + " is not a device node under /dev");
    } else if (dir.find_first_of("*?[") != std::string_view::npos) {
      error(entry, "devices.allow: " + quote_text(*path) + ": a pattern may only be in the last component");
    } else if (std::find(out_.devices.begin(), out_.devices.end(), *path) != out_.devices.end()) {
      error(entry, "devices.allow: " + quote_text(*path) + " is listed twice");
    } else {
      out_.devices.push_back(std::move(*path));
    }
  }
}

void Walker::path_list(const toml::table& t, std::string_view key, std::vector<std::string>& out) {
  const toml::node* n = t.get(key);
  if (!n) return;
  const std::string what = "filesystem." + std::string(key);
  const toml::array* paths = array_value(*n, what);
  if (!paths) return;
  std::map<std::string, toml::source_position, std::less<>> seen;
  for (const toml::node& entry : *paths) {
    std::optional<std::string> path = string_value(entry, what + " entry");
    if (!path) continue;
    if (Status st = check_grant_path(*path); !st) {
      error(entry, what + ": " + st.error().what);
      continue;
    }
    auto [it, inserted] = seen.emplace(*path, entry.source().begin);
    if (!inserted) {
      error(entry, what + ": " + quote_text(*path) + " is listed twice (first at " +
                       position_text(it->second) + ")");
      continue;
    }
    out.push_back(std::move(*path));
  }
}

void Walker::network(const toml::table& t) {
  check_keys(t, {"namespace", "connect", "bind"}, "network");
  two_way(t, "namespace", "network", "private", "host", out_.host_network);
  rule_list(t, "connect", out_.connect);
  rule_list(t, "bind", out_.bind);
}

void Walker::rule_list(const toml::table& t, std::string_view key, std::vector<NetRule>& out) {
  const toml::node* n = t.get(key);
  if (!n) return;
  const std::string what = "network." + std::string(key);
  const toml::array* rules = array_value(*n, what);
  if (!rules) return;
  // Keyed by what the rule grants, so "tcp://10.0.0.1:80" and "tcp://10.0.0.1/32:80" collide.
  std::map<std::string, toml::source_position> seen;
  for (const toml::node& entry : *rules) {
    std::optional<std::string> text = string_value(entry, what + " entry");
    if (!text) continue;
    Result<NetRule> rule = parse_net_rule(*text);
    if (!rule) {
      error(entry, what + ": " + rule.error().what);
      continue;
    }
    std::string grant;
    grant += static_cast<char>(rule->proto);
    grant += static_cast<char>(rule->family);
    grant.append(reinterpret_cast<const char*>(rule->addr.data()), rule->addr.size());
    grant += static_cast<char>(rule->prefix_len);
    grant += std::to_string(rule->port);
    auto [it, inserted] = seen.emplace(std::move(grant), entry.source().begin);
    if (!inserted) {
      error(entry, what + ": " + quote_text(*text) + " grants the same as the rule at " +
                       position_text(it->second));
      continue;
    }
    out.push_back(std::move(rule.value()));
  }
}

void Walker::limits(const toml::table& t) {
  check_keys(t, {"memory", "cpu", "pids", "tmp", "shm"}, "limits");
  for (auto [key, dest] : {std::pair{"tmp", &out_.limits.tmp_bytes}, {"shm", &out_.limits.shm_bytes}})
    if (const toml::node* n = t.get(key)) {
      if (const toml::value<std::string>* s = n->as_string()) {
        if (Result<uint64_t> bytes = parse_memory(s->get())) *dest = *bytes;
        else error(*n, std::string("limits.") + key + ": " + bytes.error().what);
      } else {
        error(*n, std::string("limits.") + key + " must be a string such as \"256M\", not " + type_name(*n));
      }
    }
  if (const toml::node* n = t.get("memory")) {
    Result<uint64_t> bytes = agentos::error("");
    if (const toml::value<int64_t>* i = n->as_integer()) {
      bytes = check_memory_bytes(i->get());
    } else if (const toml::value<std::string>* s = n->as_string()) {
      bytes = parse_memory(s->get());
    } else {
      bytes =
          agentos::error("must be a string such as \"512M\" or an integer number of bytes, not " +
                         type_name(*n));
    }
    if (bytes) {
      out_.limits.memory_bytes = *bytes;
    } else {
      error(*n, "limits.memory: " + bytes.error().what);
    }
  }
  if (const toml::node* n = t.get("cpu")) {
    if (const toml::value<std::string>* s = n->as_string()) {
      if (Result<uint32_t> cpu = parse_cpu(s->get())) {
        out_.limits.cpu_percent = *cpu;
      } else {
        error(*n, "limits.cpu: " + cpu.error().what);
      }
    } else {
      error(*n, "limits.cpu must be a string such as \"50%\", not " + type_name(*n));
    }
  }
  if (const toml::node* n = t.get("pids")) {
    if (const toml::value<int64_t>* i = n->as_integer()) {
      if (Result<uint32_t> pids = check_pids(i->get())) {
        out_.limits.pids = *pids;
      } else {
        error(*n, "limits.pids: " + pids.error().what);
      }
    } else {
      error(*n, "limits.pids must be an integer, not " + type_name(*n));
    }
  }
}

// The agent's root holds only its grants (plus / and a private /tmp), so a workdir anywhere
// else would not exist when the agent starts.
void Walker::check_workdir_granted() {
  const std::string& w = out_.workdir;
  if (w.empty() || w == "/" || w == "/tmp") return;
  for (const auto* list : {&out_.read, &out_.write, &out_.exec}) {
    for (const std::string& grant : *list) {
      if (path_covers(grant, w)) return;
    }
  }
  error(workdir_at_, "agent.workdir " + quote_text(w) +
                         " is not inside any filesystem grant, so it would not exist in the "
                         "agent's root; grant it (or a parent) in [filesystem]");
}

namespace {

void sort_and_cap(std::vector<Diagnostic>& errors) {
  std::stable_sort(errors.begin(), errors.end(), [](const Diagnostic& a, const Diagnostic& b) {
    if (a.where.line != b.where.line) return a.where.line < b.where.line;
    return a.where.column < b.where.column;
  });
  if (errors.size() > kMaxErrors) {
    size_t more = errors.size() - kMaxErrors;
    errors.resize(kMaxErrors + 1);
    errors.back().message = "... and " + std::to_string(more) + " more error" +
                            (more == 1 ? "" : "s") + " from here on";
  }
}

ParseResult parse_unguarded(std::string_view text, std::string_view path) {
  ParseResult result;
  auto file_error = [&](std::string message) {
    result.errors.push_back({{std::string(path), 0, 0}, std::move(message)});
    return std::move(result);
  };
  if (text.size() > kMaxPolicyBytes) {
    return file_error("policy is larger than " + std::to_string(kMaxPolicyBytes >> 20) + " MiB");
  }
  if (std::optional<TextPosition> at = find_structure_excess(text)) {
    result.errors.push_back(
        {{std::string(path), at->line, at->column},
         "more than " + std::to_string(kMaxStructure) +
             " tables, arrays and dotted-key parts; a policy needs a few dozen at most"});
    return result;
  }

  toml::table root;
  try {
    root = toml::parse(text, std::string_view(path));
  } catch (const toml::parse_error& e) {
    result.errors.push_back({{std::string(path), e.source().begin.line, e.source().begin.column},
                             "TOML syntax: " + escape_text(e.description())});
    return result;
  }

  Policy policy;
  Walker walker(path, policy);
  walker.walk(root);
  result.errors = walker.take_errors();
  if (!result.errors.empty()) {
    sort_and_cap(result.errors);
    return result;
  }
  policy.source_path = std::string(path);
  policy.source_text = std::string(text);
  result.policy = std::move(policy);
  return result;
}

}  // namespace

ParseResult parse_policy(std::string_view text, std::string_view path) {
  // toml++ and the standard library may throw (bad_alloc above all); a policy must never take the
  // daemon down, so anything thrown becomes a diagnostic.
  try {
    return parse_unguarded(text, path);
  } catch (const std::bad_alloc&) {
    return {std::nullopt, {Diagnostic{{std::string(path), 0, 0}, "out of memory parsing policy"}}};
  } catch (const std::exception& e) {
    return {std::nullopt,
            {Diagnostic{{std::string(path), 0, 0}, "internal error: " + escape_text(e.what())}}};
  } catch (...) {
    return {std::nullopt, {Diagnostic{{std::string(path), 0, 0}, "internal error"}}};
  }
}

}  // namespace agentos::policy
