#include "server/policy_store.h"

#include <algorithm>
#include <filesystem>

#include "common/atomic_file.h"

namespace agentos {

namespace fs = std::filesystem;

std::vector<std::string> PolicyStore::reload(const std::vector<policy::Policy>& just_written) {
  std::vector<std::string> diags;
  std::vector<std::string> paths;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec))
    if (e.path().extension() == ".toml" && e.is_regular_file(ec)) paths.push_back(e.path().string());
  if (ec) diags.push_back(dir_ + ": " + ec.message());
  std::sort(paths.begin(), paths.end());

  std::map<std::string, const policy::Policy*> by_path;
  for (const auto& [name, p] : by_name_) by_path[p.source_path] = &p;
  for (const auto& p : just_written) by_path[p.source_path] = &p;
  std::vector<policy::Policy> loaded;
  std::vector<std::string> failed_paths;
  for (const auto& p : paths) {
    auto known = by_path.find(p);
    auto r = policy::parse_policy_file(p, known == by_path.end() ? nullptr : known->second);
    for (const auto& d : r.errors) diags.push_back(d.str());
    if (r.policy) loaded.push_back(std::move(*r.policy));
    else failed_paths.push_back(p);
  }
  std::map<std::string, policy::Policy> next;
  auto dups = policy::find_duplicate_names(loaded);
  for (const auto& d : dups) diags.push_back(d.str());
  for (auto& p : loaded) {
    bool dup = std::any_of(dups.begin(), dups.end(), [&](const auto& d) { return d.where.file == p.source_path; });
    p.from_policy_dir = true;
    if (!dup) next.emplace(p.name, std::move(p));
  }
  // A file that no longer parses keeps its last good version in force.
  for (auto& [name, p] : by_name_)
    if (std::find(failed_paths.begin(), failed_paths.end(), p.source_path) != failed_paths.end() &&
        !next.count(name))
      next.emplace(name, p);
  by_name_ = std::move(next);
  return diags;
}

Result<std::vector<std::string>> PolicyStore::install(
    const std::vector<std::pair<std::string, std::string>>& files, std::vector<std::string>* diagnostics) {
  std::vector<policy::Policy> parsed;
  for (const auto& [path, content] : files) {
    auto r = policy::parse_policy(content, path);
    for (const auto& d : r.errors) diagnostics->push_back(d.str());
    if (r.policy) parsed.push_back(std::move(*r.policy));
  }
  for (const auto& d : policy::find_duplicate_names(parsed)) diagnostics->push_back(d.str());
  for (const auto& p : parsed) {
    const auto* existing = find(p.name);
    std::string target = dir_ + "/" + p.name + ".toml";
    if (existing && existing->source_path != target)
      diagnostics->push_back(p.source_path + ": agent \"" + p.name + "\" is already defined by " +
                             existing->source_path);
  }
  if (!diagnostics->empty()) return error("invalid policy; nothing was applied");

  std::vector<std::string> names;
  for (auto& p : parsed) {
    // Where it now lives. Its name came from [agent].name or is the same file name, so this is
    // what parsing it there gives, and the reload below need not parse it again.
    p.source_path = dir_ + "/" + p.name + ".toml";
    if (auto s = write_file_atomic(p.source_path, p.source_text, 0644); !s) return s.error();
    names.push_back(p.name);
  }
  auto reload_diags = reload(parsed);
  diagnostics->insert(diagnostics->end(), reload_diags.begin(), reload_diags.end());
  return names;
}

const policy::Policy* PolicyStore::find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &it->second;
}

}  // namespace agentos
