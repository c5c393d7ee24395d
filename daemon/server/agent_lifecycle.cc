// An agent's life after its start: its exit noticed, stop, its log kept within bounds, and the
// ended ones collected (agent_manager.h).
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <linux/falloc.h>

#include "common/atomic_file.h"
#include "common/log.h"
#include "sandbox/launcher.h"
#include "server/agent_manager.h"

namespace agentos {

void AgentManager::watch(Agent& a) {
  std::string id = a.record.id;
  if (!a.monitor_pidfd.valid()) return;
  auto w = loop_.watch(a.monitor_pidfd.get(), EPOLLIN, [this, id](uint32_t) { finish(id); });
  if (!w) return log::error("cannot watch agent " + id + ": " + w.error().str());
  a.monitor_watch = std::move(*w);
}

void AgentManager::finish(const std::string& id) {
  auto it = agents_.find(id);
  if (it == agents_.end()) return;
  // The monitor sent the last of the output before it exited: pass it on before the exit.
  it->second.console_held = false;
  read_console(id);
  Agent& a = it->second;
  a.console_watch.reset();
  a.console.reset();
  a.monitor_watch.reset();
  a.monitor_pidfd.reset();
  // Our child unless we were restarted since; then init reaps it.
  ::waitpid(a.record.monitor_pid, nullptr, WNOHANG);
  AgentRecord& r = a.record;
  if (auto st = sandbox::read_exit_file(paths_.exit_file(id))) {
    r.state = AgentState::kExited;
    r.exit_code = st->exit_code;
    r.signal = st->signal;
    uint64_t ooms = cgroups_.oom_kills(id);
    r.ended = r.stop_requested ? v1::AgentInfo::END_STOPPED
              : ooms > 0       ? v1::AgentInfo::END_OOM_KILLED
              : st->signal     ? v1::AgentInfo::END_SIGNALED
                               : v1::AgentInfo::END_EXITED;
    r.reason = r.stop_requested ? "stopped"
               : ooms > 0       ? "killed by the OOM killer: memory limit reached"
               : st->signal     ? "killed by signal " + std::to_string(st->signal)
                                : "exited";
  } else {
    r.state = AgentState::kLost;
    r.exit_code = -1;
    r.ended = v1::AgentInfo::END_LOST;
    r.reason = "its monitor vanished; the agent was killed";
  }
  // pid 1's death took the namespace down; sweep anything that was mid-fork, then the cgroup.
  cgroups_.empty(id);  // before its grants go
  (void)cgroups_.remove(id);
  if (r.host_network && net_) net_->remove(r.cgroup_id);
  if (lsm_) lsm_->remove(r.cgroup_id);
  if (unix_) unix_->remove(r.cgroup_id);
  if (dev_) dev_->remove(r.cgroup_id);
  for (AgentService* s : services_) s->ended(id);
  a.kill_timer.reset();
  a.log.reset();
  r.ended_unix = static_cast<uint64_t>(std::time(nullptr));
  a.end_order = ++ends_;
  save(r);
  log::info("agent " + r.name + " " + r.reason + " (code " + std::to_string(r.exit_code) + ")",
            {{"AGENT_ID", id}, {"AGENT_NAME", r.name}, {"EXIT_CODE", std::to_string(r.exit_code)}});
  for (AgentObserver* o : observers_) o->exited(r);
  loop_.defer([this] { collect_ended(); });  // within the count kept
}

Status AgentManager::stop(const std::string& id) {
  auto it = agents_.find(id);
  if (it == agents_.end()) return error(ErrorKind::kNotFound, "no such agent");
  Agent& a = it->second;
  if (a.record.state != AgentState::kRunning) return {};
  a.record.stop_requested = true;
  save(a.record);
  if (!a.monitor_pidfd.valid() ||
      ::syscall(SYS_pidfd_send_signal, a.monitor_pidfd.get(), SIGTERM, nullptr, 0) != 0) {
    // No monitor to ask: take the whole cgroup down.
    return cgroups_.kill(id);
  }
  kill_after_grace(a);
  return {};
}

void AgentManager::kill_after_grace(Agent& a) {
  a.kill_timer = loop_.after(kStopGrace, [this, id = a.record.id] {
    if (auto s = cgroups_.kill(id); !s) log::error("cannot kill agent " + id + ": " + s.error().str());
  });
}

void AgentManager::set_trace(const std::string& id, const std::string& trace) {
  auto it = agents_.find(id);
  if (it == agents_.end() || !it->second.record.trace.empty()) return;
  it->second.record.trace = trace;
  save(it->second.record);
}

void AgentManager::log_grew(const std::string& id) {
  auto it = agents_.find(id);
  if (it == agents_.end() || !it->second.log.valid()) return;
  Agent& a = it->second;
  struct stat st;
  // A little slack, so that a steady writer costs one punch per megabyte, not one per write.
  if (::fstat(a.log.get(), &st) != 0 || static_cast<uint64_t>(st.st_size) <= log_max_ + (1 << 20)) return;
  off_t cut = (st.st_size - static_cast<off_t>(log_max_)) & ~off_t{4095};
  if (cut <= a.log_dropped) return;
  if (::fallocate(a.log.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, a.log_dropped, cut - a.log_dropped) != 0) {
    log::warning("agent " + a.record.name + ": cannot keep its log within " + std::to_string(log_max_) + " bytes: " +
                     std::strerror(errno),
                 {{"AGENT_ID", id}});
    a.log.reset();  // said once
    return;
  }
  a.log_dropped = cut;
}

bool AgentManager::remove(const std::string& id) {
  auto it = agents_.find(id);
  if (it == agents_.end()) return true;
  const AgentRecord& r = it->second.record;
  if (r.state == AgentState::kRunning) return false;
  for (const std::string& path : {paths_.record(id), paths_.exit_file(id), r.log_path})
    if (!path.empty() && ::unlink(path.c_str()) != 0 && errno != ENOENT)
      log::warning("agent " + id + ": cannot remove " + path + ": " + std::strerror(errno), {{"AGENT_ID", id}});
  agents_.erase(it);
  return true;
}

// Each owner's oldest ended agents beyond the count, and any past the age, are forgotten: `ps -a`
// and the state directory stay bounded however many agents a user starts, and one user's agents
// never push out another's.
void AgentManager::collect_ended() {
  std::map<uid_t, std::vector<std::tuple<uint64_t, uint64_t, std::string>>> ended;
  for (const auto& [id, a] : agents_)
    if (a.record.state != AgentState::kRunning)
      ended[a.record.owner_uid].emplace_back(a.record.ended_unix, a.end_order, id);
  auto now = static_cast<uint64_t>(std::time(nullptr));
  auto max_age = static_cast<uint64_t>(keep_for_.count());
  for (auto& [owner, list] : ended) {
    std::sort(list.begin(), list.end());  // oldest first
    size_t over = list.size() > keep_count_ ? list.size() - keep_count_ : 0;
    for (size_t i = 0; i < list.size(); ++i)
      if (i < over || std::get<0>(list[i]) + max_age < now) (void)remove(std::get<2>(list[i]));
  }
}

void AgentManager::save(const AgentRecord& r) {
  if (auto s = write_file_atomic(paths_.record(r.id), to_json(r), 0600); !s)
    log::error("cannot save agent record: " + s.error().str(), {{"AGENT_ID", r.id}});
}

const AgentRecord* AgentManager::find(const std::string& id) const {
  auto it = agents_.find(id);
  return it == agents_.end() ? nullptr : &it->second.record;
}

const AgentRecord* AgentManager::find_by_cgroup(uint64_t cgroup_id) const {
  auto at = by_cgroup_.find(cgroup_id);
  return at == by_cgroup_.end() ? nullptr : find(at->second);
}

std::vector<const AgentRecord*> AgentManager::list() const {
  std::vector<const AgentRecord*> out;
  for (const auto& [id, a] : agents_) out.push_back(&a.record);
  return out;
}

}  // namespace agentos
