// Proto enum values as words, both ways, for every enum the API and the gateway's channel define.
#include "common/enum_words.h"

#include <gtest/gtest.h>

#include "agentos.pb.h"
#include "common/agent_change_text.h"
#include "gateway.pb.h"

namespace agentos {
namespace {

template <typename E>
void round_trips() {
  const auto* d = google::protobuf::GetEnumDescriptor<E>();
  for (int i = 0; i < d->value_count(); ++i) {
    auto value = static_cast<E>(d->value(i)->number());
    std::string w = enum_word(value);
    EXPECT_EQ(w.find('_'), std::string::npos) << w;
    EXPECT_EQ(enum_from_word<E>(w), value) << w;
  }
}

TEST(EnumWords, TheWordsReadersSee) {
  EXPECT_EQ(enum_word(v1::AUDIT_LAYER_BPF_LSM), "bpf-lsm");
  EXPECT_EQ(enum_word(v1::AUDIT_LAYER_CGROUP_BPF), "cgroup-bpf");
  EXPECT_EQ(enum_word(v1::DECISION_DENY), "deny");
  EXPECT_EQ(enum_word(v1::AgentInfo::STATE_RUNNING), "running");
  EXPECT_EQ(enum_word(gateway::PROTOCOL_SOCKS5), "socks5");
  EXPECT_EQ(enum_word(v1::AgentChange::OUTCOME_AT_NEXT_START), "at-next-start");
  EXPECT_EQ(enum_word(static_cast<v1::Decision>(99)), "value-99");
}

TEST(EnumWords, EveryValueRoundTrips) {
  round_trips<v1::AuditLayer>();
  round_trips<v1::Decision>();
  round_trips<v1::AgentInfo::State>();
  round_trips<v1::Error::Code>();
  round_trips<v1::AnswerRequest::Scope>();
  round_trips<gateway::Protocol>();
  round_trips<v1::AgentChange::Part>();
  round_trips<v1::AgentChange::Outcome>();
}

TEST(EnumWords, OtherSpellingsAreNotValues) {
  for (const char* w : {"", "BPF-LSM", "bpf_lsm", "AUDIT_LAYER_BPF_LSM", "bpf-lsm ", "nope"})
    EXPECT_FALSE(enum_from_word<v1::AuditLayer>(w)) << w;
}

// The lines agentctl prints and the daemon logs, from the structure the API carries.
TEST(AgentChangeText, OneLinePerOutcome) {
  using C = v1::AgentChange;
  EXPECT_EQ(agent_change_text(agent_change("a1", "coder", C::PART_FILES, C::OUTCOME_IN_FORCE)),
            "agent coder (a1): file grants replaced");
  EXPECT_EQ(agent_change_text(agent_change("a1", "coder", C::PART_EGRESS, C::OUTCOME_REFUSED, "no such secret")),
            "agent coder (a1): egress grants NOT replaced: no such secret");
  EXPECT_EQ(agent_change_text(agent_change("a1", "coder", C::PART_OTHER, C::OUTCOME_AT_NEXT_START)),
            "agent coder (a1): other changes take effect when it next starts");
  EXPECT_EQ(agent_change_text(agent_change("a1", "coder", C::PART_ROUTES, C::OUTCOME_IN_FORCE, "1 of 2 routes")),
            "agent coder (a1): egress routes use the secrets as they are now (1 of 2 routes)");
}

}  // namespace
}  // namespace agentos
