// secret set|list|rm: the caller's secrets, for the headers of their agents' egress routes. A
// value comes from standard input or a file, never from the command line, where any user could
// read it in /proc/PID/cmdline.
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

#include <fstream>
#include <iostream>
#include <iterator>

#include "agentctl/commands.h"
#include "agentctl/connection.h"
#include "agentctl/output.h"
#include "agentctl/table.h"
#include "policy/egress_rule.h"

namespace agentos::ctl {

using agentos::v1::Response;
namespace {

constexpr size_t kMaxSecret = 64 * 1024;

Outcome<std::string> read_value(const std::string& file) {
  std::string value;
  if (file.empty() || file == "-") {
    if (::isatty(0)) std::cerr << "secret value (end with Ctrl-D): " << std::flush;
    value.assign(std::istreambuf_iterator<char>(std::cin), {});
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in) return failed("cannot read " + file);
    value.assign(std::istreambuf_iterator<char>(in), {});
  }
  if (value.size() > kMaxSecret) return failed("a secret may hold at most " + std::to_string(kMaxSecret) + " bytes");
  // `echo KEY | agentctl secret set` and editors add one line end; the key has none.
  if (value.ends_with("\n")) value.pop_back();
  if (value.ends_with("\r")) value.pop_back();
  if (value.empty()) return failed("the secret's value is empty");
  return value;
}

Outcome<int> print_changed(const Globals& g, const Response& resp, const char* what) {
  if (!resp.has_secret_changed()) return unexpected_reply(what);
  const auto& c = resp.secret_changed();
  if (g.json) {
    print_json(Json{{"name", c.name()}, {"changes", changes_json(c.changes())}});
    return kExitOk;
  }
  print_changes(c.changes());
  return kExitOk;
}

}  // namespace

Outcome<int> cmd_secret_set(const Globals& g, const std::string& name, const std::string& file) {
  if (auto s = policy::check_secret_name(name); !s) return usage_error(s.error().str());
  auto value = read_value(file);
  if (!value) return value.error();
  if (value->find_first_of(std::string("\r\n\0", 3)) != std::string::npos)
    return failed("the secret holds a line break or NUL, which cannot go in an HTTP header");
  // The value travels as a memfd, which the daemon copies into its store without reading.
  UniqueFd mem(::memfd_create("agentos-secret", MFD_CLOEXEC));
  if (!mem.valid() || ::write(mem.get(), value->data(), value->size()) != static_cast<ssize_t>(value->size()))
    return failed(std::string("memfd: ") + std::strerror(errno));
  explicit_bzero(value->data(), value->size());
  agentos::v1::Request req;
  req.mutable_secret_set()->set_name(name);
  auto resp = call(g.socket, req, mem.get());
  if (!resp) return resp.error();
  return print_changed(g, *resp, "secret set");
}

Outcome<int> cmd_secret_list(const Globals& g) {
  agentos::v1::Request req;
  req.mutable_secret_list();
  auto resp = call(g.socket, req);
  if (!resp) return resp.error();
  if (!empty_or(*resp, &Response::has_secret_list)) return unexpected_reply("secret list");
  const auto& secrets = resp->secret_list().secrets();
  if (g.json) {
    Json out = Json::array();
    for (const auto& s : secrets) out.push_back({{"name", s.name()}, {"bytes", s.bytes()}, {"updated_unix", s.updated_unix()}});
    print_json(out);
    return kExitOk;
  }
  Table t({"NAME", "BYTES", "UPDATED"});
  for (const auto& s : secrets) t.add({s.name(), std::to_string(s.bytes()), local_time(s.updated_unix())});
  t.print(std::cout);
  return kExitOk;
}

Outcome<int> cmd_secret_remove(const Globals& g, const std::string& name) {
  if (auto s = policy::check_secret_name(name); !s) return usage_error(s.error().str());
  agentos::v1::Request req;
  req.mutable_secret_remove()->set_name(name);
  auto resp = call(g.socket, req);
  if (!resp) return resp.error();
  return print_changed(g, *resp, "secret rm");
}

}  // namespace agentos::ctl
