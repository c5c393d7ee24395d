#include "server/audit_aggregator.h"

#include <gtest/gtest.h>

namespace agentos {
namespace {

using Refusal = AuditAggregator::Refusal;
using namespace std::chrono_literals;

Refusal refusal(const std::string& operation, const std::string& agent = "a1", v1::AuditLayer layer = v1::AUDIT_LAYER_EGRESS,
                uint32_t owner = 1000, v1::Decision decision = v1::DECISION_DENY) {
  return Refusal{agent, "agent-" + agent, owner, layer, decision, operation};
}

const AuditAggregator::Clock::time_point t0{};

TEST(AuditAggregator, TheFirstOfAKindIsRecordedItsRepeatsCountedUntilTheWindowCloses) {
  AuditAggregator agg;
  auto first = agg.add(refusal("egress dns evil.test: no grant"), t0);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->operation, "egress dns evil.test: no grant");
  for (int i = 0; i < 999; ++i) EXPECT_FALSE(agg.add(refusal("egress dns evil.test: no grant"), t0 + 1ms * i));
  EXPECT_TRUE(agg.close(t0 + AuditAggregator::kWindow - 1ms).empty());  // still open

  auto closed = agg.close(t0 + AuditAggregator::kWindow);
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].repeats, 999u);
  EXPECT_EQ(closed[0].kind.operation, "egress dns evil.test: no grant");
  EXPECT_EQ(agg.kinds(), 0u);
  // A new window: recorded in full again.
  EXPECT_TRUE(agg.add(refusal("egress dns evil.test: no grant"), t0 + 10s));
}

TEST(AuditAggregator, AKindWithoutRepeatsLeavesNoAggregate) {
  AuditAggregator agg;
  ASSERT_TRUE(agg.add(refusal("connect tcp 10.0.0.1:443", "a1", v1::AUDIT_LAYER_CGROUP_BPF), t0));
  EXPECT_TRUE(agg.close(t0 + 1h).empty());
  EXPECT_EQ(agg.kinds(), 0u);
}

TEST(AuditAggregator, KindsDifferInAgentOwnerLayerDecisionAndOperation) {
  AuditAggregator agg;
  const std::string op = "connect tcp 10.0.0.1:443";
  EXPECT_TRUE(agg.add(refusal(op), t0));
  EXPECT_TRUE(agg.add(refusal(op, "a2"), t0));
  EXPECT_TRUE(agg.add(refusal(op, "a1", v1::AUDIT_LAYER_CGROUP_BPF), t0));
  EXPECT_TRUE(agg.add(refusal(op, "a1", v1::AUDIT_LAYER_EGRESS, 1001), t0));
  EXPECT_TRUE(agg.add(refusal(op, "a1", v1::AUDIT_LAYER_EGRESS, 1000, v1::DECISION_AUDIT), t0));
  EXPECT_TRUE(agg.add(refusal("connect tcp 10.0.0.2:443"), t0));
  EXPECT_EQ(agg.kinds(), 6u);
}

TEST(AuditAggregator, AFloodOfOneKindDoesNotHideAnother) {
  AuditAggregator agg;
  for (int i = 0; i < 100000; ++i) (void)agg.add(refusal("egress dns evil.test: no grant"), t0);
  auto other = agg.add(refusal("egress connect evil.test:443: not granted"), t0);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->operation, "egress connect evil.test:443: not granted");
  EXPECT_EQ(agg.kinds(), 2u);
}

TEST(AuditAggregator, DistinctNamesFillTheirOwnFamilyThenTheFold) {
  AuditAggregator agg;
  int recorded = 0;
  const int names = 5000;
  for (int i = 0; i < names; ++i) {
    auto r = agg.add(refusal("egress dns n" + std::to_string(i) + ".evil.test: no grant"), t0);
    if (!r) continue;
    ++recorded;
    if (i == static_cast<int>(AuditAggregator::kKindsPerFamily)) {
      EXPECT_NE(r->operation.find("past the cap of kinds"), std::string::npos) << r->operation;
    }
  }
  EXPECT_EQ(recorded, static_cast<int>(AuditAggregator::kKindsPerFamily) + 1);  // and the fold's first
  EXPECT_EQ(agg.kinds(), AuditAggregator::kKindsPerFamily + 1);  // memory does not grow with the names

  // Another family of the same layer, and another layer, are still recorded in full.
  EXPECT_TRUE(agg.add(refusal("egress connect evil.test:443: not granted"), t0));
  EXPECT_TRUE(agg.add(refusal("connect tcp 10.0.0.1:443", "a1", v1::AUDIT_LAYER_CGROUP_BPF), t0));

  auto closed = agg.close(t0 + AuditAggregator::kWindow);
  ASSERT_EQ(closed.size(), 1u);  // only the fold had repeats
  EXPECT_EQ(closed[0].repeats, static_cast<uint64_t>(names - recorded));
  EXPECT_EQ(agg.kinds(), 0u);
}

TEST(AuditAggregator, FamiliesAreCappedTooAndTheFoldIsPerDecision) {
  AuditAggregator agg;
  int recorded = 0;
  for (int i = 0; i < 100; ++i) recorded += agg.add(refusal("op" + std::to_string(i) + " x"), t0).has_value();
  EXPECT_EQ(recorded, static_cast<int>(AuditAggregator::kFamilies) + 1);
  // Audit mode's would-be refusals are folded apart from denials.
  EXPECT_TRUE(agg.add(refusal("opX x", "a1", v1::AUDIT_LAYER_EGRESS, 1000, v1::DECISION_AUDIT), t0));
  EXPECT_EQ(agg.close_all().size(), 1u);
}

TEST(AuditAggregator, RequestsWithoutAnAgentAreTheirOwnersOwn) {
  AuditAggregator agg;
  for (int i = 0; i < 1000; ++i) (void)agg.add(refusal("request refused: n" + std::to_string(i), "", v1::AUDIT_LAYER_API, 1000), t0);
  auto other = agg.add(refusal("request refused: n1", "", v1::AUDIT_LAYER_API, 1001), t0);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->operation, "request refused: n1");  // in full, not in uid 1000's fold
}

TEST(AuditAggregator, ClosedWindowsComeOutOldestFirst) {
  AuditAggregator agg;
  for (int i = 0; i < 3; ++i) {
    auto at = t0 + 1s * (3 - i);  // "c" opens first, "a" last
    std::string op = std::string("connect ") + static_cast<char>('a' + i) + " x";
    (void)agg.add(refusal(op), at);
    (void)agg.add(refusal(op), at);
  }
  auto closed = agg.close_all();
  ASSERT_EQ(closed.size(), 3u);
  EXPECT_EQ(closed[0].kind.operation, "connect c x");
  EXPECT_EQ(closed[2].kind.operation, "connect a x");
}

}  // namespace
}  // namespace agentos
