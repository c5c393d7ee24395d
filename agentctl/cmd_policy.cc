// policy check (local, no daemon), policy list, policy apply.
#include <iostream>
#include <map>
#include <optional>

#include "agentctl/commands.h"
#include "agentctl/connection.h"
#include "agentctl/output.h"
#include "agentctl/policy_file.h"
#include "agentctl/table.h"
#include "policy/policy.h"

namespace agentos::ctl {

using agentos::v1::Response;
namespace {

struct CheckedFile {
  std::string path;
  std::optional<std::string> name;  // set when the file parsed and its name is unique
  std::vector<policy::Diagnostic> errors;
};

// find_duplicate_names reports each later policy whose name repeats an earlier one's. Pair its
// diagnostics with the files they belong to, so that a file passed twice is told apart.
void attach_duplicates(std::vector<CheckedFile>& files, const std::vector<size_t>& valid_file,
                       const std::vector<policy::Policy>& valid) {
  std::vector<policy::Diagnostic> dups = policy::find_duplicate_names(valid);
  if (dups.empty()) return;
  std::vector<size_t> repeats;  // indices into `files`, in the order the diagnostics come
  std::map<std::string, size_t> seen;
  for (size_t k = 0; k < valid.size(); ++k) {
    if (!seen.emplace(valid[k].name, k).second) repeats.push_back(valid_file[k]);
  }
  for (size_t i = 0; i < dups.size(); ++i) {
    size_t target = files.size() - 1;
    if (repeats.size() == dups.size()) {
      target = repeats[i];
    } else {
      // The parser disagrees with our idea of a repeat; fall back to the file it names.
      for (size_t f = 0; f < files.size(); ++f) {
        if (files[f].path == dups[i].where.file) target = f;
      }
    }
    files[target].name.reset();
    files[target].errors.push_back(dups[i]);
  }
}

}  // namespace

Outcome<int> cmd_policy_check(const Globals& g, const std::vector<std::string>& paths) {
  std::vector<CheckedFile> files;
  std::vector<policy::Policy> valid;
  std::vector<size_t> valid_file;
  for (const auto& path : paths) {
    policy::ParseResult r = policy::parse_policy_file(path);
    CheckedFile f{path, std::nullopt, std::move(r.errors)};
    if (r.policy && f.errors.empty()) {
      f.name = r.policy->name;
      valid_file.push_back(files.size());
      valid.push_back(std::move(*r.policy));
    } else if (f.errors.empty()) {
      f.errors.push_back({{path, 0, 0}, "the parser gave neither a policy nor an error"});
    }
    files.push_back(std::move(f));
  }
  attach_duplicates(files, valid_file, valid);

  bool all_ok = true;
  for (const auto& f : files) all_ok = all_ok && f.errors.empty();

  if (g.json) {
    Json list = Json::array();
    for (const auto& f : files) {
      Json errors = Json::array();
      for (const auto& d : f.errors) {
        errors.push_back(
            {{"line", d.where.line}, {"column", d.where.column}, {"message", d.message}});
      }
      list.push_back({{"path", f.path},
                      {"ok", f.errors.empty()},
                      {"name", f.name ? Json(*f.name) : Json(nullptr)},
                      {"errors", errors}});
    }
    print_json({{"ok", all_ok}, {"files", list}});
  } else {
    for (const auto& f : files) {
      for (const auto& d : f.errors) std::cerr << d.str() << '\n';
      if (f.errors.empty()) std::cout << f.path << ": ok (agent " << *f.name << ")\n";
    }
  }
  return all_ok ? kExitOk : kExitFailed;
}

Outcome<int> cmd_policy_list(const Globals& g) {
  agentos::v1::Request req;
  req.mutable_policy_list();
  auto resp = call(g.socket, req);
  if (!resp) return resp.error();
  if (!empty_or(*resp, &Response::has_policy_list)) return unexpected_reply("policy list");
  const auto& policies = resp->policy_list().policies();

  if (g.json) {
    Json out = Json::array();
    for (const auto& p : policies) out.push_back(policy_summary_json(p));
    print_json(out);
    return kExitOk;
  }
  Table t({"NAME", "PATH", "COMMAND"});
  for (const auto& p : policies) t.add({p.name(), p.path(), shell_join(p.command())});
  t.print(std::cout);
  return kExitOk;
}

Outcome<int> cmd_policy_apply(const Globals& g, const std::vector<std::string>& paths) {
  agentos::v1::Request req;
  auto* apply = req.mutable_policy_apply();
  for (const auto& path : paths) {
    auto content = read_policy_file(path);
    if (!content) return content.error();
    auto* file = apply->add_files();
    file->set_path(path);
    file->set_content(std::move(content).value());
  }
  auto resp = call(g.socket, req);
  if (!resp) return resp.error();
  if (!empty_or(*resp, &Response::has_policy_apply)) return unexpected_reply("policy apply");
  const auto& reply = resp->policy_apply();

  if (g.json) {
    Json loaded = Json::array();
    for (const auto& p : reply.loaded()) loaded.push_back(policy_summary_json(p));
    print_json({{"loaded", loaded},
                {"diagnostics", Json(std::vector<std::string>(reply.diagnostics().begin(),
                                                              reply.diagnostics().end()))},
                {"changes", changes_json(reply.changes())}});
  } else {
    for (const auto& p : reply.loaded()) {
      std::cout << "loaded " << p.name() << " (" << p.path() << ")\n";
    }
    if (reply.loaded_size() == 0) std::cout << "no policies loaded\n";
    print_changes(reply.changes());
    for (const auto& d : reply.diagnostics()) std::cerr << d << '\n';
  }
  // Rejected files in the directory are not fatal to the daemon but need the admin's attention.
  return reply.diagnostics_size() == 0 ? kExitOk : kExitFailed;
}

}  // namespace agentos::ctl
