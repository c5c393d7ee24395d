// [[egress.route]] requests: which route a request path takes, and the target it becomes at the
// upstream. What follows the route's path is appended to the upstream's base path as it is, so it
// must not be able to climb out of it once the upstream decodes and resolves it: a dot segment,
// an empty segment, a backslash or a percent-encoded '/', '.' or '\' there is refused, never
// normalised (servers disagree on how, and the route's secret goes wherever the path leads).
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"
#include "policy/policy.h"

namespace agentos::egress {

// The longest route whose path is the request's path or a parent of it; nullptr for none.
[[nodiscard]] const policy::EgressRoute* route_for(const policy::Egress& e, std::string_view target);

// The request target at the upstream: base path + the rest of the path + the query. An error
// (its text the reason) when the rest could leave the base path.
[[nodiscard]] Result<std::string> upstream_target(const policy::EgressRoute& r, std::string_view target);

}  // namespace agentos::egress
