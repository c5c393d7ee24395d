// The tool host's one way to reach a server: libcurl, with the account's user and password, the
// protocols of the tool's account only, no redirects, bounded time and size, and TLS verified
// against the system's CAs. Credentials go in the clear only to a loopback address.
#pragma once

#include <curl/curl.h>

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

namespace agentos::toolhost {

class CurlClient {
 public:
  static constexpr size_t kMaxBody = 8 << 20;

  CurlClient(std::string user, std::string password);
  ~CurlClient();
  CurlClient(const CurlClient&) = delete;
  CurlClient& operator=(const CurlClient&) = delete;

  struct HttpResponse {
    long status = 0;
    std::string body;
  };
  [[nodiscard]] Result<HttpResponse> http(const std::string& method, const std::string& url,
                                          const std::vector<std::string>& headers, const std::string& body);
  // An IMAP URL (imap://host/MAILBOX;UID=n...), optionally with a command of its own; the
  // server's answer (the message, or the command's untagged lines) as text.
  [[nodiscard]] Result<std::string> imap(const std::string& url, const std::string& command = "");
  [[nodiscard]] Status smtp_send(const std::string& url, const std::string& from,
                                 const std::vector<std::string>& recipients, const std::string& message);

 private:
  [[nodiscard]] Status prepare(const std::string& url, const char* protocols);
  [[nodiscard]] Status perform(const std::string& url);

  std::unique_ptr<CURL, void (*)(CURL*)> curl_;
  std::string user_, password_;
  std::string received_;
  char error_[CURL_ERROR_SIZE] = {};
};

// localhost, 127.0.0.0/8 or [::1]: where a password may travel without TLS.
[[nodiscard]] bool loopback_url(const std::string& url);

}  // namespace agentos::toolhost
