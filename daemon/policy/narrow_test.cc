// Delegation never widens: each kind of grant, narrowed.
#include "policy/narrow.h"

#include <gtest/gtest.h>

#include "policy/test_util.h"

namespace agentos::policy {
namespace {

using test::parsed;

TEST(Narrow, FilesKeepWhatBothGrant) {
  Policy d = parsed("[filesystem]\nread = [\"/usr\", \"/srv/data\"]\nwrite = [\"/srv/out\", \"/srv/data/tmp\"]\nexec = [\"/usr/bin\"]\n");
  Policy by = parsed("[filesystem]\nread = [\"/usr/lib\", \"/srv\"]\nwrite = [\"/srv/out/a\"]\n");
  Policy n = narrow(d, by);
  // /usr/bin is the delegate's to run, but the delegator reads only /usr/lib: gone.
  EXPECT_EQ(n.read, (std::vector<std::string>{"/usr/lib", "/srv/data", "/srv/out", "/srv/out/a", "/srv/data/tmp"}));
  EXPECT_EQ(n.write, std::vector<std::string>{"/srv/out/a"});  // only where the delegator writes
  EXPECT_TRUE(n.exec.empty());  // the delegator runs nothing
}

TEST(Narrow, NetworkEgressToolsAndLimits) {
  Policy d = parsed(R"([egress]
allow = ["*.example.com:443", "api.other.com:443", "10.0.0.0/8:5432"]
[tools]
allow = ["kv", "fs.read"]
ask = ["fs.write"]
[delegate]
allow = ["c", "d"]
[limits]
memory = "1G"
)");
  Policy by = parsed(R"([egress]
allow = ["a.example.com:443", "10.1.0.0/16:5432", "*.other.com:443"]
[tools]
allow = ["kv.get", "fs"]
[tools.constraints]
"kv.get" = { key = ["public/*"] }
[delegate]
allow = ["d"]
max_depth = 2
[limits]
memory = "256M"
pids = 10
)");
  Policy n = narrow(d, by);
  std::vector<std::string> allow;
  for (const auto& g : n.egress->allow) allow.push_back(g.text);
  EXPECT_EQ(allow, (std::vector<std::string>{"a.example.com:443", "api.other.com:443", "10.1.0.0/16:5432"}));
  EXPECT_EQ(n.tools->allow, (std::vector<std::string>{"fs.read", "kv.get"}));
  EXPECT_EQ(n.tools->ask, std::vector<std::string>{"fs.write"});  // the delegate asks, so it still asks
  ASSERT_EQ(n.tools->constraints.at("kv.get").size(), 1u);  // the delegator's narrowing comes along
  EXPECT_EQ(n.delegate->allow, (std::vector<std::string>{"c", "d"}));  // its own, narrowed when used
  EXPECT_EQ(n.delegate->max_depth, 2u);
  EXPECT_EQ(n.limits.memory_bytes, 256u << 20);
  EXPECT_EQ(n.limits.pids, 10u);
  // Nothing granted on one side is nothing granted.
  Policy none = narrow(d, parsed(""));
  EXPECT_FALSE(none.egress);
  EXPECT_FALSE(none.tools);
  EXPECT_TRUE(none.delegate);  // its own
  EXPECT_TRUE(none.read.empty());
}

}  // namespace
}  // namespace agentos::policy
