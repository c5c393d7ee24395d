#include "egress/http_request.h"

#include <gtest/gtest.h>

namespace agentos::egress {
namespace {

size_t feed(RequestParser& p, std::string_view s) { return p.feed({s.data(), s.size()}); }

TEST(HttpRequest, HeadAloneAndWhatFollowsIsNotPartOfIt) {
  RequestParser p;
  std::string head = "GET http://example.com/a?b=1 HTTP/1.1\r\nHost: example.com\r\nX-A: 1\r\n\r\n";
  std::string next = "GET http://evil.example/ HTTP/1.1\r\n\r\n";
  EXPECT_EQ(feed(p, head + next), head.size());
  EXPECT_EQ(p.state(), RequestParser::State::kDone);  // no body: the pipelined request is not ours
  EXPECT_EQ(p.head().method, "GET");
  EXPECT_EQ(p.head().target, "http://example.com/a?b=1");
  ASSERT_NE(p.head().header("x-a"), nullptr);
  EXPECT_EQ(*p.head().header("X-A"), "1");
  EXPECT_EQ(feed(p, next), 0u);
}

TEST(HttpRequest, HeadInPiecesThenABodyByLength) {
  RequestParser p;
  std::string req = "POST /openai/v1/chat HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\n\r\nhelloEXTRA";
  size_t used = 0;
  for (size_t i = 0; i < 20; ++i) used += feed(p, std::string_view(req).substr(i, 1));
  EXPECT_EQ(p.state(), RequestParser::State::kHead);
  used += feed(p, std::string_view(req).substr(20, 43 - 20));
  EXPECT_EQ(p.state(), RequestParser::State::kHead);
  used += feed(p, std::string_view(req).substr(43));
  EXPECT_EQ(p.state(), RequestParser::State::kBody);
  std::string rest = req.substr(used);
  EXPECT_EQ(rest, "helloEXTRA");
  EXPECT_EQ(feed(p, rest), 5u);
  EXPECT_EQ(p.state(), RequestParser::State::kDone);
}

TEST(HttpRequest, NothingReadBetweenHeadAndBodyIsNotTheEnd) {
  // As Python's urllib, requests and httpx send: the head in one write, the body in the next, and
  // the gateway's read between them finds nothing.
  RequestParser p;
  std::string head = "POST /x HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\n\r\n";
  EXPECT_EQ(feed(p, head), head.size());
  EXPECT_EQ(feed(p, ""), 0u);
  EXPECT_EQ(p.state(), RequestParser::State::kBody);
  EXPECT_EQ(feed(p, "hel"), 3u);
  EXPECT_EQ(feed(p, ""), 0u);
  EXPECT_EQ(feed(p, "lo"), 2u);
  EXPECT_EQ(p.state(), RequestParser::State::kDone);
  RequestParser chunked;
  feed(chunked, "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_EQ(feed(chunked, ""), 0u);
  feed(chunked, "3\r\nabc\r\n0\r\n\r\n");
  EXPECT_EQ(chunked.state(), RequestParser::State::kDone);
  RequestParser head_only;
  EXPECT_EQ(feed(head_only, "GET / HT"), 8u);
  EXPECT_EQ(feed(head_only, ""), 0u);
  EXPECT_EQ(head_only.state(), RequestParser::State::kHead);
}

TEST(HttpRequest, ChunkedBodyEndsAtItsLastChunk) {
  RequestParser p;
  std::string head = "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  std::string body = "3\r\nabc\r\n0\r\n\r\n";
  EXPECT_EQ(feed(p, head), head.size());
  EXPECT_EQ(p.state(), RequestParser::State::kBody);
  EXPECT_EQ(feed(p, body + "GET / HTTP/1.1\r\n\r\n"), body.size());
  EXPECT_EQ(p.state(), RequestParser::State::kDone);
}

TEST(HttpRequest, GarbageAndOversizedHeadsAreBad) {
  RequestParser garbage;
  feed(garbage, "\x16\x03\x01\x02\x00 not http\r\n\r\n");
  EXPECT_EQ(garbage.state(), RequestParser::State::kBad);
  RequestParser big;
  std::string head = "GET / HTTP/1.1\r\nX: " + std::string(kMaxHeadBytes, 'a');
  feed(big, head);
  EXPECT_EQ(big.state(), RequestParser::State::kBad);
  RequestParser smuggle;
  feed(smuggle, "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_EQ(smuggle.state(), RequestParser::State::kBad);
}

TEST(HttpRequest, Targets) {
  auto a = parse_authority("api.openai.com:443");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "api.openai.com");
  EXPECT_EQ(a->port, 443);
  auto v6 = parse_authority("[2001:db8::1]:443");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "2001:db8::1");
  EXPECT_FALSE(parse_authority("api.openai.com"));
  EXPECT_FALSE(parse_authority("api.openai.com:0"));
  auto u = parse_absolute("http://Example.com:8080/p?q=1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "Example.com");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->path, "/p?q=1");
  EXPECT_EQ(parse_absolute("http://example.com")->path, "/");
  EXPECT_FALSE(parse_absolute("https://example.com/"));
  auto s = parse_absolute("https://example.com/x", true);  // the broker's requests only
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->tls);
  EXPECT_EQ(s->port, 443);
  EXPECT_FALSE(parse_absolute("http://user:pw@example.com/"));
  EXPECT_FALSE(parse_absolute("/relative"));
}

TEST(HttpRequest, RewrittenHeadDropsHopByHopAndReplacesWhatTheGatewaySets) {
  RequestParser p;
  feed(p, "GET http://x/ HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic abc\r\nConnection: keep-alive\r\n"
          "Authorization: Bearer agent-made-up\r\nAccept: */*\r\n\r\n");
  std::string out = rewrite_head(p.head(), "/v1/models", {{"Host", "api.openai.com"}, {"Authorization", "Bearer s3cret"}});
  EXPECT_EQ(out,
            "GET /v1/models HTTP/1.1\r\nAccept: */*\r\nHost: api.openai.com\r\nAuthorization: Bearer s3cret\r\n"
            "Connection: close\r\n\r\n");
}

}  // namespace
}  // namespace agentos::egress
