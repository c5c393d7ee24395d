#include "egress/dns_message.h"

#include <ares.h>
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netdb.h>

#include <vector>

namespace agentos::egress {
namespace {

// A query as c-ares (the resolver inside Node, curl and others) writes it; with `edns`, an OPT
// record follows the question, as glibc and c-ares send it when asked to.
std::vector<uint8_t> real_query(const char* name, int type, uint16_t id, bool edns = false) {
  unsigned char* buf = nullptr;
  int len = 0;
  EXPECT_EQ(ares_create_query(name, kDnsClassIn, type, id, 1, &buf, &len, edns ? 1232 : 0), ARES_SUCCESS);
  std::vector<uint8_t> out(buf, buf + len);
  ares_free_string(buf);
  return out;
}

std::span<const uint8_t> bytes(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

TEST(DnsMessage, ReadsARealQuery) {
  for (bool edns : {false, true}) {
    auto q = parse_dns_query(real_query("API.Example.TEST", kDnsTypeA, 0x1234, edns));
    ASSERT_EQ(q.status, DnsQuery::Status::kOk) << edns;
    EXPECT_EQ(q.id, 0x1234);
    EXPECT_TRUE(q.recursion_desired);
    EXPECT_EQ(q.name, "api.example.test");
    EXPECT_EQ(q.type, kDnsTypeA);
    EXPECT_EQ(q.klass, kDnsClassIn);
  }
  EXPECT_EQ(parse_dns_query(real_query("api.example.test", kDnsTypeAAAA, 7)).type, kDnsTypeAAAA);
}

TEST(DnsMessage, AnAnswerCAresReads) {
  auto q = parse_dns_query(real_query("api.example.test", kDnsTypeA, 42));
  std::string reply = dns_reply(q, kDnsNoError, std::array<uint8_t, 4>{127, 77, 0, 1}, 60);
  hostent* host = nullptr;
  ares_addrttl ttls[2];
  int nttls = 2;
  ASSERT_EQ(ares_parse_a_reply(bytes(reply).data(), static_cast<int>(reply.size()), &host, ttls, &nttls), ARES_SUCCESS);
  EXPECT_STREQ(host->h_name, "api.example.test");
  ares_free_hostent(host);
  ASSERT_EQ(nttls, 1);
  EXPECT_EQ(ttls[0].ttl, 60);
  char text[INET_ADDRSTRLEN];
  EXPECT_STREQ(inet_ntop(AF_INET, &ttls[0].ipaddr, text, sizeof text), "127.77.0.1");
  EXPECT_EQ(static_cast<uint8_t>(reply[0]) << 8 | static_cast<uint8_t>(reply[1]), 42);
}

TEST(DnsMessage, NameErrorsAndEmptyAnswers) {
  auto q = parse_dns_query(real_query("evil.example.test", kDnsTypeA, 9));
  std::string nx = dns_reply(q, kDnsNxDomain);
  EXPECT_EQ(nx[3] & 0x0f, kDnsNxDomain);
  hostent* host = nullptr;
  EXPECT_EQ(ares_parse_a_reply(bytes(nx).data(), static_cast<int>(nx.size()), &host, nullptr, nullptr), ARES_ENODATA);
  std::string empty = dns_reply(q, kDnsNoError);
  EXPECT_EQ(empty[3] & 0x0f, kDnsNoError);
  EXPECT_EQ(empty[7], 0);  // no answer records
}

TEST(DnsMessage, WhatIsNotAQueryGetsNoAnswerOrAFormatError) {
  auto good = real_query("api.example.test", kDnsTypeA, 5);
  for (size_t n = 0; n < good.size(); ++n) {
    auto status = parse_dns_query({good.data(), n}).status;
    ASSERT_NE(status, DnsQuery::Status::kOk) << n;
    ASSERT_EQ(status, n < 12 ? DnsQuery::Status::kDrop : DnsQuery::Status::kFormatError) << n;
  }
  auto response = good;
  response[2] |= 0x80;
  EXPECT_EQ(parse_dns_query(response).status, DnsQuery::Status::kDrop);  // never answer an answer
  auto two = good;
  two[5] = 2;
  EXPECT_EQ(parse_dns_query(two).status, DnsQuery::Status::kFormatError);
  auto notify = good;
  notify[2] = static_cast<uint8_t>(4 << 3);
  EXPECT_EQ(parse_dns_query(notify).status, DnsQuery::Status::kNotImplemented);
  // A name that points at itself.
  std::vector<uint8_t> loop = {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1};
  EXPECT_EQ(parse_dns_query(loop).status, DnsQuery::Status::kFormatError);
  // A format error echoes the id and no question.
  auto bad = parse_dns_query(two);
  std::string reply = dns_reply(bad, kDnsFormErr);
  EXPECT_EQ(reply.size(), 12u);
  EXPECT_EQ(reply[1], 5);
  EXPECT_EQ(reply[3] & 0x0f, kDnsFormErr);
}

}  // namespace
}  // namespace agentos::egress
