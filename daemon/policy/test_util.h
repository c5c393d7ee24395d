// Helpers shared by the policy tests.
#pragma once

#include <gtest/gtest.h>

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

// An [egress] using every kind of grant, route and limit (its tests and the wire's).
inline constexpr std::string_view kEgressExample = R"([egress]
allow = ["api.openai.com:443", "*.Wikipedia.org:443", "10.20.0.0/16:5432", "[2001:db8::/32]:443"]
max_connections = 8
bandwidth = "1M"
[[egress.route]]
path = "/openai"
upstream = "https://api.openai.com/v1"
header = "Authorization: Bearer {secret:openai}"
[[egress.route]]
path = "/wiki/search"
upstream = "http://10.20.0.5:8080"
header = ["X-A: 1", "X-Key: {secret:k1}-{secret:k2}"]
)";

// Every diagnostic, one per line, for failure messages.
inline std::string errors_text(const ParseResult& r) {
  std::string out;
  for (const Diagnostic& d : r.errors) out += d.str() + "\n";
  return out;
}

// Every error case starts from this, so a bad line 3 really is the third line of the file.
inline constexpr std::string_view kAgent = "[agent]\ncommand = [\"/usr/bin/true\"]\n";

// Exactly one error, at line:column, whose message contains `needle`.
inline ::testing::AssertionResult one_error(std::string_view text, uint32_t line, uint32_t column,
                                     std::string_view needle) {
  ParseResult r = parse(text);
  if (r.policy) return ::testing::AssertionFailure() << "parsed without errors:\n" << text;
  if (r.errors.size() != 1) {
    return ::testing::AssertionFailure() << r.errors.size() << " errors:\n" << errors_text(r);
  }
  const Diagnostic& d = r.errors[0];
  if (d.where.line != line || d.where.column != column ||
      d.message.find(needle) == std::string::npos) {
    return ::testing::AssertionFailure() << "expected " << line << ":" << column << " containing \""
                                         << needle << "\", got: " << d.str();
  }
  return ::testing::AssertionSuccess();
}

inline std::string with_agent(std::string_view rest) { return std::string(kAgent) + std::string(rest); }

// A valid policy of kAgent and `rest`; a parse error fails the test.
inline Policy parsed(std::string_view rest) {
  auto r = parse(with_agent(rest));
  EXPECT_TRUE(r.policy) << errors_text(r);
  return r.policy ? *r.policy : Policy{};
}

}  // namespace agentos::policy::test
