// Crash recovery: the agents a previous daemon left running, adopted (agent_manager.h).
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/log.h"
#include "sandbox/console.h"
#include "server/agent_manager.h"
#include "server/agent_manager_detail.h"

namespace agentos {

namespace fs = std::filesystem;
using agent_detail::pidfd_open;
using agent_detail::read_all;

// An adopted agent's sockets are the ones its monitor holds: copies, taken through the monitor's
// pidfd. The agent's connections waited in their backlog meanwhile.
AgentSockets AgentManager::sockets_from_monitor(const Agent& a) const {
  auto take = [&](int fd, const char* whose) {
    UniqueFd copy(static_cast<int>(::syscall(SYS_pidfd_getfd, a.monitor_pidfd.get(), fd, 0)));
    if (!copy.valid())
      log::error("agent " + a.record.id + ": cannot take " + whose + " socket from its monitor: " + std::strerror(errno),
                 {{"AGENT_ID", a.record.id}});
    return copy;
  };
  AgentSockets out;
  if (a.record.broker_fd >= 0) out.broker = take(a.record.broker_fd, "the broker's");
  for (int fd : a.record.gateway_fds)
    if (!out.gateway.emplace_back(take(fd, "the gateway's")).valid()) return {std::move(out.broker), {}};
  return out;
}

void AgentManager::serve(const AgentRecord& r, AgentSockets sockets) {
  auto p = policy_of(r);
  if (!p) return log::error("agent " + r.id + ": not served after the daemon's restart: " + p.error().str(), {{"AGENT_ID", r.id}});
  for (AgentService* s : services_) s->serve(r, *p, sockets);
}

void AgentManager::recover() {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(paths_.runtime_dir + "/agents", ec)) {
    if (e.path().extension() != ".json") continue;
    auto rec = record_from_json(read_all(e.path()));
    if (!rec) {
      log::error(e.path().string() + ": unreadable agent record: " + rec.error().str());
      continue;
    }
    Agent a;
    a.record = std::move(*rec);
    std::string id = a.record.id;
    if (a.record.state == AgentState::kRunning) {
      auto start = process_start_time(a.record.monitor_pid);
      if (start && *start == a.record.monitor_start) {
        a.monitor_pidfd.reset(pidfd_open(a.record.monitor_pid));
        // Re-check after opening the pidfd: the pid could have been reused in between.
        if (a.monitor_pidfd.valid() && process_start_time(a.record.monitor_pid) != start) a.monitor_pidfd.reset();
      }
      if (a.monitor_pidfd.valid()) {
        log::info("adopted running agent " + a.record.name, {{"AGENT_ID", id}});
        a.log.reset(::open(a.record.log_path.c_str(), O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC));
        if (off_t data = a.log.valid() ? ::lseek(a.log.get(), 0, SEEK_DATA) : 0; data > 0) a.log_dropped = data;
        // Its console: the monitor's copy of the daemon's end. Nobody is attached to a new daemon.
        if (a.record.console_fd >= 0) {
          a.console.reset(static_cast<int>(::syscall(SYS_pidfd_getfd, a.monitor_pidfd.get(), a.record.console_fd, 0)));
          std::string detach = sandbox::console_message(sandbox::ConsoleKind::kAttach, std::string(1, '\0'));
          if (a.console.valid()) (void)!::send(a.console.get(), detach.data(), detach.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        }
        serve(a.record, sockets_from_monitor(a));
      }
      if (a.record.stop_requested) kill_after_grace(a);
    }
    auto [it, _] = agents_.emplace(id, std::move(a));
    by_cgroup_[it->second.record.cgroup_id] = id;
    if (it->second.record.state != AgentState::kRunning) continue;
    if (it->second.monitor_pidfd.valid()) {
      watch(it->second);
      watch_console(it->second);
      for (AgentObserver* o : observers_) o->adopted(it->second.record);
    } else {
      finish(id);
    }  // exited while we were down, or its monitor is gone
  }
  collect_ended();
}

}  // namespace agentos
