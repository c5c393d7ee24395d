#include "sandbox/mount_table.h"

#include <sstream>
#include <vector>

#include "policy/paths.h"
#include "sandbox/grant_object.h"

namespace agentos::sandbox {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(const std::string& s) {
  auto octal = [](char c) { return c >= '0' && c <= '7'; };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && octal(s[i + 1]) && octal(s[i + 2]) && octal(s[i + 3])) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::optional<BindBeneath> bind_mount_beneath(const std::string& mountinfo, const std::vector<std::string>& grants) {
  std::istringstream in(mountinfo);
  for (std::string line; std::getline(in, line);) {
    // id parent major:minor root mount-point ...
    std::istringstream fields(line);
    std::string id, parent, dev, root, point;
    if (!(fields >> id >> parent >> dev >> root >> point)) continue;
    root = unescape(root);
    point = unescape(point);
    if (root == "/") continue;  // a filesystem shown from its root: both layers agree
    for (const auto& grant : grants)
      if (point != grant && policy::path_covers(grant, point)) return BindBeneath{grant, point, root};
  }
  return std::nullopt;
}

std::optional<PseudoMount> pseudo_mount_beneath(const std::string& mountinfo, const std::string& dir) {
  std::istringstream in(mountinfo);
  for (std::string line; std::getline(in, line);) {
    // id parent major:minor root mount-point options [optional fields...] - fstype source ...
    std::istringstream fields(line);
    std::string id, parent, dev, root, point, word, fstype;
    if (!(fields >> id >> parent >> dev >> root >> point)) continue;
    while (fields >> word && word != "-") {
    }
    if (!(fields >> fstype)) continue;
    point = unescape(point);
    if (point != dir && policy::path_covers(dir, point) && pseudo_filesystem_name(fstype)) return PseudoMount{point, fstype};
  }
  return std::nullopt;
}

}  // namespace agentos::sandbox
