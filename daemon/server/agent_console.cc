// The daemon's end of each agent's console (sandbox/console.h): output read from the monitor and
// handed to the attached client, input queued for the monitor in order, with flow control both
// ways so that neither a slow agent nor a slow client makes the daemon hold unbounded data.
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "common/log.h"
#include "server/agent_manager.h"

namespace agentos {

void AgentManager::watch_console(Agent& a) {
  if (!a.console.valid()) return;
  std::string id = a.record.id;
  auto on_event = [this, id](uint32_t events) {
    if (events & EPOLLOUT) flush_console(id);
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_console(id);
  };
  auto w = loop_.watch(a.console.get(), EPOLLIN, on_event);
  if (!w) return log::error("cannot watch agent " + id + "'s console: " + w.error().str());
  a.console_watch = std::move(*w);
}

void AgentManager::console_interest(Agent& a) {
  uint32_t events = (a.console_held ? 0U : EPOLLIN) | (a.console_queue.empty() ? 0U : EPOLLOUT);
  if (auto s = a.console_watch.modify(events); !s)
    log::error("agent " + a.record.id + "'s console: " + s.error().str());
}

void AgentManager::read_console(const std::string& id) {
  auto it = agents_.find(id);
  if (it == agents_.end() || !it->second.console.valid()) return;
  std::string buf(sandbox::kConsoleChunk + 1, '\0');
  for (int i = 0; i < 64; ++i) {  // a bounded turn
    if (it->second.console_held) return;
    ssize_t n = ::recv(it->second.console.get(), buf.data(), buf.size(), MSG_DONTWAIT);
    if (n <= 0) return;
    sandbox::ConsoleMessage m;
    if (sandbox::parse_console_message(std::string_view(buf.data(), static_cast<size_t>(n)), &m))
      for (AgentObserver* o : observers_) o->console_output(id, m.kind, m.payload);
    it = agents_.find(id);  // a handler may have ended it
    if (it == agents_.end() || !it->second.console.valid()) return;
  }
}

void AgentManager::console_hold(const std::string& id, bool hold) {
  auto it = agents_.find(id);
  if (it == agents_.end() || !it->second.console.valid() || it->second.console_held == hold) return;
  it->second.console_held = hold;
  console_interest(it->second);
}

bool AgentManager::console_attach(const std::string& id, bool attached) {
  return console_send(id, sandbox::console_message(sandbox::ConsoleKind::kAttach, std::string(1, attached ? '\1' : '\0')));
}

bool AgentManager::console_send(const std::string& id, const std::string& message) {
  auto it = agents_.find(id);
  if (it == agents_.end() || !it->second.console.valid() || it->second.record.state != AgentState::kRunning) return false;
  Agent& a = it->second;
  bool was_empty = a.console_queue.empty();
  a.console_queue.push_back(message);
  a.console_queued += message.size();
  if (was_empty) flush_console(id);
  return true;
}

void AgentManager::flush_console(const std::string& id) {
  auto it = agents_.find(id);
  if (it == agents_.end() || !it->second.console.valid()) return;
  Agent& a = it->second;
  bool had = !a.console_queue.empty();
  while (!a.console_queue.empty()) {
    const std::string& m = a.console_queue.front();
    ssize_t n = ::send(a.console.get(), m.data(), m.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;  // the monitor's turn to read
    if (n < 0) {  // the monitor is gone; its exit follows
      a.console_queue.clear();
      a.console_queued = 0;
      break;
    }
    a.console_queued -= m.size();
    a.console_queue.pop_front();
  }
  console_interest(a);
  if (had && a.console_queue.empty())
    for (AgentObserver* o : observers_) o->console_drained(id);
}

size_t AgentManager::console_backlog(const std::string& id) const {
  auto it = agents_.find(id);
  return it == agents_.end() ? 0 : it->second.console_queued;
}

bool AgentManager::console_signal(const std::string& id, int sig) {
  auto it = agents_.find(id);
  if (sig != SIGINT && sig != SIGTERM && sig != SIGHUP) return false;
  if (it == agents_.end() || !it->second.monitor_pidfd.valid() || it->second.record.state != AgentState::kRunning) return false;
  // The monitor passes these three on to the agent (through its init) as they are.
  return ::syscall(SYS_pidfd_send_signal, it->second.monitor_pidfd.get(), sig, nullptr, 0) == 0;
}

}  // namespace agentos
