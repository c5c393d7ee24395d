#include "egress/client_hello.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <vector>

namespace agentos::egress {
namespace {

// A real ClientHello, as OpenSSL writes it, for `sni` (none if empty).
std::vector<uint8_t> openssl_hello(const char* sni) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  BIO* rbio = BIO_new(BIO_s_mem());
  BIO* wbio = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, rbio, wbio);
  if (*sni) SSL_set_tlsext_host_name(ssl, sni);
  SSL_set_connect_state(ssl);
  SSL_do_handshake(ssl);  // wants to read the ServerHello: the ClientHello is in wbio
  char* data;
  long n = BIO_get_mem_data(wbio, &data);
  std::vector<uint8_t> out(data, data + n);
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  return out;
}

TEST(ClientHello, ReadsTheServerNameOfARealHello) {
  auto hello = openssl_hello("api.openai.com");
  Hello h = parse_client_hello(hello);
  EXPECT_EQ(h.status, HelloStatus::kName);
  EXPECT_EQ(h.name, "api.openai.com");
  EXPECT_EQ(parse_client_hello(openssl_hello("")).status, HelloStatus::kNoName);
}

TEST(ClientHello, EveryPrefixWaitsForMore) {
  auto hello = openssl_hello("api.openai.com");
  for (size_t n = 0; n < hello.size(); ++n)
    ASSERT_EQ(parse_client_hello({hello.data(), n}).status, HelloStatus::kNeedMore) << n;
}

TEST(ClientHello, AHelloSplitAcrossRecords) {
  auto hello = openssl_hello("split.example");
  std::vector<uint8_t> body(hello.begin() + 5, hello.end());
  std::vector<uint8_t> two;
  for (auto part : {std::vector<uint8_t>(body.begin(), body.begin() + 10), std::vector<uint8_t>(body.begin() + 10, body.end())}) {
    two.insert(two.end(), {22, 3, 1, static_cast<uint8_t>(part.size() >> 8), static_cast<uint8_t>(part.size())});
    two.insert(two.end(), part.begin(), part.end());
  }
  Hello h = parse_client_hello(two);
  EXPECT_EQ(h.status, HelloStatus::kName);
  EXPECT_EQ(h.name, "split.example");
}

TEST(ClientHello, OtherProtocolsAndLies) {
  std::string get = "GET / HTTP/1.1\r\n";
  EXPECT_EQ(parse_client_hello({reinterpret_cast<const uint8_t*>(get.data()), get.size()}).status, HelloStatus::kNotTls);
  auto hello = openssl_hello("api.openai.com");
  auto lying = hello;
  lying[5] = 2;  // a ServerHello
  EXPECT_EQ(parse_client_hello(lying).status, HelloStatus::kMalformed);
  // Every length field made too long, one at a time: never a read past the end, never a name.
  for (size_t i = 5; i < hello.size(); ++i) {
    auto bad = hello;
    bad[i] = 0xff;
    Hello h = parse_client_hello(bad);
    if (h.status == HelloStatus::kName) {
      EXPECT_EQ(h.name.size(), std::string("api.openai.com").size());
    }
  }
}

}  // namespace
}  // namespace agentos::egress
