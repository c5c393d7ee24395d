// agentos-gateway: started by agentosd (never by hand) with its control channel on fd 3, already
// running as an unprivileged user under no_new_privs and the agents' own seccomp filter. It exits
// when the daemon goes away: the agents' listeners close, and no connection leaves unchecked.
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "common/event_loop.h"
#include "egress/gateway.h"

int main(int argc, char** argv) {
  using namespace agentos;
  using namespace agentos::egress;
  GatewayOptions o;
  int control = 3;
  long handshake_ms = o.handshake_timeout.count(), idle_ms = o.idle_timeout.count();
  CLI::App app{"agentos-gateway: the egress gateway of agentosd (started by it)"};
  app.add_option("--control-fd", control, "The daemon's end of the control channel");
  app.add_option("--dns", o.dns_servers, "DNS servers, \"ADDR:PORT,...\" (default: /etc/resolv.conf)");
  app.add_option("--ca-file", o.extra_ca, "PEM file of CAs trusted for route upstreams, besides the system's");
  app.add_option("--handshake-timeout-ms", handshake_ms, "Time a connection has to become a relayed request");
  app.add_option("--idle-timeout-ms", idle_ms, "Time a relayed connection may stay silent");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  o.handshake_timeout = std::chrono::milliseconds(handshake_ms);
  o.idle_timeout = std::chrono::milliseconds(idle_ms);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() == 1) return 1;  // the daemon died before the line above took effect
  ::signal(SIGPIPE, SIG_IGN);

  auto fail = [](const std::string& what) {
    std::fprintf(stderr, "agentos-gateway: %s\n", what.c_str());
    return 1;
  };
  auto loop = EventLoop::create();
  if (!loop) return fail(loop.error().str());
  auto resolver = Resolver::create(*loop, o.dns_servers);
  if (!resolver) return fail(resolver.error().str());
  auto host = HostAddresses::open();
  if (!host) return fail(host.error().str());
  auto tls = TlsClient::create(o.extra_ca);
  if (!tls) return fail(tls.error().str());
  Gateway gw(*loop, std::move(*resolver), std::move(*host), std::move(*tls), o, UniqueFd(control));
  if (auto s = gw.start(); !s) return fail(s.error().str());

  if (auto s = loop->run(); !s) return fail(s.error().str());
  return 0;
}
