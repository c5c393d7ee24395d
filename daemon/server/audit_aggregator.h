// Refusals, aggregated instead of dropped. The first refusal of a kind (agent, owner, layer,
// decision, operation) is recorded in full; its repeats within a window are counted and recorded
// once, as an aggregate, when the window closes. A flood of one kind is one count, so it cannot
// push another kind out.
//
// Kinds are bounded, so that a flood of distinct names (one refused DNS lookup per name) grows
// neither memory nor the file: per agent and layer, at most kFamilies families (an operation's
// first two words: "egress dns", "egress connect", "connect tcp", "open (r)", "tool kv.set") of at
// most kKindsPerFamily kinds each. Past either cap, a refusal goes to the agent's and layer's
// fold: the first is recorded in full, marked, and the rest are its repeats. A flood of distinct
// DNS names thus fills its own family, never another family's or another layer's.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "agentos.pb.h"

namespace agentos {

class AuditAggregator {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr Clock::duration kWindow = std::chrono::seconds(5);
  static constexpr size_t kKindsPerFamily = 16;
  static constexpr size_t kFamilies = 8;

  struct Refusal {
    std::string agent_id, agent_name;
    uint32_t owner_uid = 0;
    v1::AuditLayer layer = v1::AUDIT_LAYER_UNSPECIFIED;
    v1::Decision decision = v1::DECISION_UNSPECIFIED;
    std::string operation;
  };
  struct Aggregate {
    Refusal kind;  // as it was recorded in full
    uint64_t repeats = 0;
  };

  // What to record in full now, if anything: the first of its kind (or of its fold) in a window.
  [[nodiscard]] std::optional<Refusal> add(const Refusal& r, Clock::time_point now);
  // The aggregates of the windows that have closed by `now` (those with repeats), oldest first;
  // their kinds are forgotten, so the next refusal of each is recorded in full again.
  [[nodiscard]] std::vector<Aggregate> close(Clock::time_point now);
  [[nodiscard]] std::vector<Aggregate> close_all() { return close(Clock::time_point::max()); }

  [[nodiscard]] size_t kinds() const { return open_.size(); }

 private:
  // agent id, owner and layer: where the caps apply. An event without an agent (a refused API
  // request) is its owner's, so one user's flood cannot fold another's refusals.
  using Scope = std::tuple<std::string, uint32_t, v1::AuditLayer>;
  // scope, decision, whether it is the fold, operation ("" for the fold)
  using Key = std::tuple<Scope, v1::Decision, bool, std::string>;
  struct Window {
    Refusal first;
    std::string family;  // "" for the fold
    uint64_t repeats = 0;
    Clock::time_point opened;
  };

  std::map<Key, Window> open_;
  std::map<Scope, std::map<std::string, size_t>> families_;  // kinds open per family
};

}  // namespace agentos
