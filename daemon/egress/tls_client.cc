#include "egress/tls_client.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

namespace agentos::egress {

std::string tls_error() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "TLS error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

Result<TlsClient> TlsClient::create(const std::string& extra_ca) {
  TlsClient c;
  c.ctx_.reset(SSL_CTX_new(TLS_client_method()));
  if (!c.ctx_) return error("SSL_CTX_new: " + tls_error());
  SSL_CTX* ctx = c.ctx_.get();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);  // a close without close_notify ends the response
  if (SSL_CTX_set_default_verify_paths(ctx) != 1) return error("the system's CA store: " + tls_error());
  if (!extra_ca.empty() && SSL_CTX_load_verify_locations(ctx, extra_ca.c_str(), nullptr) != 1)
    return error("CA file " + extra_ca + ": " + tls_error());
  return c;
}

Result<SslPtr> TlsClient::session(int fd, const std::string& host, bool host_is_address) const {
  SslPtr ssl(SSL_new(ctx_.get()));
  if (!ssl || SSL_set_fd(ssl.get(), fd) != 1) return error("SSL_new: " + tls_error());
  if (host_is_address) {
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), host.c_str()) != 1) return error("verify " + host + ": " + tls_error());
  } else if (SSL_set_tlsext_host_name(ssl.get(), host.c_str()) != 1 || SSL_set1_host(ssl.get(), host.c_str()) != 1) {
    return error("verify " + host + ": " + tls_error());
  }
  SSL_set_connect_state(ssl.get());
  return ssl;
}

}  // namespace agentos::egress
