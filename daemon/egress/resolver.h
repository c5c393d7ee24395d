// The gateway's own DNS: c-ares on the gateway's event loop, so a slow name never stalls other
// agents' connections. Names are looked up in DNS only (no /etc/hosts), at the servers given or
// those of /etc/resolv.conf.
#pragma once

#include <ares.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/event_loop.h"
#include "common/result.h"
#include "egress/address.h"

namespace agentos::egress {

class Resolver {
 public:
  using Callback = std::function<void(Result<std::vector<Address>>)>;

  // `servers`: "127.0.0.1:53,[::1]:53" (c-ares' csv form), or empty for /etc/resolv.conf.
  [[nodiscard]] static Result<std::unique_ptr<Resolver>> create(EventLoop& loop, const std::string& servers);
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // Calls `done` exactly once, from the event loop (never from within resolve()); the caller
  // makes sure whatever `done` refers to is still there, e.g. by looking it up by id.
  void resolve(const std::string& name, Callback done);

 private:
  static constexpr auto kTimeoutCheck = std::chrono::milliseconds(100);  // queries whose time is up
  explicit Resolver(EventLoop& loop) : loop_(loop) {}
  static void on_socket_state(void* self, ares_socket_t fd, int readable, int writable);
  static void on_answer(void* arg, int status, int timeouts, ares_addrinfo* res);

  EventLoop& loop_;
  ares_channel channel_ = nullptr;
  std::map<ares_socket_t, EventLoop::Watch> sockets_;  // c-ares' sockets, as it asks
  EventLoop::Timer timeouts_;
};

}  // namespace agentos::egress
