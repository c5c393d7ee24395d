// libFuzzer entry: an agent's bytes to the gateway's HTTP proxy, read as connection.cc reads them
// (the first byte says where they split into two reads): the head, then its target as CONNECT's
// host:port, a route path or an absolute URL, decided and rewritten for the upstream, then the
// body's framing over the rest.
#include <algorithm>
#include <cstdint>

#include "egress/decision.h"
#include "egress/fuzz_egress.h"
#include "egress/http_request.h"
#include "egress/route.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace agentos::egress;
  if (size == 0) return 0;
  std::span<const char> bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  size_t split = std::min<size_t>(data[0], bytes.size()), at = 0;
  RequestParser p;
  while (p.state() == RequestParser::State::kHead && at < bytes.size()) {
    size_t end = at < split ? split : bytes.size();
    size_t used = p.feed(bytes.subspan(at, end - at));
    if (used > end - at) __builtin_trap();
    at = p.state() == RequestParser::State::kHead ? end : at + used;
  }
  if (p.state() == RequestParser::State::kHead || p.state() == RequestParser::State::kBad) return 0;
  const RequestHead& h = p.head();
  std::optional<Destination> d;
  std::string target = h.target;
  if (h.method == "CONNECT") {
    d = parse_authority(h.target);
  } else if (h.target.starts_with('/')) {
    const auto* route = route_for(fuzz_egress(), h.target);
    if (!route) return 0;
    auto upstream = upstream_target(*route, h.target);
    if (!upstream) return 0;
    target = *upstream;
  } else {
    d = parse_absolute(h.target, true);
    if (d) target = d->path;
  }
  if (d)
    if (auto host = parse_host(d->host)) (void)check_target(fuzz_egress(), *host, d->port);
  (void)rewrite_head(h, target, {{"Host", "upstream"}});
  if (p.feed(bytes.subspan(at)) > bytes.size() - at) __builtin_trap();
  return 0;
}
