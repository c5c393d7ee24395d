// agentos-gateway: every agent's only way off the machine. It serves the sockets the sandbox made
// inside each agent's network namespace (so the socket a connection arrived on is the agent's
// identity): the proxy on port 3128, the DNS stub, and one listener per granted port for clients
// that ignore the proxy. It decides each request against the agent's [egress] grants, resolves
// names itself, connects to what it resolved, and reports every decision back to the daemon.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/event_loop.h"
#include "common/listeners.h"
#include "common/unique_fd.h"
#include "egress/host_addresses.h"
#include "egress/resolver.h"
#include "egress/synthetic_names.h"
#include "egress/tls_client.h"
#include "common/token_bucket.h"
#include "gateway.pb.h"
#include "policy/policy.h"

namespace agentos::egress {

class Connection;
enum class Entry : uint8_t;

struct GatewayOptions {
  std::string dns_servers;  // c-ares csv; empty for /etc/resolv.conf
  std::string extra_ca;  // PEM file trusted for route upstreams besides the system's store
  std::chrono::milliseconds handshake_timeout{10'000};  // request to relaying, per connection
  std::chrono::milliseconds idle_timeout{300'000};
};

// One agent as the daemon described it.
struct AgentEgress {
  std::string id;
  std::string name;
  policy::Egress rules;  // routes' header values hold their secrets, filled in by the daemon
  std::vector<UniqueFd> listeners;  // stream sockets: the proxy and the granted ports
  std::vector<UniqueFd> dns;  // the stub's datagram socket
  std::vector<EventLoop::Watch> dns_watches;
  SyntheticNames names;  // what its DNS stub gave out
  uint32_t open = 0;  // connections now
  bool full = false;  // at max_connections with a client waiting: its listeners are held
  TokenBucket up, down;
  bool forgotten = false;  // the agent ended: its connections close
};

class Gateway {
 public:
  using Clock = std::chrono::steady_clock;

  Gateway(EventLoop& loop, std::unique_ptr<Resolver> resolver, HostAddresses host, TlsClient tls, GatewayOptions options,
          UniqueFd control);
  ~Gateway();

  // Serves until the daemon closes the control channel.
  [[nodiscard]] Status start();

  // For connections.
  [[nodiscard]] EventLoop& loop() { return loop_; }
  [[nodiscard]] Resolver& resolver() { return *resolver_; }
  [[nodiscard]] HostAddresses& host_addresses() { return host_; }
  [[nodiscard]] const TlsClient& tls() const { return tls_; }
  [[nodiscard]] const GatewayOptions& options() const { return options_; }
  [[nodiscard]] Connection* find(uint64_t id);
  void record(const gateway::Record& r);
  void finish(uint64_t id);  // frees the connection once its handler has returned
  void closed_one(AgentEgress& agent);  // a connection of the agent's is gone: room for one waiting

 private:
  void on_control(uint32_t events);
  void apply(const gateway::Command& c, std::vector<UniqueFd> fds);
  void put_agent(const gateway::Agent& a, std::vector<UniqueFd> fds);
  void forget_agent(const std::string& id);
  [[nodiscard]] bool admit(AgentEgress& agent, bool client_waits);
  void adopt(const std::string& agent_id, UniqueFd fd);
  void serve(const std::shared_ptr<AgentEgress>& agent, UniqueFd fd, Entry entry);
  void flush_control();

  EventLoop& loop_;
  std::unique_ptr<Resolver> resolver_;
  HostAddresses host_;
  TlsClient tls_;
  GatewayOptions options_;
  UniqueFd control_;
  EventLoop::Watch control_watch_;
  std::vector<std::string> outbox_;  // records not yet taken by the daemon
  uint64_t outbox_dropped_ = 0;
  std::map<std::string, std::shared_ptr<AgentEgress>> agents_;
  Listeners listeners_;  // every agent's stream listeners
  std::map<uint64_t, std::unique_ptr<Connection>> connections_;
  uint64_t next_id_ = 1;
  EventLoop::Timer sweep_;  // connections' deadlines and bandwidth
};

}  // namespace agentos::egress
