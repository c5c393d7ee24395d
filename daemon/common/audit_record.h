// An audit event as JSON: a line of audit.log (before it is sealed into the chain) and what
// `agentctl --json audit` prints. One list of fields for both.
#pragma once

#include <nlohmann/json.hpp>

#include "agentos.pb.h"

namespace agentos {

[[nodiscard]] nlohmann::json audit_event_json(const v1::AuditEvent& e);
// Fields that are missing or of another type read as empty.
[[nodiscard]] v1::AuditEvent audit_event_from_json(const nlohmann::json& j);

}  // namespace agentos
