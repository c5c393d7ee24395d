#include "server/audit.h"

#include <fstream>
#include <utility>

#include "common/audit_record.h"
#include "common/bounded_json.h"
#include "common/enum_words.h"
#include "common/log.h"
#include "policy/quote.h"

namespace agentos {
namespace {

uint64_t now_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

v1::AuditEvent event_of(const AuditAggregator::Refusal& r) {
  v1::AuditEvent e;
  e.set_agent_id(r.agent_id);
  e.set_agent_name(r.agent_name);
  e.set_owner_uid(r.owner_uid);
  e.set_operation(r.operation);
  e.set_layer(r.layer);
  e.set_decision(r.decision);
  return e;
}

// At a UTF-8 boundary: the API's strings must stay valid UTF-8.
void cut(std::string& s, size_t max) {
  if (s.size() <= max) return;
  size_t at = max;
  while (at > 0 && (static_cast<unsigned char>(s[at]) & 0xC0) == 0x80) --at;
  s.resize(at);
  s += "…";
}


}  // namespace

Status AuditLog::open() {
  auto r = file_.open();
  if (!r) return r.error();
  std::string what = "agentosd started";
  if (r->head.seq > 0) what += "; the trail continues from seq " + std::to_string(r->head.seq);
  if (r->torn_bytes)
    what += "; the " + std::to_string(r->torn_bytes) + " bytes after it are a record a crash cut short, sealed by this one";
  if (r->head.seq > 0 && r->last_decision != enum_word(v1::DECISION_STOP))
    what += "; the daemon before did not stop cleanly: repeats of refusals it had counted in open windows (up to " +
            std::to_string(std::chrono::duration_cast<std::chrono::seconds>(AuditAggregator::kWindow).count()) +
            " s) are not in the trail";
  if (r->unchained) what += "; the lines before were written before the trail had a hash chain";
  record_own(v1::DECISION_START, what);
  return {};
}

void AuditLog::event(const std::string& agent_id, const std::string& agent_name, uint32_t owner_uid,
                     const std::string& operation, v1::AuditLayer layer, v1::Decision decision) {
  AuditAggregator::Refusal r{agent_id, agent_name, owner_uid, layer, decision, policy::escape_text(operation)};
  cut(r.operation, kMaxOperation);
  if (decision == v1::DECISION_DENY || decision == v1::DECISION_AUDIT) {
    auto first = refusals_.add(r, Clock::now());
    if (first) record(event_of(*first));
    return;
  }
  record(event_of(r));
}

void AuditLog::limit(const std::string& agent_id, const std::string& agent_name, uint32_t owner_uid,
                     const std::string& operation, v1::AuditLayer layer) {
  // An operation quotes what agents sent, perhaps not UTF-8: the JSON line (whose dump throws on
  // such bytes), protobuf and terminals all need it escaped.
  AuditAggregator::Refusal r{agent_id, agent_name, owner_uid, layer, v1::DECISION_DENY, policy::escape_text(operation)};
  cut(r.operation, kMaxOperation);
  record(event_of(r));  // never folded into a count: the flood that hit the limit must not hide it
}

void AuditLog::lost(uint64_t count, v1::AuditLayer layer) {
  if (count == 0) return;
  v1::AuditEvent e;
  e.set_operation("events lost before they reached the daemon");
  e.set_layer(layer);
  e.set_decision(v1::DECISION_DROPPED);
  e.set_dropped(count);
  record(std::move(e));
}

void AuditLog::close_windows(Clock::time_point now) { record_aggregates(refusals_.close(now)); }

void AuditLog::close() {
  record_aggregates(refusals_.close_all());
  record_own(v1::DECISION_STOP, "agentosd stopped");
}

void AuditLog::record_aggregates(const std::vector<AuditAggregator::Aggregate>& closed) {
  for (const auto& a : closed) {
    v1::AuditEvent e = event_of(a.kind);
    e.set_repeats(a.repeats);
    record(std::move(e));
  }
}

void AuditLog::record_own(v1::Decision decision, const std::string& operation) {
  v1::AuditEvent e;
  e.set_operation(operation);
  e.set_layer(v1::AUDIT_LAYER_AUDIT);
  e.set_decision(decision);
  record(std::move(e));
}

void AuditLog::record(v1::AuditEvent e) {
  e.set_time_unix_ms(now_ms());
  if (trace_of && !e.agent_id().empty()) e.set_trace(trace_of(e.agent_id()));
  if (file_.full()) {
    AuditFile::Head ended = file_.head();
    if (auto s = file_.rotate(); !s) log::error("cannot rotate the audit trail: " + s.error().str());
    else record_own(v1::DECISION_ROTATE, "audit.log.1 ends at seq " + std::to_string(ended.seq) + "; this file continues its chain");
  }
  log::Fields fields = {{"AGENT_ID", e.agent_id()},   {"AGENT_NAME", e.agent_name()},
                        {"OWNER_UID", std::to_string(e.owner_uid())},
                        {"OPERATION", e.operation()}, {"LAYER", enum_word(e.layer())},
                        {"DECISION", enum_word(e.decision())},   {"DROPPED", std::to_string(e.dropped())},
                        {"REPEATS", std::to_string(e.repeats())}, {"TRACE", e.trace()}};
  // The journal keeps each record's place in the chain: the anchor that shows a rewritten or
  // shortened file (agentctl audit verify --anchor).
  if (auto head = file_.append(audit_event_json(e))) {
    fields.push_back({"AUDIT_SEQ", std::to_string(head->seq)});
    fields.push_back({"AUDIT_HASH", head->hash});
    if (std::exchange(failing_, false)) log::info("the audit trail is written to " + file_.path() + " again");
  } else if (!std::exchange(failing_, true)) {
    log::error("cannot append to the audit trail: " + head.error().str() +
               "; records go to the journal alone (without AUDIT_SEQ) until it works again");
  }
  std::string count = e.dropped() ? " (" + std::to_string(e.dropped()) + ")"
                      : e.repeats() ? " (" + std::to_string(e.repeats()) + " more times)"
                                    : "";
  log::write(log::Level::kWarning,
             (e.agent_name().empty() ? "" : "agent " + e.agent_name() + ": ") + enum_word(e.decision()) + " " + e.operation() + count,
             fields);
  if (on_event) on_event(e);
}

std::vector<v1::AuditEvent> AuditLog::read(const std::function<bool(const v1::AuditEvent&)>& keep) const {
  std::vector<v1::AuditEvent> out;
  for (const auto& path : {file_.path() + ".1", file_.path()}) {
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
      // Our own lines, but they carry what agents chose to send: parsed like anything untrusted.
      auto parsed = parse_json(line, {kJsonDepth, line.size()});
      if (!parsed || !parsed->is_object()) continue;
      v1::AuditEvent e = audit_event_from_json(*parsed);
      if (keep(e)) out.push_back(std::move(e));
    }
  }
  return out;
}

}  // namespace agentos
