// Helpers shared by the policy tests.
#pragma once

#include <string>
#include <string_view>

#include "policy/policy.h"

namespace agentos::policy::test {

inline ParseResult parse(std::string_view text, std::string_view path = "test.toml") {
  return parse_policy(text, path);
}

// The example policy from the design notes, valid and using every section.
inline constexpr std::string_view kResearcher = R"([agent]
name = "researcher"
command = ["/usr/bin/python3", "main.py"]
workdir = "/opt/agents/researcher"
env = { LANG = "C.UTF-8" }

[filesystem]
read  = ["/usr", "/lib", "/etc/ssl/certs", "/opt/agents/researcher"]
write = ["/var/lib/agentos/agents/researcher"]
exec  = ["/usr/bin/python3"]

[network]
connect = ["tcp://10.1.2.0/24:5432", "tcp://[2001:db8::1]:443", "udp://127.0.0.53:53"]
bind    = ["tcp://0.0.0.0:8080"]

[limits]
memory = "512M"
cpu = "50%"
pids = 64
)";

// Every diagnostic, one per line, for failure messages.
inline std::string errors_text(const ParseResult& r) {
  std::string out;
  for (const Diagnostic& d : r.errors) out += d.str() + "\n";
  return out;
}

}  // namespace agentos::policy::test
