#include "broker/tools/http_fetch.h"

#include <http_parser.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>

namespace agentos::broker {
namespace {

constexpr const char* kMethods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"};

bool clean(const std::string& s) { return s.find_first_of(std::string("\r\n\0", 3)) == std::string::npos; }

struct ResponseState {
  Json headers = Json::object();
  std::string field, body;
  bool head = false, in_value = false, complete = false;
};

}  // namespace

ToolResult parse_response(const std::string& raw, bool head) {
  http_parser p;
  http_parser_init(&p, HTTP_RESPONSE);
  ResponseState st;
  st.head = head;
  p.data = &st;
  http_parser_settings s{};
  s.on_header_field = [](http_parser* hp, const char* at, size_t len) {
    auto* r = static_cast<ResponseState*>(hp->data);
    if (r->in_value) r->field.clear();
    r->in_value = false;
    r->field.append(at, len);
    return 0;
  };
  s.on_header_value = [](http_parser* hp, const char* at, size_t len) {
    auto* r = static_cast<ResponseState*>(hp->data);
    std::string name = r->field;
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!r->in_value) r->headers[name] = "";
    r->in_value = true;
    if (r->headers.size() <= 100) r->headers[name] = r->headers[name].get<std::string>() + std::string(at, len);
    return 0;
  };
  // Only the request says that no body follows; 1 tells http_parser so.
  s.on_headers_complete = [](http_parser* hp) { return static_cast<ResponseState*>(hp->data)->head ? 1 : 0; };
  s.on_body = [](http_parser* hp, const char* at, size_t len) {
    static_cast<ResponseState*>(hp->data)->body.append(at, len);
    return 0;
  };
  s.on_message_complete = [](http_parser* hp) {
    static_cast<ResponseState*>(hp->data)->complete = true;
    return 0;
  };
  http_parser_execute(&p, &s, raw.data(), raw.size());
  if (!st.complete) http_parser_execute(&p, &s, nullptr, 0);  // end of stream ends a body without length
  if (HTTP_PARSER_ERRNO(&p) != HPE_OK && !st.complete)
    return tool_error(std::string("malformed response: ") + http_errno_description(HTTP_PARSER_ERRNO(&p)));
  int status = p.status_code;
  if (status == 403 && st.body.starts_with("agentos egress: "))  // the gateway's own refusal
    return tool_error("the egress gateway refused it: " + st.body.substr(16, st.body.find('\n') - 16));
  if (status == 502 && st.body.starts_with("agentos egress: "))
    return tool_error("the egress gateway could not reach it: " + st.body.substr(16, st.body.find('\n') - 16));
  return {status >= 400, Json{{"status", status}, {"headers", st.headers}, {"body", st.body}}};
}

HttpFetch::~HttpFetch() = default;

std::vector<ToolSpec> HttpFetch::tools() const {
  return {{"http.fetch", "Fetch an http or https URL, through the egress gateway under the agent's [egress] grants",
           {{"type", "object"},
            {"properties",
             {{"url", {{"type", "string"}}},
              {"method", {{"type", "string"}, {"enum", {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"}}}},
              {"headers", {{"type", "object"}, {"additionalProperties", {{"type", "string"}}}}},
              {"body", {{"type", "string"}}}}},
            {"required", {"url"}}},
           {{"url", {ArgKind::kUrl, std::nullopt}}, {"method", {ArgKind::kText, "GET"}}}}};
}

ToolResult HttpFetch::call(const Caller&, const std::string&, const Json&) { return tool_error("http.fetch answers later"); }

void HttpFetch::call_async(const Caller& who, const std::string&, const Json& args, Done done) {
  std::string why;
  const std::string* url = string_arg(args, "url", &why);
  if (!url) return done(tool_error(why));
  if ((!url->starts_with("http://") && !url->starts_with("https://")) || !clean(*url) || url->find(' ') != std::string::npos)
    return done(tool_error("url must be an http:// or https:// URL"));
  std::string method = args.contains("method") && args["method"].is_string() ? args["method"].get<std::string>() : "GET";
  if (std::find(std::begin(kMethods), std::end(kMethods), method) == std::end(kMethods))
    return done(tool_error("method must be GET, POST, PUT, PATCH, DELETE or HEAD"));
  std::string body = args.contains("body") && args["body"].is_string() ? args["body"].get<std::string>() : "";

  // The request, as the gateway reads it from an agent; it sets Host and Connection itself.
  std::string request = method + " " + *url + " HTTP/1.1\r\nHost: fetch\r\n";
  if (args.contains("headers") && args["headers"].is_object())
    for (auto& [k, v] : args["headers"].items()) {
      if (!v.is_string() || !clean(k) || !clean(v.get<std::string>()) || k.find(':') != std::string::npos)
        return done(tool_error("headers are names and strings without line breaks"));
      request += k + ": " + v.get<std::string>() + "\r\n";
    }
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH")
    request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  request += "\r\n" + body;

  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) return done(tool_error("socketpair failed"));
  UniqueFd ours(sv[0]), theirs(sv[1]);
  if (auto s = adopt_(who.agent_id, std::move(theirs)); !s) return done(tool_error(s.error().str()));
  int fd = ours.get();
  Transfer& t = transfers_.emplace(fd, Transfer{std::move(ours), std::move(request), "", std::move(done), method == "HEAD"})
                    .first->second;
  t.deadline = loop_.after(kTimeout, [this, fd] {
    finish(fd, tool_error("no response within " + std::to_string(kTimeout.count()) + " s"));
  });
  auto w = loop_.watch(fd, EPOLLIN | EPOLLOUT, [this, fd](uint32_t e) { on_ready(fd, e); });
  if (!w) return finish(fd, tool_error("cannot watch the request"));
  t.watch = std::move(*w);
}

void HttpFetch::on_ready(int fd, uint32_t events) {
  auto it = transfers_.find(fd);
  if (it == transfers_.end()) return;
  Transfer& t = it->second;
  if ((events & EPOLLOUT) && !t.out.empty()) {
    ssize_t n = ::send(fd, t.out.data(), t.out.size(), MSG_NOSIGNAL);
    if (n > 0) t.out.erase(0, static_cast<size_t>(n));
    if (t.out.empty()) (void)t.watch.modify(EPOLLIN);
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
    char buf[64 * 1024];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      t.in.append(buf, static_cast<size_t>(n));
      if (t.in.size() > kMaxResponse) return finish(fd, tool_error("response larger than 1 MiB"));
      return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    // The gateway closes after the response (one request per connection): it is whole.
    if (t.in.empty()) return finish(fd, tool_error("the egress gateway closed the request unanswered (over the agent's connection limit?)"));
    finish(fd, parse_response(t.in, t.head));
  }
}

void HttpFetch::finish(int fd, ToolResult r) {
  auto it = transfers_.find(fd);
  if (it == transfers_.end()) return;
  Done done = std::move(it->second.done);
  transfers_.erase(it);
  done(std::move(r));
}

}  // namespace agentos::broker
