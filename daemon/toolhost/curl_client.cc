#include "toolhost/curl_client.h"

#include <arpa/inet.h>

#include <cstring>

#include "common/url.h"

namespace agentos::toolhost {
namespace {

size_t on_data(char* data, size_t size, size_t n, void* out) {
  auto* s = static_cast<std::string*>(out);
  if (s->size() + size * n > CurlClient::kMaxBody) return 0;  // curl fails the transfer
  s->append(data, size * n);
  return size * n;
}

struct Upload {
  const std::string* data;
  size_t at = 0;
};

size_t on_upload(char* buf, size_t size, size_t n, void* in) {
  auto* u = static_cast<Upload*>(in);
  size_t len = std::min(size * n, u->data->size() - u->at);
  std::memcpy(buf, u->data->data() + u->at, len);
  u->at += len;
  return len;
}

std::string host_of(const std::string& url) {
  auto u = parse_url(url);
  return u ? u->host : "";
}

}  // namespace

bool loopback_url(const std::string& url) {
  std::string h = host_of(url);
  in_addr v4;
  return h == "localhost" || h == "[::1]" || (::inet_pton(AF_INET, h.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127);
}

CurlClient::CurlClient(std::string user, std::string password)
    : curl_(curl_easy_init(), curl_easy_cleanup), user_(std::move(user)), password_(std::move(password)) {}

CurlClient::~CurlClient() {
  // The password leaves memory with the process anyway; do not leave it in a freed block.
  std::memset(password_.data(), 0, password_.size());
}

Status CurlClient::prepare(const std::string& url, const char* protocols) {
  if (!curl_) return error("libcurl did not start");
  CURL* c = curl_.get();
  curl_easy_reset(c);
  received_.clear();
  error_[0] = '\0';
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, protocols);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 25L);  // within the daemon's 30 s for the whole call
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &received_);
  curl_easy_setopt(c, CURLOPT_USERNAME, user_.c_str());
  curl_easy_setopt(c, CURLOPT_PASSWORD, password_.c_str());
  // imap:// and smtp:// must upgrade with STARTTLS; https and the implicit-TLS schemes always
  // are TLS. Only loopback may see a password in the clear.
  if (!loopback_url(url)) curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
  return {};
}

Status CurlClient::perform(const std::string& url) {
  CURLcode rc = curl_easy_perform(curl_.get());
  if (rc == CURLE_OK) return {};
  std::string why = error_[0] ? error_ : curl_easy_strerror(rc);
  if (rc == CURLE_LOGIN_DENIED) why = "the server refused the account's user and password";
  return error(host_of(url) + ": " + why);
}

Result<CurlClient::HttpResponse> CurlClient::http(const std::string& method, const std::string& url,
                                                  const std::vector<std::string>& headers, const std::string& body) {
  if (auto s = prepare(url, "http,https"); !s) return s.error();
  CURL* c = curl_.get();
  if (auto u = parse_url(url); !loopback_url(url) && (!u || u->scheme != "https")) return error("a password goes over https only, except to loopback");
  curl_easy_setopt(c, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC | CURLAUTH_DIGEST));
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> list(nullptr, curl_slist_free_all);
  for (const auto& h : headers) list.reset(curl_slist_append(list.release(), h.c_str()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list.get());
  if (!body.empty() || method == "PUT") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  if (auto s = perform(url); !s) return s.error();
  HttpResponse r;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  r.body = std::move(received_);
  return r;
}

Result<std::string> CurlClient::imap(const std::string& url, const std::string& command) {
  if (auto s = prepare(url, "imap,imaps"); !s) return s.error();
  if (!command.empty()) curl_easy_setopt(curl_.get(), CURLOPT_CUSTOMREQUEST, command.c_str());
  if (auto s = perform(url); !s) return s.error();
  return std::move(received_);
}

Status CurlClient::smtp_send(const std::string& url, const std::string& from, const std::vector<std::string>& recipients,
                             const std::string& message) {
  if (auto s = prepare(url, "smtp,smtps"); !s) return s;
  CURL* c = curl_.get();
  std::string mail_from = "<" + from + ">";
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, mail_from.c_str());
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> rcpt(nullptr, curl_slist_free_all);
  for (const auto& r : recipients) rcpt.reset(curl_slist_append(rcpt.release(), ("<" + r + ">").c_str()));
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt.get());
  Upload up{&message};
  curl_easy_setopt(c, CURLOPT_READFUNCTION, on_upload);
  curl_easy_setopt(c, CURLOPT_READDATA, &up);
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  return perform(url);
}

}  // namespace agentos::toolhost
