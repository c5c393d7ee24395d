#include "sandbox/cgroup.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <sstream>

#include "common/log.h"

namespace agentos::sandbox {
namespace {

Status write_file(const std::string& path, const std::string& text) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return sys_error(path);
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    return sys_error(path);
  return {};
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::set<std::string> words(const std::string& s) {
  std::istringstream in(s);
  std::set<std::string> out;
  for (std::string w; in >> w;) out.insert(w);
  return out;
}

Status make_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) return sys_error("mkdir " + path);
  return {};
}

Result<std::string> find_cgroup2_mount() {
  std::ifstream in("/proc/self/mountinfo");
  for (std::string line; std::getline(in, line);) {
    auto sep = line.find(" - ");
    if (sep == std::string::npos || line.compare(sep + 3, 8, "cgroup2 ") != 0) continue;
    std::istringstream f(line.substr(0, sep));
    std::string id, parent, devno, root, point;
    f >> id >> parent >> devno >> root >> point;
    return point;
  }
  return error("no cgroup2 hierarchy is mounted");
}

std::string own_cgroup() {
  std::ifstream in("/proc/self/cgroup");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("0::")) return line.substr(3);
  return "/";
}

}  // namespace

Result<Cgroups> Cgroups::init(const std::string& base_override) {
  Cgroups cg;
  auto mount = find_cgroup2_mount();
  if (!mount) return mount.error();
  cg.mount_ = *mount;
  std::string own = own_cgroup();
  // Agents do not live beneath the daemon's own (delegated) unit cgroup: with controllers enabled
  // there, systemd 252 cannot put a restarted daemon back into it while agents run (cgroup v2's
  // no-internal-processes rule; DelegateSubgroup= arrives in systemd 254). /agentos is a tree of
  // the daemon's own beside the units, so a restart never touches the agents.
  cg.base_ = !base_override.empty() ? base_override : "/agentos";
  if (cg.base_ == "/") cg.base_.clear();
  std::string base = cg.mount_ + cg.base_;
  if (auto s = make_dir(base); !s) return s.error();
  // A delegated unit cgroup may hold no processes once it enables controllers for children.
  if (own == cg.base_) {
    if (auto s = make_dir(base + "/daemon"); !s) return s.error();
    if (auto s = write_file(base + "/daemon/cgroup.procs", std::to_string(::getpid())); !s)
      return s.error();
  }
  if (auto s = make_dir(base + "/agents"); !s) return s.error();
  for (const char* c : {"cpu", "memory", "pids"}) {
    // Each may be missing (hybrid hierarchy, not delegated): what is enabled is read back below.
    (void)write_file(base + "/cgroup.subtree_control", std::string("+") + c);
    (void)write_file(base + "/agents/cgroup.subtree_control", std::string("+") + c);
  }
  cg.controllers_ = words(read_file(base + "/agents/cgroup.subtree_control"));
  return cg;
}

std::string Cgroups::path(const std::string& id) const { return base_ + "/agents/" + id; }

AgentCgroup& AgentCgroup::operator=(AgentCgroup&& o) noexcept {
  if (this != &o) {
    undo();
    all_ = std::exchange(o.all_, nullptr);
    id_ = std::move(o.id_);
    dir_ = std::move(o.dir_);
  }
  return *this;
}

void AgentCgroup::kill() const {
  if (all_) all_->empty(id_);
}

void AgentCgroup::undo() {
  if (!all_) return;
  kill();
  if (auto s = all_->remove(id_); !s) log::warning("agent " + id_ + ": its cgroup stays: " + s.error().str());
  all_ = nullptr;
}

Result<AgentCgroup> Cgroups::create(const std::string& id, const policy::Limits& l,
                                 std::vector<LimitState>* limits) const {
  const std::string d = dir(id);
  if (::mkdir(d.c_str(), 0755) != 0) return sys_error("mkdir " + d);
  auto apply = [&](const char* controller, const std::string& file, const std::string& value) -> Status {
    LimitState st{controller, false, ""};
    if (!controllers_.count(controller)) {
      st.detail = std::string("cgroup v2 controller '") + controller + "' is not available for " +
                  mount_ + base_ + "/agents";
    } else if (auto s = write_file(d + "/" + file, value); !s) {
      return s;  // the controller exists, so failing to set it is an error, not a shortfall
    } else {
      st.in_force = true;
      st.detail = file + " = " + value;
    }
    limits->push_back(st);
    return {};
  };
  Status s;
  if (l.memory_bytes) {
    s = apply("memory", "memory.max", std::to_string(*l.memory_bytes));
    // Without this the limit would spill into swap instead of holding.
    if (s && controllers_.count("memory") && ::access((d + "/memory.swap.max").c_str(), F_OK) == 0)
      s = write_file(d + "/memory.swap.max", "0");
  }
  if (s && l.cpu_percent) s = apply("cpu", "cpu.max", std::to_string(*l.cpu_percent * 1000) + " 100000");
  if (s && l.pids) s = apply("pids", "pids.max", std::to_string(*l.pids));
  AgentCgroup cg(*this, id, UniqueFd(::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)));
  if (!s) return s.error();
  if (cg.fd() < 0) return sys_error("open " + d);
  return cg;
}

Status Cgroups::kill(const std::string& id) const { return write_file(dir(id) + "/cgroup.kill", "1"); }

Status Cgroups::remove(const std::string& id) const {
  if (::rmdir(dir(id).c_str()) != 0 && errno != ENOENT) return sys_error("rmdir " + dir(id));
  return {};
}

uint64_t Cgroups::oom_kills(const std::string& id) const {
  std::istringstream in(read_file(dir(id) + "/memory.events"));
  for (std::string key, value; in >> key >> value;)
    if (key == "oom_kill") return std::stoull(value);
  return 0;
}

bool Cgroups::populated(const std::string& id) const {
  return read_file(dir(id) + "/cgroup.events").find("populated 1") != std::string::npos;
}

void Cgroups::empty(const std::string& id) const {
  if (!populated(id)) return;
  if (auto s = kill(id); !s) return log::warning("agent " + id + ": " + s.error().str());
  // cgroup.kill only sends SIGKILL; rmdir is EBUSY until the last process has exited.
  if (!wait_empty(id, std::chrono::seconds(2))) log::warning("agent " + id + ": processes outlived cgroup.kill for 2 s");
}

// cgroup.events raises POLLPRI on every change of "populated".
bool Cgroups::wait_empty(const std::string& id, std::chrono::milliseconds timeout) const {
  const std::string path = dir(id) + "/cgroup.events";
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return !populated(id);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    char buf[256];
    ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
    if (n < 0) return false;
    if (std::string_view(buf, static_cast<size_t>(n)).find("populated 1") == std::string_view::npos) return true;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd.get(), POLLPRI, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) < 0 && errno != EINTR) return false;
  }
}

}  // namespace agentos::sandbox
