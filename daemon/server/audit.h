// The audit trail: every denial (and every egress connection), with agent, owner, operation and enforcing layer, in the journal
// (structured fields) and in <state>/audit.log (JSON lines), which `agentctl audit` reads back.
// Each agent may record kBurst events at once and kPerSecond after that; what the limit leaves
// out is counted and recorded as a "dropped" event, never lost silently.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "agentos.pb.h"

namespace agentos {

class AuditLog {
 public:
  static constexpr double kPerSecond = 100;
  static constexpr double kBurst = 200;
  static constexpr uint64_t kRotateBytes = 64u << 20;

  explicit AuditLog(std::string path) : path_(std::move(path)) {}

  // Records a denial (or, for an agent in audit mode, an access its policy lacks but that was
  // allowed: decision "audit"), or counts it when its agent is over its rate.
  void deny(const std::string& agent_id, const std::string& agent_name, uint32_t owner_uid,
            const std::string& operation, const std::string& layer, bool audit_mode = false) {
    event(agent_id, agent_name, owner_uid, operation, layer, audit_mode ? "audit" : "deny");
  }
  // Any decision: "deny", "audit", or "allow" (the egress gateway records every connection).
  void event(const std::string& agent_id, const std::string& agent_name, uint32_t owner_uid,
             const std::string& operation, const std::string& layer, const std::string& decision);
  // A limit an agent or a user hit, recorded as a denial past the rate: the flood that hit it
  // must not be what hides it. Callers report each limit once (per agent, per uid).
  void limit(const std::string& agent_id, const std::string& agent_name, uint32_t owner_uid,
             const std::string& operation, const std::string& layer);
  // Events lost before they reached the daemon (e.g. a full kernel ring buffer).
  void lost(uint64_t count, const std::string& layer);
  // Writes the counts of dropped events whose agents are back under their rate.
  void flush_dropped();

  // Recorded events, oldest first, that `keep` accepts.
  [[nodiscard]] std::vector<v1::AuditEvent> read(const std::function<bool(const v1::AuditEvent&)>& keep) const;

  std::function<void(const v1::AuditEvent&)> on_event;  // each event as it is recorded
  std::function<std::string(const std::string& agent_id)> trace_of;  // its delegation chain's trace

 private:
  struct Bucket {
    double tokens = kBurst;
    std::chrono::steady_clock::time_point last = std::chrono::steady_clock::now();
    uint64_t dropped = 0;
    std::string name;
    uint32_t owner = 0;
  };
  void record(v1::AuditEvent e);

  std::string path_;
  std::map<std::string, Bucket> buckets_;  // by agent id
};

}  // namespace agentos
