// TLS to route upstreams (OpenSSL): the gateway, not the agent, speaks TLS where it must add a
// secret, so it verifies the upstream's certificate for the route's host itself.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "common/result.h"

namespace agentos::egress {

struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};
using SslPtr = std::unique_ptr<SSL, SslFree>;

class TlsClient {
 public:
  // The system's trust store, plus `extra_ca` (a PEM file) when given.
  [[nodiscard]] static Result<TlsClient> create(const std::string& extra_ca);

  // A client session on connected socket `fd` for `host` (a name, sent as SNI, or an address),
  // which the peer's certificate must match.
  [[nodiscard]] Result<SslPtr> session(int fd, const std::string& host, bool host_is_address) const;

 private:
  struct CtxFree {
    void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
  };
  std::unique_ptr<SSL_CTX, CtxFree> ctx_;
};

// The last OpenSSL error, as text.
[[nodiscard]] std::string tls_error();

}  // namespace agentos::egress
