// The socket hooks' decision (bpf/net_decision.bpf.h), run in the kernel through
// BPF_PROG_TEST_RUN, with rule keys built by the daemon's own net_key(). Needs root (CAP_BPF).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cstdlib>
#include <cstring>

#include "enforce/net_guard.h"
#include "net_test.skel.h"
#include "policy/net_rule.h"

namespace agentos::enforce {
namespace {


constexpr uint64_t kCg = 4242;

class NetDecision : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) {
      if (const char* ci = std::getenv("CI"); ci && std::string(ci) == "true")
        FAIL() << "CI runs as root: this test must not skip there";
      GTEST_SKIP() << "loading BPF programs needs root";
    }
    skel_ = agentos_net_test__open_and_load();
    ASSERT_NE(skel_, nullptr) << "cannot load the test program: " << std::strerror(errno);
  }
  void TearDown() override { agentos_net_test__destroy(skel_); }

  void govern(uint32_t generation, uint32_t flags = 0) {
    agentos_agent a{generation, flags};
    ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.agents), &kCg, &a, BPF_ANY), 0);
  }
  void grant(uint8_t op, uint32_t generation, const char* rule) {
    auto r = policy::parse_net_rule(rule);
    ASSERT_TRUE(r.ok()) << rule;
    agentos_net_key k = net_key(op, kCg, generation, *r);
    uint8_t one = 1;
    ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.net_rules), &k, &one, BPF_ANY), 0) << rule;
  }
  // The verdict for op/proto to address:port, as the hooks would reach it.
  int decide(uint8_t op, uint8_t proto, const char* addr, uint16_t port, uint64_t cg = kCg) {
    uint8_t bytes[16] = {};
    in_addr v4;
    if (::inet_pton(AF_INET, addr, &v4) == 1) {  // the hooks store IPv4 mapped into IPv6
      bytes[10] = bytes[11] = 0xff;
      std::memcpy(&bytes[12], &v4, 4);
    } else {
      EXPECT_EQ(::inet_pton(AF_INET6, addr, bytes), 1) << addr;
    }
    uint64_t args[4] = {cg, uint64_t{op} | uint64_t{proto} << 8 | uint64_t{htons(port)} << 16, 0, 0};
    std::memcpy(&args[2], bytes, 16);  // the arguments of bpf/net_test.bpf.c's decide()
    LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args, .ctx_size_in = sizeof args);
    EXPECT_EQ(bpf_prog_test_run_opts(bpf_program__fd(skel_->progs.decide), &opts), 0);
    return static_cast<int>(opts.retval);
  }

  agentos_net_test* skel_ = nullptr;
};

enum { kUngoverned = 0, kAllow = 1, kDeny = 2, kAudit = 3 };  // AGENTOS_NET_*
constexpr uint8_t kTcp = AGENTOS_PROTO_TCP, kUdp = AGENTOS_PROTO_UDP;

TEST_F(NetDecision, OnlyGovernedCgroupsAreJudged) {
  EXPECT_EQ(decide(AGENTOS_OP_CONNECT, kTcp, "10.0.0.1", 80), kUngoverned);
  govern(0);
  EXPECT_EQ(decide(AGENTOS_OP_CONNECT, kTcp, "10.0.0.1", 80), kDeny);  // no grants: deny by default
  EXPECT_EQ(decide(AGENTOS_OP_CONNECT, kTcp, "10.0.0.1", 80, kCg + 1), kUngoverned);
}

TEST_F(NetDecision, PrefixPortProtocolAndOperationAllMatch) {
  govern(0);
  grant(AGENTOS_OP_CONNECT, 0, "tcp://10.1.2.0/24:5432");
  EXPECT_EQ(decide(AGENTOS_OP_CONNECT, kTcp, "10.1.2.7", 5432), kAllow);
  EXPECT_EQ(decide(AGENTOS_OP_CONNECT, kTcp, "10.1.2.255", 5432), kAllow);
  EXPECT_EQ(decide(AGENTOS_OP_CONNECT, kTcp, "10.1.3.7", 5432), kDeny);  // outside the prefix
  EXPECT_EQ(decide(AGENTOS_OP_CONNECT, kTcp, "10.1.2.7", 5433), kDeny);  // other port
  EXPECT_EQ(decide(AGENTOS_OP_CONNECT, kUdp, "10.1.2.7", 5432), kDeny);  // other protocol
  EXPECT_EQ(decide(AGENTOS_OP_BIND, kTcp, "10.1.2.7", 5432), kDeny);  // connect grants no bind
  EXPECT_EQ(decide(AGENTOS_OP_CONNECT, 0, "10.1.2.7", 5432), kDeny);  // neither TCP nor UDP
}

TEST_F(NetDecision, Ipv4MappedIpv6GetsTheIpv4Verdict) {
  govern(0);
  grant(AGENTOS_OP_CONNECT, 0, "tcp://127.0.0.1:8080");
  EXPECT_EQ(decide(AGENTOS_OP_CONNECT, kTcp, "::ffff:127.0.0.1", 8080), kAllow);
  EXPECT_EQ(decide(AGENTOS_OP_CONNECT, kTcp, "::ffff:127.0.0.2", 8080), kDeny);
  EXPECT_EQ(decide(AGENTOS_OP_CONNECT, kTcp, "::1", 8080), kDeny);  // IPv6 loopback is not 127.0.0.1
}

TEST_F(NetDecision, Ipv6Prefixes) {
  govern(0);
  grant(AGENTOS_OP_CONNECT, 0, "tcp://[2001:db8::/32]:443");
  EXPECT_EQ(decide(AGENTOS_OP_CONNECT, kTcp, "2001:db8:1::5", 443), kAllow);
  EXPECT_EQ(decide(AGENTOS_OP_CONNECT, kTcp, "2001:db9::5", 443), kDeny);
}

TEST_F(NetDecision, AGenerationFlipReplacesEveryRuleAtOnce) {
  govern(0);
  grant(AGENTOS_OP_CONNECT, 0, "tcp://10.0.0.1:80");
  grant(AGENTOS_OP_CONNECT, 1, "tcp://10.0.0.2:80");  // written, not yet in force
  EXPECT_EQ(decide(AGENTOS_OP_CONNECT, kTcp, "10.0.0.1", 80), kAllow);
  EXPECT_EQ(decide(AGENTOS_OP_CONNECT, kTcp, "10.0.0.2", 80), kDeny);
  govern(1);  // the flip
  EXPECT_EQ(decide(AGENTOS_OP_CONNECT, kTcp, "10.0.0.1", 80), kDeny);
  EXPECT_EQ(decide(AGENTOS_OP_CONNECT, kTcp, "10.0.0.2", 80), kAllow);
}

TEST_F(NetDecision, AuditModeAllowsWhatItWouldDeny) {
  govern(0, AGENTOS_AGENT_AUDIT);
  grant(AGENTOS_OP_CONNECT, 0, "tcp://10.0.0.1:80");
  EXPECT_EQ(decide(AGENTOS_OP_CONNECT, kTcp, "10.0.0.1", 80), kAllow);
  EXPECT_EQ(decide(AGENTOS_OP_CONNECT, kTcp, "10.0.0.9", 80), kAudit);
}

}  // namespace
}  // namespace agentos::enforce
