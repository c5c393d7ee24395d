#include "broker/mcp_client.h"

#include <sys/epoll.h>
#include <sys/socket.h>

namespace agentos::broker {

McpClient::McpClient(EventLoop& loop, UniqueFd fd, size_t json_depth, std::function<void(const std::string&)> closed)
    : loop_(loop), fd_(std::move(fd)), closed_(std::move(closed)), bounds_{json_depth + kJsonEnvelope, kMaxLine} {
  events_ = EPOLLIN;
  if (auto w = loop_.watch(fd_.get(), events_, [this](uint32_t e) { on_ready(e); })) watch_ = std::move(*w);
  else fd_.reset();
}

McpClient::~McpClient() = default;

void McpClient::request(const std::string& method, Json params, Reply done) {
  if (!fd_.valid()) return done(error("the server is gone"));
  if (pending_.size() >= kMaxPending) return done(error("the server has too many calls waiting"));
  uint64_t id = ++next_id_;
  pending_[id] = {std::move(done), loop_.after(kTimeout, [this, id] { time_out(id); })};
  write_line({{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}});
}

void McpClient::notify(const std::string& method, Json params) {
  if (fd_.valid()) write_line({{"jsonrpc", "2.0"}, {"method", method}, {"params", std::move(params)}});
}

void McpClient::write_line(const Json& message) {
  out_ += message.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  flush();
}

void McpClient::flush() {
  while (!out_.empty() && fd_.valid()) {
    ssize_t n = ::send(fd_.get(), out_.data(), out_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      out_.erase(0, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
    return close("the server stopped reading");
  }
  if (!fd_.valid()) return;
  if (out_.size() > kMaxLine * 4) return close("the server stopped reading");
  uint32_t want = EPOLLIN | (out_.empty() ? 0u : uint32_t{EPOLLOUT});
  if (want != events_ && watch_.modify(want)) events_ = want;
}

void McpClient::on_ready(uint32_t events) {
  if (events & EPOLLOUT) flush();
  if (!fd_.valid() || !(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) return;
  char buf[65536];
  ssize_t n = ::recv(fd_.get(), buf, sizeof buf, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) return close("the server closed its output");
  in_.append(buf, static_cast<size_t>(n));
  for (size_t nl; fd_.valid() && (nl = in_.find('\n')) != std::string::npos;) {
    std::string line = in_.substr(0, nl);
    in_.erase(0, nl + 1);
    if (line.find_first_not_of(" \t\r") != std::string::npos) on_line(line);
  }
  if (in_.size() > kMaxLine) close("the server sent a message larger than 4 MiB");
}

void McpClient::on_line(const std::string& line) {
  auto parsed = parse_json(line, bounds_);
  if (!parsed && parsed.error().fault != JsonFault::kNotJson) return close("the server sent " + parsed.error().message);
  if (!parsed || !parsed->is_object()) return close("the server sent something that is not JSON-RPC");
  Json& m = *parsed;
  if (m.contains("method")) {  // the server asks us something: we offer nothing
    if (m.contains("id") && !m["id"].is_null())
      write_line({{"jsonrpc", "2.0"}, {"id", m["id"]}, {"error", {{"code", kMethodNotFound}, {"message", "not offered"}}}});
    return;
  }
  if (!m.contains("id") || !m["id"].is_number_unsigned()) return;  // an answer to nothing we asked
  auto it = pending_.find(m["id"].get<uint64_t>());
  if (it == pending_.end()) return;
  Reply done = std::move(it->second.done);
  pending_.erase(it);
  if (m.contains("error")) {
    const Json& e = m["error"];
    std::string message = e.is_object() && e.contains("message") && e["message"].is_string() ? e["message"].get<std::string>() : "an error";
    return done(error("the server answered: " + message.substr(0, 1000)));
  }
  done(m.contains("result") ? m["result"] : Json::object());
}

void McpClient::close(const std::string& why) {
  if (!fd_.valid()) return;
  watch_.reset();
  fd_.reset();
  auto pending = std::move(pending_);
  pending_.clear();
  for (auto& [id, p] : pending) p.done(error("the server is gone: " + why));
  if (closed_) closed_(why);
}

void McpClient::time_out(uint64_t id) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  Reply done = std::move(it->second.done);
  pending_.erase(it);
  done(error("no answer from the server within " + std::to_string(kTimeout.count()) + " s"));
}

}  // namespace agentos::broker
