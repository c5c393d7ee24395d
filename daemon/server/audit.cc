#include "server/audit.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include <nlohmann/json.hpp>

#include "common/log.h"
#include "common/unique_fd.h"
#include "policy/quote.h"

namespace agentos {
namespace {

uint64_t now_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

nlohmann::json to_json(const v1::AuditEvent& e) {
  return {{"time_unix_ms", e.time_unix_ms()}, {"agent_id", e.agent_id()}, {"agent_name", e.agent_name()},
          {"owner_uid", e.owner_uid()},       {"operation", e.operation()}, {"layer", e.layer()},
          {"decision", e.decision()},         {"dropped", e.dropped()},       {"trace", e.trace()}};
}

}  // namespace

void AuditLog::event(const std::string& agent_id, const std::string& agent_name, uint32_t owner_uid,
                     const std::string& operation, const std::string& layer, const std::string& decision) {
  Bucket& b = buckets_[agent_id];
  b.name = agent_name;
  b.owner = owner_uid;
  auto now = std::chrono::steady_clock::now();
  b.tokens = std::min(kBurst, b.tokens + std::chrono::duration<double>(now - b.last).count() * kPerSecond);
  b.last = now;
  if (b.tokens < 1) {
    ++b.dropped;
    return;
  }
  b.tokens -= 1;
  v1::AuditEvent e;
  e.set_agent_id(agent_id);
  e.set_agent_name(agent_name);
  e.set_owner_uid(owner_uid);
  // An operation quotes what agents sent, perhaps cut mid-character: the JSON line (whose dump
  // throws on bytes that are not UTF-8), protobuf and terminals all need it escaped.
  e.set_operation(policy::escape_text(operation));
  e.set_layer(layer);
  e.set_decision(decision);
  record(std::move(e));
}

void AuditLog::lost(uint64_t count, const std::string& layer) {
  if (count == 0) return;
  v1::AuditEvent e;
  e.set_operation("events lost before they reached the daemon");
  e.set_layer(layer);
  e.set_decision("dropped");
  e.set_dropped(count);
  record(std::move(e));
}

void AuditLog::flush_dropped() {
  for (auto& [id, b] : buckets_) {
    if (b.dropped == 0) continue;
    v1::AuditEvent e;
    e.set_agent_id(id);
    e.set_agent_name(b.name);
    e.set_owner_uid(b.owner);
    e.set_operation("events over the rate limit, not recorded one by one");
    e.set_layer("audit");
    e.set_decision("dropped");
    e.set_dropped(b.dropped);
    b.dropped = 0;
    record(std::move(e));
  }
}

void AuditLog::record(v1::AuditEvent e) {
  e.set_time_unix_ms(now_ms());
  if (trace_of && !e.agent_id().empty()) e.set_trace(trace_of(e.agent_id()));
  log::write(log::Level::kWarning,
             (e.agent_name().empty() ? "" : "agent " + e.agent_name() + ": ") + e.decision() + " " + e.operation() +
                 (e.dropped() ? " (" + std::to_string(e.dropped()) + ")" : ""),
             {{"AGENT_ID", e.agent_id()}, {"AGENT_NAME", e.agent_name()}, {"OWNER_UID", std::to_string(e.owner_uid())},
              {"OPERATION", e.operation()}, {"LAYER", e.layer()}, {"DECISION", e.decision()},
              {"DROPPED", std::to_string(e.dropped())}, {"TRACE", e.trace()}});
  struct stat st;
  if (::stat(path_.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_size) > kRotateBytes)
    ::rename(path_.c_str(), (path_ + ".1").c_str());
  UniqueFd fd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  std::string line = to_json(e).dump() + "\n";
  if (!fd.valid() || ::write(fd.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size()))
    log::error("cannot append to " + path_);
  if (on_event) on_event(e);
}

std::vector<v1::AuditEvent> AuditLog::read(const std::function<bool(const v1::AuditEvent&)>& keep) const {
  std::vector<v1::AuditEvent> out;
  for (const auto& path : {path_ + ".1", path_}) {
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_object()) continue;
      v1::AuditEvent e;
      e.set_time_unix_ms(j.value("time_unix_ms", uint64_t{0}));
      e.set_agent_id(j.value("agent_id", ""));
      e.set_agent_name(j.value("agent_name", ""));
      e.set_owner_uid(j.value("owner_uid", 0u));
      e.set_operation(j.value("operation", ""));
      e.set_layer(j.value("layer", ""));
      e.set_decision(j.value("decision", ""));
      e.set_dropped(j.value("dropped", uint64_t{0}));
      e.set_trace(j.value("trace", ""));
      if (keep(e)) out.push_back(std::move(e));
    }
  }
  return out;
}

}  // namespace agentos
