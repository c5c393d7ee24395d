// libFuzzer entry: an agent's bytes to the gateway's proxy port that start as SOCKS5, read as
// connection.cc reads them: the greeting, then the CONNECT request after it, then the decision.
#include <cstdint>

#include "egress/decision.h"
#include "egress/fuzz_egress.h"
#include "egress/socks5.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agentos::egress;
  std::span<const uint8_t> in(data, size);
  SocksGreeting g = parse_socks_greeting(in);
  if (g.status != SocksStatus::kDone || !g.no_auth) return 0;
  if (g.used > in.size()) __builtin_trap();
  SocksRequest r = parse_socks_request(in.subspan(g.used));
  if (r.status == SocksStatus::kBad) (void)socks_reply(r.reply);
  if (r.status != SocksStatus::kDone) return 0;
  if (r.used > in.size() - g.used) __builtin_trap();
  if (auto host = parse_host(r.host)) (void)check_target(fuzz_egress(), *host, r.port);
  return 0;
}
