#include "broker/tools/workspace.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "common/unique_fd.h"

namespace agentos::broker {
namespace {

int open_beneath(int dir, const std::string& path, int flags, mode_t mode = 0) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC | O_NOFOLLOW);
  how.mode = (flags & O_CREAT) ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  return static_cast<int>(::syscall(SYS_openat2, dir, path.c_str(), &how, sizeof how));
}

std::string errno_text(const std::string& path) { return path + ": " + std::strerror(errno); }

}  // namespace

std::vector<ToolSpec> Workspace::tools() const {
  Json path = {{"type", "string"}, {"description", "relative to the agent's workspace; no . or .. segments"}};
  ArgRules rules{{"path", {ArgKind::kPath, std::nullopt}}};
  return {
      {"fs.read", "Read a file in the agent's workspace", {{"type", "object"}, {"properties", {{"path", path}}}, {"required", {"path"}}},
       rules},
      {"fs.write", "Write a file in the agent's workspace (replacing it)",
       {{"type", "object"}, {"properties", {{"path", path}, {"content", {{"type", "string"}}}}}, {"required", {"path", "content"}}},
       rules},
      {"fs.list", "List a directory of the agent's workspace (default: its top)",
       {{"type", "object"}, {"properties", {{"path", path}}}},
       {{"path", {ArgKind::kPath, "."}}}},
  };
}

ToolResult Workspace::call(const Caller& who, const std::string& tool, const Json& args) {
  std::string owner_dir = dir_ + "/" + std::to_string(who.owner), root = owner_dir + "/" + who.agent_name;
  ::mkdir(dir_.c_str(), 0711);
  ::mkdir(owner_dir.c_str(), 0700);
  if (::mkdir(root.c_str(), 0700) == 0 && ::chown(root.c_str(), who.uid, who.uid) != 0) return tool_error(errno_text("workspace"));
  UniqueFd base(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  if (!base.valid()) return tool_error(errno_text("workspace"));
  std::string why;
  // The broker fills in fs.list's default and checks the path (tools()); again here, for any caller.
  const std::string* p = string_arg(args, "path", &why);
  if (!p) return tool_error(why);
  const std::string& path = *p;
  if (auto problem = relative_path_problem(path)) return tool_error("path " + *problem);

  if (tool == "fs.read") {
    UniqueFd fd(open_beneath(base.get(), path, O_RDONLY));
    if (!fd.valid()) return tool_error(errno_text(path));
    std::string content(kMaxFile + 1, '\0');
    ssize_t n = ::read(fd.get(), content.data(), content.size());
    if (n < 0) return tool_error(errno_text(path));
    if (static_cast<size_t>(n) > kMaxFile) return tool_error(path + ": larger than " + std::to_string(kMaxFile) + " bytes");
    content.resize(static_cast<size_t>(n));
    return {false, Json{{"content", content}}};
  }
  if (tool == "fs.write") {
    const std::string* content = string_arg(args, "content", &why);
    if (!content) return tool_error(why);
    if (content->size() > kMaxFile) return tool_error("content larger than " + std::to_string(kMaxFile) + " bytes");
    UniqueFd fd(open_beneath(base.get(), path, O_WRONLY | O_CREAT | O_TRUNC, 0600));
    if (!fd.valid()) return tool_error(errno_text(path));
    // Files the agent's tools make are the agent's, as if it had written them itself.
    if (::fchown(fd.get(), who.uid, who.uid) != 0 ||
        ::write(fd.get(), content->data(), content->size()) != static_cast<ssize_t>(content->size()))
      return tool_error(errno_text(path));
    return {false, Json{{"written", content->size()}}};
  }
  if (tool == "fs.list") {
    UniqueFd fd(open_beneath(base.get(), path, O_RDONLY | O_DIRECTORY));
    if (!fd.valid()) return tool_error(errno_text(path));
    DIR* d = ::fdopendir(fd.release());
    if (!d) return tool_error(errno_text(path));
    Json entries = Json::array();
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      entries.push_back({{"name", name}, {"dir", e->d_type == DT_DIR}});
    }
    ::closedir(d);
    return {false, Json{{"entries", entries}}};
  }
  return tool_error("no such fs tool");
}

}  // namespace agentos::broker
