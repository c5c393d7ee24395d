// The [egress] section the gateway's fuzz targets decide against: names, a wildcard, a range and
// routes, as an agent's policy grants them.
#pragma once

#include "policy/policy.h"

namespace agentos::egress {

inline const policy::Egress& fuzz_egress() {
  static const policy::Egress egress = [] {
    auto r = policy::parse_policy(R"([agent]
command = ["/bin/true"]
[egress]
allow = ["api.example.com:443", "*.wikipedia.org:443", "example.org:80", "10.20.0.0/16:5432", "[2001:db8::/32]:443"]
[[egress.route]]
path = "/openai"
upstream = "https://api.openai.com/v1"
header = "Authorization: Bearer {secret:openai}"
[[egress.route]]
path = "/openai/files"
upstream = "http://10.20.0.5:8080"
)", "fuzz.toml");
    if (!r.policy || !r.policy->egress) __builtin_trap();
    return *r.policy->egress;
  }();
  return egress;
}

}  // namespace agentos::egress
