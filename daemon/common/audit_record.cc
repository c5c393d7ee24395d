#include "common/audit_record.h"

#include "common/enum_words.h"

namespace agentos {
namespace {

template <typename T>
T field(const nlohmann::json& j, const char* key, T empty) {
  auto it = j.find(key);
  if (it == j.end()) return empty;
  if constexpr (std::is_same_v<T, std::string>) return it->is_string() ? it->get<std::string>() : empty;
  else return it->is_number_unsigned() ? it->get<T>() : empty;
}

}  // namespace

nlohmann::json audit_event_json(const v1::AuditEvent& e) {
  return {{"time_unix_ms", e.time_unix_ms()}, {"agent_id", e.agent_id()},   {"agent_name", e.agent_name()},
          {"owner_uid", e.owner_uid()},       {"operation", e.operation()}, {"layer", enum_word(e.layer())},
          {"decision", enum_word(e.decision())},         {"dropped", e.dropped()},     {"repeats", e.repeats()},
          {"trace", e.trace()}};
}

v1::AuditEvent audit_event_from_json(const nlohmann::json& j) {
  v1::AuditEvent e;
  if (!j.is_object()) return e;
  e.set_time_unix_ms(field<uint64_t>(j, "time_unix_ms", 0));
  e.set_agent_id(field<std::string>(j, "agent_id", ""));
  e.set_agent_name(field<std::string>(j, "agent_name", ""));
  e.set_owner_uid(field<uint32_t>(j, "owner_uid", 0));
  e.set_operation(field<std::string>(j, "operation", ""));
  e.set_layer(enum_from_word<v1::AuditLayer>(field<std::string>(j, "layer", "")).value_or(v1::AUDIT_LAYER_UNSPECIFIED));
  e.set_decision(enum_from_word<v1::Decision>(field<std::string>(j, "decision", "")).value_or(v1::DECISION_UNSPECIFIED));
  e.set_dropped(field<uint64_t>(j, "dropped", 0));
  e.set_repeats(field<uint64_t>(j, "repeats", 0));
  e.set_trace(field<std::string>(j, "trace", ""));
  return e;
}

}  // namespace agentos
