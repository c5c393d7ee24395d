// The parts that serve agents over sockets in their sandboxes (the broker, the egress gateway).
// The agent manager asks each before a start, hands each the sockets once the agent runs (or a
// restarted daemon adopted it), passes on new policies and tells of the agent's end. It knows
// none of them by name: the daemon registers them (server/daemon.cc).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/agent_change_text.h"
#include "common/log.h"
#include "common/result.h"
#include "common/unique_fd.h"
#include "policy/policy.h"
#include "server/agent_record.h"

namespace agentos {

// Made by the launcher in the agent's namespaces and held by its monitor, which a restarted
// daemon takes them back from. Each part moves out what is its own.
struct AgentSockets {
  UniqueFd broker;  // the listener at /run/agentos/broker.sock
  std::vector<UniqueFd> gateway;  // the egress gateway's listeners
};

enum class ServiceUpdate {
  kInForce,  // the new policy holds for this part now (or changed nothing here)
  kAtNextStart,  // only the agent's next start can bring this part in line
  kRefused,  // the new policy is wrong for this part: the agent keeps what it had
};

class AgentService {
 public:
  // Whether this part can serve the policy: a failure refuses the start, its kind saying why.
  [[nodiscard]] virtual Status admit(const std::string& /*id*/, const policy::Policy& /*p*/, uid_t /*owner*/) {
    return {};
  }
  // It runs, or a restarted daemon adopted it: serve it from now on.
  virtual void serve(const AgentRecord& r, const policy::Policy& p, AgentSockets& sockets) = 0;
  // Its policy changed while it runs. Each change made or refused goes to `changes`.
  [[nodiscard]] virtual ServiceUpdate update(const AgentRecord& r, const policy::Policy& now,
                                             const policy::Policy& next, std::vector<v1::AgentChange>& changes) = 0;
  // Its owner's secrets changed: a change per running agent served anew.
  virtual void secrets_changed(uid_t /*owner*/, std::vector<v1::AgentChange>& /*changes*/) {}
  virtual void ended(const std::string& id) = 0;

 protected:
  ~AgentService() = default;  // not owned through this interface
};

// Stands in for a part that could not start: the policies that need it are refused, saying why.
class UnavailableService final : public AgentService {
 public:
  UnavailableService(bool (*needs)(const policy::Policy&), std::string why) : needs_(needs), why_(std::move(why)) {}
  [[nodiscard]] Status admit(const std::string&, const policy::Policy& p, uid_t) override {
    if (!needs_(p)) return {};
    return error(ErrorKind::kCannotConfine, "agent \"" + p.name + "\" " + why_);
  }
  // Only an adopted agent can get here with such a policy: it runs on without this part.
  void serve(const AgentRecord& r, const policy::Policy& p, AgentSockets&) override {
    if (needs_(p)) log::error("agent " + r.id + " (\"" + p.name + "\") " + why_ + "; it runs without it", {{"AGENT_ID", r.id}});
  }
  [[nodiscard]] ServiceUpdate update(const AgentRecord&, const policy::Policy&, const policy::Policy&,
                                     std::vector<v1::AgentChange>&) override {
    return ServiceUpdate::kInForce;
  }
  void ended(const std::string&) override {}

 private:
  bool (*needs_)(const policy::Policy&);
  std::string why_;
};

}  // namespace agentos
