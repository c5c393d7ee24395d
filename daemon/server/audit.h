// The audit trail: denials, egress connections, tool calls, agent starts and refused requests,
// with agent, owner, operation and enforcing layer, in the journal (structured fields) and in
// <state>/audit.log (JSON lines in a hash chain, audit_file.h), which `agentctl audit` reads back.
//
// Every event other than a refusal ("allow", "ask", starts) is recorded one by one, whatever else
// an agent does. Refusals ("deny", and "audit" in audit mode) are aggregated (audit_aggregator.h):
// the first of a kind in full, its repeats as one count when its window closes. Nothing is
// dropped; what was lost before it reached the daemon is recorded as a "dropped" count.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "agentos.pb.h"
#include "common/event_loop.h"
#include "common/result.h"
#include "server/audit_aggregator.h"
#include "server/audit_file.h"

namespace agentos {

class AuditLog {
 public:
  using Clock = AuditAggregator::Clock;
  static constexpr size_t kMaxOperation = 4096;  // an agent's names are cut here, so lines stay bounded

  explicit AuditLog(std::string path, uint64_t rotate_bytes = AuditFile::kRotateBytes)
      : file_(std::move(path), rotate_bytes) {}

  // Opens the trail, continuing its chain, and records the daemon's start with what the last run
  // left: a line a crash cut short, or windows an unclean stop lost.
  [[nodiscard]] Status open();

  // Records a denial (or, for an agent in audit mode, an access its policy lacks but that was
  // allowed: decision "audit").
  void deny(const std::string& agent_id, const std::string& agent_name, uint32_t owner_uid,
            const std::string& operation, v1::AuditLayer layer, bool audit_mode = false) {
    event(agent_id, agent_name, owner_uid, operation, layer, audit_mode ? v1::DECISION_AUDIT : v1::DECISION_DENY);
  }
  // Any decision: allow, ask, deny, audit, or fail (the egress gateway: a connection it let
  // through but could not carry out); allowed and failed ones are recorded one by one.
  void event(const std::string& agent_id, const std::string& agent_name, uint32_t owner_uid,
             const std::string& operation, v1::AuditLayer layer, v1::Decision decision);
  // A limit an agent or a user hit, recorded as a denial past the rate: the flood that hit it
  // must not be what hides it. Callers report each limit once (per agent, per uid).
  void limit(const std::string& agent_id, const std::string& agent_name, uint32_t owner_uid,
             const std::string& operation, v1::AuditLayer layer);
  // Events lost before they reached the daemon (e.g. a full kernel ring buffer).
  void lost(uint64_t count, v1::AuditLayer layer);
  // Records the aggregates of the windows closed by `now`: every second once run_on(loop).
  void close_windows(Clock::time_point now);
  void run_on(EventLoop& loop) {
    windows_ = loop.every(std::chrono::seconds(1), [this] { close_windows(Clock::now()); });
  }
  // At a clean stop: the aggregates of every open window, then the daemon's stop.
  void close();

  // Recorded events, oldest first, that `keep` accepts.
  [[nodiscard]] std::vector<v1::AuditEvent> read(const std::function<bool(const v1::AuditEvent&)>& keep) const;

  std::function<void(const v1::AuditEvent&)> on_event;  // each event as it is recorded
  std::function<std::string(const std::string& agent_id)> trace_of;  // its delegation chain's trace

 private:
  void record(v1::AuditEvent e);
  void record_own(v1::Decision decision, const std::string& operation);  // the trail's own records
  void record_aggregates(const std::vector<AuditAggregator::Aggregate>& closed);

  AuditFile file_;
  AuditAggregator refusals_;
  bool failing_ = false;  // appends fail (ENOSPC...): said once, and again when they work
  EventLoop::Timer windows_;
};

}  // namespace agentos
