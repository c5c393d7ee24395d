#include "agentctl/here.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <toml++/toml.h>

namespace agentos::ctl {
namespace {

namespace fs = std::filesystem;

// A profile's grants, merged in order; paths beginning "~/" are the caller's home. A profile
// lists what a tool may use where it is installed: a path missing here is left out.
struct Grants {
  std::vector<std::string> read, write, exec, allow, tools, devices;
  std::vector<std::pair<std::string, std::string>> env;
  bool user_home = false;  // HOME is the caller's (only what profiles grant of it is there)
};

std::string home_dir() {
  if (const char* h = std::getenv("HOME"); h && *h == '/') return h;
  if (const passwd* pw = ::getpwuid(::getuid())) return pw->pw_dir;
  return "/";
}

std::string expand(const std::string& p) { return p.starts_with("~/") ? home_dir() + p.substr(1) : p; }

bool exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

void add_unique(std::vector<std::string>& to, const std::string& v) {
  if (std::find(to.begin(), to.end(), v) == to.end()) to.push_back(v);
}

Outcome<void> read_list(const toml::table& t, const char* table, const char* key, std::vector<std::string>& into,
                        bool paths, const std::string& file) {
  const toml::node* n = t.at_path(std::string(table) + "." + key).node();
  if (!n) return {};
  const toml::array* a = n->as_array();
  if (!a) return failed(file + ": " + table + "." + key + " must be a list of strings");
  for (const auto& item : *a) {
    const auto* s = item.as_string();
    if (!s) return failed(file + ": " + table + "." + key + " must be a list of strings");
    std::string v = paths ? expand(s->get()) : s->get();
    if (!paths || exists(v)) add_unique(into, v);
  }
  return {};
}

Outcome<void> load_profile(const std::string& name, Grants& g) {
  if (name.empty() || !std::all_of(name.begin(), name.end(), [](unsigned char c) { return std::isalnum(c) || c == '-'; }))
    return usage_error("profile names are letters, digits and '-': \"" + name + "\"");
  for (const auto& dir : profile_dirs()) {
    std::string file = dir + "/" + name + ".toml";
    if (!exists(file)) continue;
    toml::table t;
    try {
      t = toml::parse_file(file);
    } catch (const toml::parse_error& e) {
      return failed(file + ":" + std::to_string(e.source().begin.line) + ":" + std::to_string(e.source().begin.column) +
                    ": " + std::string(e.description()));
    }
    for (auto [table, key, into, paths] : {std::tuple{"filesystem", "read", &g.read, true},
                                           {"filesystem", "write", &g.write, true},
                                           {"filesystem", "exec", &g.exec, true},
                                           {"egress", "allow", &g.allow, false},
                                           {"tools", "allow", &g.tools, false},
                                           {"devices", "allow", &g.devices, false}})
      if (auto s = read_list(t, table, key, *into, paths, file); !s) return s.error();
    if (const toml::table* env = t["env"].as_table()) {
      for (const auto& [k, v] : *env) {
        const auto* s = v.as_string();
        if (!s) return failed(file + ": env." + std::string(k.str()) + " must be a string");
        g.env.emplace_back(std::string(k.str()), s->get());
      }
    }
    if (auto h = t["home"].value<std::string>()) g.user_home = *h == "user";
    return {};
  }
  std::string where;
  for (const auto& d : profile_dirs()) where += (where.empty() ? "" : ", ") + d;
  return usage_error("no profile \"" + name + "\" (looked in " + where + ")");
}

// A flag's path: made absolute against the current directory; it must exist.
Outcome<std::string> flag_path(const std::string& p, const char* flag) {
  std::error_code ec;
  fs::path abs = fs::absolute(expand(p), ec).lexically_normal();
  std::string s = abs.string();
  if (s.size() > 1 && s.ends_with('/')) s.pop_back();
  if (ec || !exists(s)) return usage_error(std::string(flag) + " " + p + ": no such file or directory");
  return s;
}

// CMD as the shell would find it on our PATH.
Outcome<std::string> find_command(const std::string& cmd) {
  if (cmd.find('/') != std::string::npos) {
    std::error_code ec;
    std::string abs = fs::absolute(cmd, ec).lexically_normal().string();
    if (ec || ::access(abs.c_str(), X_OK) != 0) return usage_error(cmd + ": not an executable file");
    return abs;
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  for (size_t at = 0; at <= dirs.size();) {
    size_t end = dirs.find(':', at);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(at, end - at);
    if (!dir.empty() && dir[0] == '/') {
      std::string candidate = dir + "/" + cmd;
      struct stat st;
      if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(candidate.c_str(), X_OK) == 0)
        return candidate;
    }
    at = end + 1;
  }
  return usage_error(cmd + ": command not found on PATH");
}

// "here-" and the directory's name, as an agent name may be spelt.
std::string agent_name(const fs::path& dir) {
  std::string base = dir.filename().string(), name = "here-";
  for (unsigned char c : base) {
    char out = std::isalnum(c) ? static_cast<char>(std::tolower(c)) : '-';
    if (!(out == '-' && name.back() == '-')) name += out;
  }
  while (name.back() == '-') name.pop_back();
  return name.size() > 40 ? name.substr(0, 40) : name;
}

std::string quoted(const std::string& s) { return nlohmann::json(s).dump(); }  // a TOML basic string

std::string bare_key(const std::string& k) {
  bool bare = !k.empty() && std::all_of(k.begin(), k.end(), [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '-'; });
  return bare ? k : quoted(k);
}

std::string list(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + quoted(v[i]);
  return out + "]";
}

}  // namespace

std::vector<std::string> profile_dirs() {
  std::vector<std::string> dirs;
  if (const char* d = std::getenv("AGENTOS_PROFILE_DIR"); d && *d) dirs.emplace_back(d);
  dirs.emplace_back("/etc/agentos/profiles");
  dirs.emplace_back(AGENTOS_PROFILEDIR);
  return dirs;
}

Outcome<std::string> here_policy(const HereOptions& opts) {
  if (opts.command.empty()) return usage_error("run --here needs a command: agentctl run --here -- CMD [ARG...]");
  std::error_code ec;
  fs::path cwd = fs::current_path(ec);
  if (ec) return failed("the current directory: " + ec.message());
  Grants g;
  std::vector<std::string> profiles{"base"};
  for (const auto& p : opts.profiles) add_unique(profiles, p);
  for (const auto& p : profiles)
    if (auto s = load_profile(p, g); !s) return s.error();
  // The current directory is the one place the agent writes (and runs what it builds).
  add_unique(g.write, cwd.string());
  add_unique(g.exec, cwd.string());
  for (auto [from, into, flag] : {std::tuple{&opts.read, &g.read, "--read"}, {&opts.write, &g.write, "--write"},
                                  {&opts.exec, &g.exec, "--exec"}})
    for (const auto& p : *from) {
      auto abs = flag_path(p, flag);
      if (!abs) return abs.error();
      add_unique(*into, *abs);
    }
  for (const auto& h : opts.allow_hosts) add_unique(g.allow, h);
  for (const auto& t : opts.tools) add_unique(g.tools, t);
  for (const auto& d : opts.devices) add_unique(g.devices, d);
  auto cmd = find_command(opts.command[0]);
  if (!cmd) return cmd.error();
  std::vector<std::string> command{*cmd};
  command.insert(command.end(), opts.command.begin() + 1, opts.command.end());
  // HOME: a private directory (the sandbox's own /tmp), not the project; the user's own only for
  // a profile that needs its config there, of which it grants only what it names.
  g.env.insert(g.env.begin(), {"HOME", g.user_home ? home_dir() : "/tmp"});

  std::string profile_list;
  for (const auto& p : profiles) profile_list += (profile_list.empty() ? "" : ", ") + p;
  std::string t = "# Made by agentctl run --here in " + quoted(cwd.string()) + " (profiles: " + profile_list +
                  ").\n# Save it, edit it, and run it with: agentctl run --policy FILE\n";
  t += "[agent]\nname = " + quoted(agent_name(cwd)) + "\ncommand = " + list(command) + "\nworkdir = " + quoted(cwd.string()) + "\n";
  t += "\n[agent.env]\n";
  std::vector<std::pair<std::string, std::string>> env;  // in order; a later setting wins
  for (const auto& [k, v] : g.env) {
    auto it = std::find_if(env.begin(), env.end(), [&](const auto& e) { return e.first == k; });
    if (it == env.end()) env.emplace_back(k, v);
    else it->second = v;
  }
  for (const auto& [k, v] : env) t += bare_key(k) + " = " + quoted(v) + "\n";
  t += "\n[filesystem]\nread = " + list(g.read) + "\nwrite = " + list(g.write) + "\nexec = " + list(g.exec) + "\n";
  if (!g.allow.empty()) t += "\n[egress]\nallow = " + list(g.allow) + "\n";
  if (!g.tools.empty()) t += "\n[tools]\nallow = " + list(g.tools) + "\n";
  if (!g.devices.empty()) t += "\n[devices]\nallow = " + list(g.devices) + "\n";
  return t;
}

}  // namespace agentos::ctl
