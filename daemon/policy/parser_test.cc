// parse_policy end to end: the documented example's exact values, and every error class with the
// line and column it must point at.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "policy/policy.h"
#include "policy/test_util.h"

namespace agentos::policy {
namespace {

using test::errors_text;
using test::parse;
using test::kAgent;
using test::kResearcher;
using test::one_error;
using test::with_agent;




std::array<uint8_t, 16> addr(int family, const char* text) {
  std::array<uint8_t, 16> a{};
  EXPECT_EQ(inet_pton(family, text, a.data()), 1) << text;
  return a;
}

TEST(ParsePolicy, DocumentedExampleParsesToExactValues) {
  ParseResult r = parse_policy(kResearcher, "policy.d/researcher.toml");
  ASSERT_TRUE(r.policy) << errors_text(r);
  EXPECT_TRUE(r.errors.empty());
  const Policy& p = *r.policy;
  EXPECT_EQ(p.name, "researcher");
  EXPECT_EQ(p.name_location.file, "policy.d/researcher.toml");
  EXPECT_EQ(p.name_location.line, 2u);
  EXPECT_EQ(p.name_location.column, 8u);
  EXPECT_EQ(p.command, (std::vector<std::string>{"/usr/bin/python3", "main.py"}));
  EXPECT_EQ(p.workdir, "/opt/agents/researcher");
  EXPECT_EQ(p.env, (std::map<std::string, std::string>{{"LANG", "C.UTF-8"}}));
  EXPECT_EQ(p.read,
            (std::vector<std::string>{"/usr", "/lib", "/etc/ssl/certs", "/opt/agents/researcher"}));
  EXPECT_EQ(p.write, (std::vector<std::string>{"/var/lib/agentos/agents/researcher"}));
  EXPECT_EQ(p.exec, (std::vector<std::string>{"/usr/bin/python3"}));

  ASSERT_EQ(p.connect.size(), 3u);
  EXPECT_EQ(p.connect[0].proto, Proto::kTcp);
  EXPECT_EQ(p.connect[0].family, AF_INET);
  EXPECT_EQ(p.connect[0].addr, addr(AF_INET, "10.1.2.0"));
  EXPECT_EQ(p.connect[0].prefix_len, 24);
  EXPECT_EQ(p.connect[0].port, 5432);
  EXPECT_EQ(p.connect[0].text, "tcp://10.1.2.0/24:5432");
  EXPECT_EQ(p.connect[1].proto, Proto::kTcp);
  EXPECT_EQ(p.connect[1].family, AF_INET6);
  EXPECT_EQ(p.connect[1].addr, addr(AF_INET6, "2001:db8::1"));
  EXPECT_EQ(p.connect[1].prefix_len, 128);
  EXPECT_EQ(p.connect[1].port, 443);
  EXPECT_EQ(p.connect[2].proto, Proto::kUdp);
  EXPECT_EQ(p.connect[2].family, AF_INET);
  EXPECT_EQ(p.connect[2].addr, addr(AF_INET, "127.0.0.53"));
  EXPECT_EQ(p.connect[2].prefix_len, 32);
  EXPECT_EQ(p.connect[2].port, 53);
  ASSERT_EQ(p.bind.size(), 1u);
  EXPECT_EQ(p.bind[0].proto, Proto::kTcp);
  EXPECT_EQ(p.bind[0].family, AF_INET);
  EXPECT_EQ(p.bind[0].addr, addr(AF_INET, "0.0.0.0"));
  EXPECT_EQ(p.bind[0].prefix_len, 32);
  EXPECT_EQ(p.bind[0].port, 8080);

  EXPECT_EQ(p.limits.memory_bytes, 512ull << 20);
  EXPECT_EQ(p.limits.cpu_percent, 50u);
  EXPECT_EQ(p.limits.pids, 64u);
  EXPECT_EQ(p.source_path, "policy.d/researcher.toml");
  EXPECT_EQ(p.source_text, kResearcher);
}

TEST(ParsePolicy, MinimalPolicyTakesItsNameFromTheFile) {
  ParseResult r = parse_policy(kAgent, "/etc/agentos/policy.d/web-fetcher.toml");
  ASSERT_TRUE(r.policy) << errors_text(r);
  EXPECT_EQ(r.policy->name, "web-fetcher");
  EXPECT_EQ(r.policy->name_location.file, "/etc/agentos/policy.d/web-fetcher.toml");
  EXPECT_EQ(r.policy->name_location.line, 1u);
  EXPECT_EQ(r.policy->name_location.column, 1u);
  EXPECT_EQ(r.policy->workdir, "");
  EXPECT_TRUE(r.policy->env.empty());
  EXPECT_TRUE(r.policy->read.empty());
  EXPECT_TRUE(r.policy->connect.empty());
  EXPECT_FALSE(r.policy->limits.memory_bytes);
  EXPECT_FALSE(r.policy->limits.cpu_percent);
  EXPECT_FALSE(r.policy->limits.pids);
}

TEST(ParsePolicy, InvalidNameFromFileIsAFileLevelError) {
  ParseResult r = parse_policy(kAgent, "dir/My Agent.toml");
  ASSERT_FALSE(r.policy);
  ASSERT_EQ(r.errors.size(), 1u) << errors_text(r);
  EXPECT_EQ(r.errors[0].where.line, 0u);
  EXPECT_EQ(r.errors[0].str().rfind("dir/My Agent.toml: agent.name is not set", 0), 0u)
      << r.errors[0].str();
  // An explicit name makes the file name irrelevant.
  EXPECT_TRUE(parse_policy(with_agent("name = \"ok\"\n"), "dir/My Agent.toml").policy);
}

TEST(ParsePolicy, DiagnosticFormat) {
  Diagnostic d{{"a.toml", 3, 7}, "boom"};
  EXPECT_EQ(d.str(), "a.toml:3:7: boom");
  Diagnostic file{{"a.toml", 0, 0}, "gone"};
  EXPECT_EQ(file.str(), "a.toml: gone");
}

TEST(ParsePolicy, TomlSyntaxErrorsCarryTomlsPosition) {
  EXPECT_TRUE(one_error("[agent]\nname = \n", 2, 8, "TOML syntax: "));
  EXPECT_TRUE(
      one_error("[agent]\ncommand = [\"/bin/true\"]\ncommand = [\"/x\"]\n", 3, 11, "redefine"));
  EXPECT_TRUE(one_error(with_agent("[limits]\npids = 99999999999999999999\n"), 4, 28,
                        "not representable in 64 bits"));
  EXPECT_TRUE(one_error("[agent]\ncommand = [\"/bin/\xff\"]\n", 2, 17, "utf-8"));
}

TEST(ParsePolicy, UnknownKeysPointAtTheKey) {
  EXPECT_TRUE(one_error("colour = 1\n" + std::string(kAgent), 1, 1,
                        "unknown key \"colour\"; expected one "
                        "of: agent, filesystem, devices, network, egress, tools, delegate, serve, limits"));
  EXPECT_TRUE(one_error(with_agent("[agnet]\n"), 3, 2,
                        "unknown key \"agnet\" (did you mean "
                        "\"agent\"?)"));
  EXPECT_TRUE(one_error(with_agent("comand = []\n"), 3, 1,
                        "unknown key \"comand\" in [agent] (did you mean \"command\"?)"));
  EXPECT_TRUE(
      one_error(with_agent("[agent.extra]\nx = 1\n"), 3, 8, "unknown key \"extra\" in [agent]"));
  EXPECT_TRUE(one_error(with_agent("[filesystem]\n  reed = []\n"), 4, 3,
                        "unknown key \"reed\" in [filesystem] (did you mean \"read\"?)"));
  EXPECT_TRUE(one_error(with_agent("[network]\negress = []\n"), 4, 1,
                        "unknown key \"egress\" in [network]; expected one of: namespace, connect, bind"));
  EXPECT_TRUE(
      one_error(with_agent("[limits]\nmemroy = \"8M\"\n"), 4, 1, "(did you mean \"memory\"?)"));
  EXPECT_TRUE(
      one_error("limits.io = 5\n" + std::string(kAgent), 1, 8, "unknown key \"io\" in [limits]"));
}

TEST(ParsePolicy, WrongTypesPointAtTheValue) {
  EXPECT_TRUE(one_error("network = 5\n" + std::string(kAgent), 1, 11,
                        "network must be a table, not an integer"));
  EXPECT_TRUE(one_error("[agent]\ncommand = \"/bin/true\"\n", 2, 11,
                        "agent.command must be an array of strings, not a string"));
  EXPECT_TRUE(one_error("[agent]\ncommand = [\"/bin/true\", 5]\n", 2, 25,
                        "agent.command[1] must be a string, not an integer"));
  EXPECT_TRUE(one_error(with_agent("name = 7\n"), 3, 8, "agent.name must be a string"));
  EXPECT_TRUE(
      one_error(with_agent("workdir = [\"/\"]\n"), 3, 11, "agent.workdir must be a string"));
  EXPECT_TRUE(one_error(with_agent("env = \"LANG=C\"\n"), 3, 7, "agent.env must be a table"));
  EXPECT_TRUE(one_error(with_agent("env = { LANG = 1 }\n"), 3, 16,
                        "agent.env.LANG must be a string, not an integer"));
  EXPECT_TRUE(
      one_error("filesystem = []\n" + std::string(kAgent), 1, 14, "filesystem must be a table"));
  EXPECT_TRUE(one_error(with_agent("[filesystem]\nread = \"/usr\"\n"), 4, 8,
                        "filesystem.read must be an array of strings, not a string"));
  EXPECT_TRUE(one_error(with_agent("[filesystem]\nexec = [\"/usr\", true]\n"), 4, 17,
                        "filesystem.exec entry must be a string, not a boolean"));
  EXPECT_TRUE(one_error(with_agent("[network]\nconnect = [80]\n"), 4, 12,
                        "network.connect entry must be a string, not an integer"));
  EXPECT_TRUE(one_error(with_agent("[limits]\npids = \"64\"\n"), 4, 8,
                        "limits.pids must be an integer, not a string"));
  EXPECT_TRUE(one_error(with_agent("[limits]\ncpu = 50\n"), 4, 7,
                        "limits.cpu must be a string such as \"50%\", not an integer"));
  EXPECT_TRUE(one_error(with_agent("[limits]\nmemory = 1.5\n"), 4, 10,
                        "limits.memory: must be a string such as \"512M\" or an integer"));
}

TEST(ParsePolicy, CommandIsRequiredAndAbsolute) {
  ParseResult none = parse("");
  ASSERT_EQ(none.errors.size(), 1u) << errors_text(none);
  EXPECT_EQ(none.errors[0].where.line, 0u);
  EXPECT_NE(none.errors[0].message.find("agent.command is required"), std::string::npos);

  EXPECT_TRUE(one_error("[agent]\nname = \"x\"\n", 1, 1, "agent.command is required"));
  EXPECT_TRUE(one_error("[agent]\ncommand = []\n", 2, 11, "agent.command is empty"));
  EXPECT_TRUE(one_error("[agent]\ncommand = [\"python3\", \"x.py\"]\n", 2, 12,
                        "agent.command[0] \"python3\" must be an absolute path"));
  EXPECT_TRUE(one_error("[agent]\ncommand = [\"/bin/echo\", \"a\\u0000b\"]\n", 2, 25,
                        "agent.command[1] contains a NUL byte"));
  // Arguments after the first are free-form.
  EXPECT_TRUE(parse("[agent]\ncommand = [\"/bin/echo\", \"\", \"../x\", \"a\\nb\"]\n").policy);
}

TEST(ParsePolicy, NameRules) {
  EXPECT_TRUE(one_error(with_agent("name = \"Researcher\"\n"), 3, 8,
                        "agent.name: \"Researcher\" does not start with a letter or digit"));
  EXPECT_TRUE(one_error(with_agent("name = \"-x\"\n"), 3, 8, "does not start with"));
  EXPECT_TRUE(one_error(with_agent("name = \"a b\"\n"), 3, 8, "contains \" \""));
  EXPECT_TRUE(one_error(with_agent("name = \"\"\n"), 3, 8, "the name is empty"));
  EXPECT_TRUE(one_error(with_agent("name = \"" + std::string(64, 'a') + "\"\n"), 3, 8,
                        "longer than 63 characters"));
  ParseResult ok = parse(with_agent("name = \"" + std::string(63, 'a') + "\"\n"));
  ASSERT_TRUE(ok.policy) << errors_text(ok);
  EXPECT_EQ(ok.policy->name, std::string(63, 'a'));
  EXPECT_TRUE(parse(with_agent("name = \"0.a_b-c\"\n")).policy);
}

TEST(ParsePolicy, DevicesAreNodesUnderDevWithAPatternOnlyLast) {
  auto ok = parse(std::string(kAgent) + "[devices]\nallow = [\"/dev/kvm\", \"/dev/dri/renderD*\"]\n");
  ASSERT_TRUE(ok.policy) << errors_text(ok);
  EXPECT_EQ(ok.policy->devices, (std::vector<std::string>{"/dev/kvm", "/dev/dri/renderD*"}));
  auto devices = [](std::string list) { return std::string(kAgent) + "[devices]\nallow = [" + list + "]\n"; };
  int line = 1 + static_cast<int>(std::count(kAgent.begin(), kAgent.end(), '\n')) + 1;
  EXPECT_TRUE(one_error(devices("\"/etc/passwd\""), line, 10, "\"/etc/passwd\" is not a device node under /dev"));
  EXPECT_TRUE(one_error(devices("\"/dev\""), line, 10, "not a device node under /dev"));
  EXPECT_TRUE(one_error(devices("\"/dev/../etc/shadow\""), line, 10, "not normalized"));
  EXPECT_TRUE(one_error(devices("\"/dev/*/card0\""), line, 10, "a pattern may only be in the last component"));
  EXPECT_TRUE(one_error(devices("\"/dev/kvm\", \"/dev/kvm\""), line, 22, "\"/dev/kvm\" is listed twice"));
  EXPECT_TRUE(one_error(devices("1"), line, 10, "devices.allow entry"));
  EXPECT_TRUE(one_error(std::string(kAgent) + "[devices]\ndeny = []\n", line, 1, "unknown key \"deny\""));
}

TEST(ParsePolicy, WorkdirMustBeNormalizedAndGranted) {
  EXPECT_TRUE(one_error(with_agent("workdir = \"work\"\n"), 3, 11,
                        "agent.workdir: \"work\" is not "
                        "absolute"));
  EXPECT_TRUE(one_error(with_agent("workdir = \"/srv/a/../b\"\n"), 3, 11, "not normalized"));
  EXPECT_TRUE(one_error(with_agent("workdir = \"/srv/a\"\n[filesystem]\nread = [\"/srv/ab\"]\n"), 3,
                        11, "agent.workdir \"/srv/a\" is not inside any filesystem grant"));
  for (std::string_view grant : {"read", "write", "exec"}) {
    std::string text = with_agent("workdir = \"/srv/a/b\"\n[filesystem]\n" + std::string(grant) +
                                  " = [\"/srv/a\"]\n");
    EXPECT_TRUE(parse(text).policy) << text << errors_text(parse(text));
  }
  // "/" and the private /tmp exist in every sandbox.
  EXPECT_EQ(parse(with_agent("workdir = \"/\"\n")).policy->workdir, "/");
  EXPECT_TRUE(parse(with_agent("workdir = \"/tmp\"\n")).policy);
  EXPECT_TRUE(one_error(with_agent("workdir = \"/tmp/x\"\n"), 3, 11, "not inside any"));
}

TEST(ParsePolicy, EnvRules) {
  EXPECT_TRUE(one_error(with_agent("env = { 1X = \"a\" }\n"), 3, 9,
                        "agent.env: \"1X\" is not a valid environment variable name"));
  EXPECT_TRUE(one_error(with_agent("[agent.env]\nOK = \"1\"\n\"A=B\" = \"1\"\n"), 5, 1,
                        "\"A=B\" is not a valid environment variable name"));
  EXPECT_TRUE(one_error(with_agent("env = { AGENTOS_AGENT = \"x\" }\n"), 3, 9,
                        "names starting with AGENTOS_ are set by the daemon"));
  EXPECT_TRUE(one_error(with_agent("env = { A = \"x\\u0000\" }\n"), 3, 13,
                        "agent.env.A contains a NUL byte"));
  ParseResult ok = parse(with_agent("env = { _x1 = \"\", PATH = \"/opt/bin:/usr/bin\" }\n"));
  ASSERT_TRUE(ok.policy) << errors_text(ok);
  EXPECT_EQ(ok.policy->env.at("PATH"), "/opt/bin:/usr/bin");
  EXPECT_EQ(ok.policy->env.at("_x1"), "");
}

TEST(ParsePolicy, PathRules) {
  auto read = [](std::string_view entries) {
    return with_agent("[filesystem]\nread = [" + std::string(entries) + "]\n");
  };
  // The entry starts at column 9 of line 4: `read = [` is 8 characters.
  EXPECT_TRUE(one_error(read("\"usr\""), 4, 9, "\"usr\" is not absolute"));
  EXPECT_TRUE(one_error(read("\"/\""), 4, 9,
                        "\"/\" cannot be granted: it would give the agent "
                        "the whole host filesystem"));
  EXPECT_TRUE(one_error(read("\"/proc\""), 4, 9, "the sandbox mounts its own /proc"));
  EXPECT_TRUE(one_error(read("\"/proc/self/fd\""), 4, 9, "/proc"));
  EXPECT_TRUE(one_error(read("\"/sys/fs/cgroup\""), 4, 9, "host devices and kernel settings"));
  EXPECT_TRUE(one_error(read("\"/dev\""), 4, 9, "minimal /dev"));
  EXPECT_TRUE(one_error(read("\"/dev/null\""), 4, 9, "minimal /dev"));
  EXPECT_TRUE(parse(read("\"/tmp/socket-dir\"")).policy);  // mounted over the private /tmp
  EXPECT_TRUE(one_error(read("\"/usr/\""), 4, 9, "ends with \"/\" (write \"/usr\")"));
  EXPECT_TRUE(one_error(read("\"/usr//lib\""), 4, 9, "contains \"//\""));
  EXPECT_TRUE(one_error(read("\"/usr/./lib\""), 4, 9, "contains a \".\" part"));
  EXPECT_TRUE(one_error(read("\"/usr/lib/..\""), 4, 9, "contains a \"..\" part"));
  EXPECT_TRUE(one_error(read("\"/a\\nb\""), 4, 9, "\"/a\\nb\" contains a line break"));
  EXPECT_TRUE(one_error(read("\"/a\\u0000\""), 4, 9, "contains a NUL byte"));
  EXPECT_TRUE(one_error(read("\"\""), 4, 9, "path is empty"));
  EXPECT_TRUE(one_error(read("\"/usr\", \"/etc\", \"/usr\""), 4, 25,
                        "filesystem.read: \"/usr\" is listed twice (first at 4:9)"));
  // Look-alikes of refused trees are fine, and the same path in two lists is not a duplicate.
  ParseResult ok =
      parse(with_agent("[filesystem]\nread = [\"/process\", \"/devices\", "
                       "\"/system\", \"/tmpfiles\", \"/srv\"]\nwrite = [\"/srv\"]\n"));
  EXPECT_TRUE(ok.policy) << errors_text(ok);
}

TEST(ParsePolicy, NetworkRuleErrors) {
  auto connect = [](std::string_view rule) {
    return with_agent("[network]\nconnect = [\"" + std::string(rule) + "\"]\n");
  };
  // The entry starts at column 12 of line 4: `connect = [` is 11 characters.
  EXPECT_TRUE(one_error(connect("http://10.0.0.1:80"), 4, 12, "does not start with \"tcp://\""));
  EXPECT_TRUE(one_error(connect("tcp://10.0.0:80"), 4, 12, "\"10.0.0\" is not an IPv4 address"));
  EXPECT_TRUE(one_error(connect("tcp://[2001:db8::g]:80"), 4, 12, "is not an IPv6 address"));
  EXPECT_TRUE(
      one_error(connect("tcp://2001:db8::1:443"), 4, 12, "an IPv6 address goes in brackets"));
  EXPECT_TRUE(
      one_error(connect("tcp://10.0.0.0/33:80"), 4, 12, "prefix /33 is out of range 0..32"));
  EXPECT_TRUE(one_error(connect("tcp://[::/129]:80"), 4, 12, "prefix /129 is out of range 0..128"));
  EXPECT_TRUE(one_error(connect("tcp://10.1.2.3/24:5432"), 4, 12,
                        "\"10.1.2.3/24\" has host bits set beyond /24; the network address is "
                        "10.1.2.0/24"));
  EXPECT_TRUE(one_error(connect("tcp://[2001:db8::1/32]:443"), 4, 12,
                        "the network address is [2001:db8::]/32"));
  EXPECT_TRUE(one_error(connect("tcp://10.0.0.1"), 4, 12, "has no port"));
  EXPECT_TRUE(one_error(connect("tcp://[::1]"), 4, 12, "has no port"));
  EXPECT_TRUE(one_error(connect("tcp://10.0.0.1:0"), 4, 12, "port 0 is out of range 1..65535"));
  EXPECT_TRUE(one_error(connect("tcp://10.0.0.1:65536"), 4, 12, "port 65536 is out of range"));
  EXPECT_TRUE(one_error(connect("udp://10.0.0.1:dns"), 4, 12, "port \"dns\" is not a number"));
  EXPECT_TRUE(
      one_error(with_agent("[network]\nbind = [\"tcp://0.0.0.0:80\", \"tcp://0.0.0.0/32:80\"]\n"),
                4, 29, "\"tcp://0.0.0.0/32:80\" grants the same as the rule at 4:9"));
  // The same address with another protocol or port is another grant.
  EXPECT_TRUE(parse(with_agent("[network]\nbind = [\"tcp://0.0.0.0:80\", \"udp://0.0.0.0:80\", "
                               "\"tcp://0.0.0.0:81\"]\n"))
                  .policy);
}

TEST(ParsePolicy, LimitErrors) {
  auto limit = [](std::string_view line) {
    return with_agent("[limits]\n" + std::string(line) + "\n");
  };
  EXPECT_TRUE(one_error(limit("memory = \"512X\""), 4, 10, "\"512X\" is not a size"));
  EXPECT_TRUE(one_error(limit("memory = \"1M\""), 4, 10, "\"1M\" is below the minimum of 4M"));
  EXPECT_TRUE(one_error(limit("memory = 1024"), 4, 10, "1024 bytes is below the minimum of 4M"));
  EXPECT_TRUE(one_error(limit("memory = -5"), 4, 10, "must be positive"));
  EXPECT_TRUE(one_error(limit("memory = \"99999999999999999999\""), 4, 10, "too large"));
  EXPECT_TRUE(one_error(limit("memory = \"8388608T\""), 4, 10, "too large"));
  EXPECT_TRUE(one_error(limit("cpu = \"50\""), 4, 7, "\"50\" is not a percentage"));
  EXPECT_TRUE(one_error(limit("cpu = \"0%\""), 4, 7, "\"0%\" is out of range 1%..100000%"));
  EXPECT_TRUE(one_error(limit("cpu = \"100001%\""), 4, 7, "out of range"));
  EXPECT_TRUE(one_error(limit("cpu = \"12.5%\""), 4, 7, "not a whole percentage"));
  EXPECT_TRUE(one_error(limit("pids = 0"), 4, 8, "limits.pids: 0 is out of range 1..4194304"));
  EXPECT_TRUE(one_error(limit("pids = 4194305"), 4, 8, "out of range"));
  EXPECT_TRUE(one_error(limit("pids = -9223372036854775808"), 4, 8, "out of range"));

  ParseResult ok = parse(limit("memory = 4194304\ncpu = \"100000%\"\npids = 4194304"));
  ASSERT_TRUE(ok.policy) << errors_text(ok);
  EXPECT_EQ(ok.policy->limits.memory_bytes, 4194304u);
  EXPECT_EQ(ok.policy->limits.cpu_percent, 100000u);
  EXPECT_EQ(ok.policy->limits.pids, 4194304u);
  EXPECT_EQ(parse(limit("memory = \"1T\"")).policy->limits.memory_bytes, 1ull << 40);
}

TEST(ParsePolicy, AllErrorsAreReportedInFileOrder) {
  // Sections out of order, so the walk finds the errors in a different order than the file has.
  constexpr std::string_view kText = R"([limits]
pids = 0
[agent]
name = "Bad"
command = ["rel"]
[filesystem]
read = ["/proc", "ok"]
)";
  ParseResult r = parse(kText);
  ASSERT_FALSE(r.policy);
  ASSERT_EQ(r.errors.size(), 5u) << errors_text(r);
  std::vector<std::pair<uint32_t, uint32_t>> at;
  for (const Diagnostic& d : r.errors) at.emplace_back(d.where.line, d.where.column);
  EXPECT_EQ(at,
            (std::vector<std::pair<uint32_t, uint32_t>>{{2, 8}, {4, 8}, {5, 12}, {7, 9}, {7, 18}}));
}

TEST(ParsePolicy, ErrorFloodIsCapped) {
  std::string text = with_agent("[filesystem]\nread = [\n");
  for (int i = 0; i < 150; ++i) text += "  \"rel" + std::to_string(i) + "\",\n";
  text += "]\n";
  ParseResult r = parse(text);
  ASSERT_EQ(r.errors.size(), 101u);
  EXPECT_EQ(r.errors[99].where.line, 104u);
  EXPECT_EQ(r.errors[100].where.line, 105u);
  EXPECT_EQ(r.errors[100].message, "... and 50 more errors from here on");
}

TEST(ParsePolicy, OversizedTextIsRefused) {
  std::string text = with_agent("# " + std::string(1 << 20, 'x') + "\n");
  ParseResult r = parse(text);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].str(), "test.toml: policy is larger than 1 MiB");
}

TEST(FindDuplicateNames, PointsAtTheLaterPolicy) {
  ParseResult a = parse_policy("[agent]\nname = \"x\"\ncommand = [\"/a\"]\n", "a.toml");
  ParseResult b = parse_policy("[agent]\ncommand = [\"/b\"]\n", "dir/y.toml");
  ParseResult c = parse_policy("[agent]\ncommand = [\"/c\"]\n  name = \"x\"\n", "c.toml");
  ParseResult d = parse_policy("[agent]\ncommand = [\"/d\"]\n", "other/y.toml");
  ASSERT_TRUE(a.policy && b.policy && c.policy && d.policy);
  std::vector<Diagnostic> dups = find_duplicate_names({*a.policy, *b.policy, *c.policy, *d.policy});
  ASSERT_EQ(dups.size(), 2u);
  EXPECT_EQ(dups[0].str(), "c.toml:3:10: duplicate agent name \"x\" (first defined at a.toml:2:8)");
  EXPECT_EQ(dups[1].str(),
            "other/y.toml:1:1: duplicate agent name \"y\" (first defined at dir/y.toml:1:1)");
  EXPECT_TRUE(find_duplicate_names({*a.policy, *b.policy}).empty());
  EXPECT_TRUE(find_duplicate_names({}).empty());
}

TEST(Agent, ModeIsEnforceOrAudit) {
  auto p = parse(std::string("[agent]\ncommand = [\"/usr/bin/true\"]\nmode = \"audit\"\n"));
  ASSERT_TRUE(p.policy) << errors_text(p);
  EXPECT_TRUE(p.policy->audit_mode);
  EXPECT_FALSE(parse(kResearcher).policy->audit_mode);
  EXPECT_TRUE(one_error("[agent]\ncommand = [\"/usr/bin/true\"]\nmode = \"learn\"\n", 3, 8, "neither"));
}

TEST(Filesystem, ViewIsPrivateOrHost) {
  auto p = parse(with_agent("[filesystem]\nview = \"host\"\nread = [\"/usr\"]\n"));
  ASSERT_TRUE(p.policy) << errors_text(p);
  EXPECT_TRUE(p.policy->host_filesystem);
  EXPECT_TRUE(one_error(with_agent("[filesystem]\nview = \"all\"\n"), 4, 8, "neither"));
}

TEST(Network, NamespaceIsPrivateOrHost) {
  auto p = parse(with_agent("[network]\nnamespace = \"host\"\nconnect = [\"tcp://127.0.0.1:11434\"]\n"));
  ASSERT_TRUE(p.policy) << errors_text(p);
  EXPECT_TRUE(p.policy->host_network);
  auto q = parse(with_agent("[network]\nnamespace = \"private\"\n"));
  ASSERT_TRUE(q.policy) << errors_text(q);
  EXPECT_FALSE(q.policy->host_network);
  EXPECT_TRUE(one_error(with_agent("[network]\nnamespace = \"shared\"\n"), 4, 13, "neither"));
  EXPECT_TRUE(one_error(with_agent("[network]\nnamespace = 1\n"), 4, 13, "network.namespace"));
}

}  // namespace
}  // namespace agentos::policy
