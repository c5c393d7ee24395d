// The policy parser's walk over a TOML document, section by section, recording every error rather
// than stopping at one. Each section's method lives in the file of its section (parser.cc for the
// core ones, egress_section.cc, tools_section.cc, tool_accounts_section.cc); they share the value helpers here.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/policy.h"

namespace agentos::policy {

// "an integer", "a string": for "must be X, not Y" messages.
std::string type_name(const toml::node& n);
std::string position_text(const toml::source_position& p);

class Walker {
 public:
  Walker(std::string_view file, Policy& out) : file_(file), out_(out) {}

  void walk(const toml::table& root);

  std::vector<Diagnostic> take_errors() { return std::move(errors_); }

  void error(const toml::source_position& at, std::string message);
  void error(const toml::node& at, std::string message);
  void file_error(std::string message) { errors_.push_back({{file_, 0, 0}, std::move(message)}); }

  // The value helpers, shared by the section files.
  // Every key of `table` outside `known` is an error at the key: a misspelled key silently
  // ignored would be a grant or limit the author believes is in force.
  void check_keys(const toml::table& table, std::initializer_list<std::string_view> known,
                  std::string_view where);

  const toml::table* section(const toml::table& root, std::string_view name);

  // A key that takes one of two words: `off` (the default) or `on`, which sets `flag`.
  void two_way(const toml::table& t, std::string_view key, std::string_view section, std::string_view off,
               std::string_view on, bool& flag);

  std::optional<std::string> string_value(const toml::node& n, const std::string& what);

  const toml::array* array_value(const toml::node& n, const std::string& what);

  void agent(const toml::table* t);

  void name(const toml::node* n);

  void env(const toml::node& n);

  void filesystem(const toml::table& t);
  void devices(const toml::table& t);

  void path_list(const toml::table& t, std::string_view key, std::vector<std::string>& out);

  void network(const toml::table& t);

  void rule_list(const toml::table& t, std::string_view key, std::vector<NetRule>& out);

  void egress(const toml::table& t);

  void routes(const toml::node& n, Egress& e);

  void limits(const toml::table& t);

  void tools(const toml::table& t);

  void tool_constraints(const toml::node& n, Tools& tools);
  [[nodiscard]] static std::optional<std::string> unknown_tool(const std::string& name);

  void tool_accounts(const toml::table& tools, Tools& out);
  std::optional<std::string> account_string(const toml::table& t, std::string_view key, const std::string& section);
  bool account_url(const toml::table& t, std::string_view key, const std::string& section,
                   std::initializer_list<std::string_view> schemes, std::string& out);
  bool account_secret(const toml::table& t, const std::string& section, std::string& out);

  void delegate(const toml::table& t);

  void serve(const toml::table& t);

  // A whole number in [min, max] at `key` of `t`, if present: seconds, counts.
  std::optional<uint32_t> bounded(const toml::table& t, std::string_view key, const std::string& what, uint32_t min,
                                  uint32_t max);

  // The agent's root holds only its grants (plus / and a private /tmp), so a workdir anywhere
  // else would not exist when the agent starts.
  void check_workdir_granted();

 private:
  std::string file_;
  Policy& out_;
  std::vector<Diagnostic> errors_;
  toml::source_position workdir_at_{};
};

}  // namespace agentos::policy
