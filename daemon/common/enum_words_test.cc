// Proto enum values as words, both ways, for every enum the API and the gateway's channel define.
#include "common/enum_words.h"

#include <gtest/gtest.h>

#include "agentos.pb.h"
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
  EXPECT_EQ(enum_word(static_cast<v1::Decision>(99)), "value-99");
}

TEST(EnumWords, EveryValueRoundTrips) {
  round_trips<v1::AuditLayer>();
  round_trips<v1::Decision>();
  round_trips<v1::AgentInfo::State>();
  round_trips<v1::Error::Code>();
  round_trips<v1::AnswerRequest::Scope>();
  round_trips<gateway::Protocol>();
}

TEST(EnumWords, OtherSpellingsAreNotValues) {
  for (const char* w : {"", "BPF-LSM", "bpf_lsm", "AUDIT_LAYER_BPF_LSM", "bpf-lsm ", "nope"})
    EXPECT_FALSE(enum_from_word<v1::AuditLayer>(w)) << w;
}

}  // namespace
}  // namespace agentos
