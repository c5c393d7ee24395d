// One agent connection through the gateway, from its first byte to its audit record.
//
//   first bytes ─▶ SOCKS5 greeting+request │ HTTP head: CONNECT / absolute-form / a route path
//   (or, on a granted port: the name the DNS stub gave the address it was made to)
//     ─▶ decide the name (grants) ─▶ resolve ─▶ decide each address (no private ranges unless
//     granted) ─▶ connect ─▶ [route: TLS to the upstream, head rewritten with its headers]
//     ─▶ [tunnel: the ClientHello's SNI must be the name granted] ─▶ relay, within the agent's
//     bandwidth, until both sides are done.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/event_loop.h"
#include "common/result.h"
#include "common/unique_fd.h"
#include "egress/address.h"
#include "egress/decision.h"
#include "egress/http_request.h"
#include "egress/tls_client.h"

namespace agentos::egress {

class Gateway;
struct AgentEgress;

// How a connection reached the gateway.
enum class Entry : uint8_t {
  kProxy,  // the proxy port: HTTP (CONNECT, absolute-form, routes) or SOCKS5
  kTransparent,  // a granted port, at an address from the DNS stub: a tunnel to that name
  kBroker,  // made by the broker on the agent's behalf (http.fetch), which may ask for https in
            // absolute form (the gateway then speaks TLS to the upstream itself, as for a route)
};

class Connection {
 public:
  using Clock = std::chrono::steady_clock;

  Connection(Gateway& gw, uint64_t id, std::shared_ptr<AgentEgress> agent, UniqueFd client, Entry entry);
  ~Connection();  // sends the connection's record
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  [[nodiscard]] Status start();
  void on_timer(Clock::time_point now);  // the gateway's sweep: deadlines, bandwidth
  void on_resolved(Result<std::vector<Address>> r);

 private:
  enum class Phase : uint8_t { kFirst, kSocksGreeting, kSocksRequest, kHttpHead, kResolving, kConnecting, kTls, kHello, kRelay, kDone };
  enum class Mode : uint8_t { kUnknown, kTunnel, kForward, kRoute, kSocks, kTransparent };

  // A fixed window of bytes in flight one way.
  struct Buffer {
    std::vector<char> bytes = std::vector<char>(64 * 1024);
    size_t start = 0, end = 0;
    [[nodiscard]] size_t size() const { return end - start; }
    [[nodiscard]] size_t space() const { return bytes.size() - end; }
    [[nodiscard]] char* tail() { return bytes.data() + end; }
    void compact();
    void append(std::string_view s);  // the caller checked space()
  };

  void on_client(uint32_t events);
  void on_upstream(uint32_t events);

  void transparent();
  void read_request();
  void request_head();
  void socks();
  void decide(const std::string& host, uint16_t port);
  void dial();
  void connect_next();
  void connected();
  void start_tls();
  void tls_step();
  void check_hello();
  // How much of what the agent sent belongs to its request: all of it in a tunnel; relayed as
  // HTTP, up to the end of its one message (request_done_), and nullopt for a malformed body.
  [[nodiscard]] std::optional<size_t> request_bytes(std::span<const char> data);
  void relay_early();
  void pump();
  void watch();

  // Refused by policy: a 403 (or SOCKS "not allowed"), then close.
  void refuse(const std::string& reason, int http_status = 403);
  // It could not be done (DNS, connect, TLS): a 502 (or SOCKS failure), then close.
  void fail(const std::string& reason);
  void respond_error(int http_status, const std::string& reason);
  void finish();

  ssize_t ssl_result(int rc, int broken);
  ssize_t read_upstream(char* p, size_t n);
  ssize_t write_upstream(const char* p, size_t n);

  Gateway& gw_;
  uint64_t id_;
  std::shared_ptr<AgentEgress> agent_;
  Entry entry_;
  bool upstream_tls_ = false;  // the gateway's own TLS to the upstream (routes, the broker's https)
  UniqueFd client_, upstream_;
  EventLoop::Watch client_watch_, upstream_watch_;  // upstream's ends at its EOF
  SslPtr ssl_;
  Phase phase_ = Phase::kFirst;
  Mode mode_ = Mode::kUnknown;
  Clock::time_point started_ = Clock::now(), deadline_;

  std::string in_;  // the request as read so far
  RequestParser parser_;
  std::string early_;  // body bytes that came with the head
  std::optional<Host> host_;  // where to, as asked
  uint16_t port_ = 0;
  const policy::EgressRoute* route_ = nullptr;
  std::string upstream_target_;  // the rewritten request's target
  std::vector<Address> candidates_;
  size_t next_candidate_ = 0;
  std::optional<Address> address_;

  Buffer up_, down_;  // agent to upstream, upstream to agent
  bool client_eof_ = false, upstream_eof_ = false, request_done_ = false, up_shut_ = false;
  bool ssl_wants_write_ = false, paused_ = false;
  uint32_t client_events_ = 0, upstream_events_ = 0;
  uint64_t bytes_up_ = 0, bytes_down_ = 0;
  bool allowed_ = false, failed_ = false, recorded_ = false;
  std::string reason_;
};

}  // namespace agentos::egress
