// [egress] survives the trip to the gateway: what the daemon writes is what the gateway reads,
// secrets filled in by name, and a route whose secret is missing is left out, never sent bare.
#include "egress/egress_wire.h"

#include <gtest/gtest.h>

#include <map>

#include "policy/test_util.h"

namespace agentos::egress {
namespace {

using policy::test::kEgressExample;

gateway::Agent to_wire(const policy::Egress& e) {
  gateway::Agent a;
  put_grants(e, a);
  for (const auto& r : e.routes) put_route(r, a);
  // As the daemon sends it: serialized, and parsed on the other side.
  gateway::Agent received;
  EXPECT_TRUE(received.ParseFromString(a.SerializeAsString()));
  return received;
}

SecretValue from(std::map<std::string, std::string> values) {
  return [values = std::move(values)](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    return it == values.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}

TEST(EgressWire, GrantsRoutesAndLimitsRoundTrip) {
  policy::Egress sent = *policy::test::parsed(kEgressExample).egress;
  policy::Egress got = rules_of(to_wire(sent), from({{"openai", "sk-1"}, {"k1", "a"}, {"k2", "b"}}));

  ASSERT_EQ(got.allow.size(), sent.allow.size());
  for (size_t i = 0; i < sent.allow.size(); ++i) {
    SCOPED_TRACE(sent.allow[i].text);
    EXPECT_EQ(got.allow[i].name, sent.allow[i].name);
    EXPECT_EQ(got.allow[i].subdomains, sent.allow[i].subdomains);
    EXPECT_EQ(got.allow[i].port, sent.allow[i].port);
    ASSERT_EQ(got.allow[i].range.has_value(), sent.allow[i].range.has_value());
    if (sent.allow[i].range) {
      EXPECT_EQ(got.allow[i].range->family, sent.allow[i].range->family);
      EXPECT_EQ(got.allow[i].range->addr, sent.allow[i].range->addr);
      EXPECT_EQ(got.allow[i].range->prefix_len, sent.allow[i].range->prefix_len);
      EXPECT_EQ(got.allow[i].range->port, sent.allow[i].port);
    }
  }
  ASSERT_EQ(got.routes.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(got.routes[i].path, sent.routes[i].path);
    EXPECT_EQ(got.routes[i].tls, sent.routes[i].tls);
    EXPECT_EQ(got.routes[i].host, sent.routes[i].host);
    EXPECT_EQ(got.routes[i].port, sent.routes[i].port);
    EXPECT_EQ(got.routes[i].base_path, sent.routes[i].base_path);
  }
  using Headers = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(got.routes[0].headers, (Headers{{"Authorization", "Bearer sk-1"}}));
  EXPECT_EQ(got.routes[1].headers, (Headers{{"X-A", "1"}, {"X-Key", "a-b"}}));
  EXPECT_EQ(got.max_connections, 8u);
  EXPECT_EQ(got.bandwidth, sent.bandwidth);
}

TEST(EgressWire, ARouteWithAMissingSecretIsLeftOut) {
  policy::Egress sent = *policy::test::parsed(kEgressExample).egress;
  policy::Egress got = rules_of(to_wire(sent), from({{"openai", "sk-1"}, {"k1", "a"}}));  // no k2
  ASSERT_EQ(got.routes.size(), 1u);
  EXPECT_EQ(got.routes[0].path, "/openai");
}

TEST(EgressWire, UnsetLimitsAreThePolicysDefaults) {
  gateway::Agent bare;
  policy::Egress got = rules_of(bare, from({}));
  EXPECT_EQ(got.max_connections, policy::Egress{}.max_connections);
  EXPECT_FALSE(got.bandwidth);
}

}  // namespace
}  // namespace agentos::egress
