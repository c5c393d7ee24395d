#include "broker/arguments.h"

#include "broker/canonical_url.h"
#include "common/mail_address.h"
#include "policy/quote.h"

namespace agentos::broker {
namespace {

constexpr size_t kMaxPath = 4096;
constexpr size_t kMaxRecipients = 50;  // as many as email.send takes

Result<Json> canonical_recipients(const Json& v) {
  Json out = Json::array();
  auto add = [&](const Json& one) -> Status {
    if (!one.is_string()) return error("must be an address or a list of them");
    const auto& s = one.get_ref<const std::string&>();
    if (!is_mail_address(s)) return error(policy::quote_text(s) + " is not one bare address, local@domain");
    size_t at = s.rfind('@');
    std::string domain = s.substr(at + 1);
    for (char& c : domain)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    out.push_back(s.substr(0, at + 1) + domain);  // the local part is the receiving server's to read
    return {};
  };
  if (v.is_array()) {
    for (const auto& one : v)
      if (auto s = add(one); !s) return s.error();
  } else if (auto s = add(v); !s) {
    return s.error();
  }
  if (out.empty() || out.size() > kMaxRecipients) return error("must name 1.." + std::to_string(kMaxRecipients) + " recipients");
  return out;
}

Result<Json> canonical_value(ArgKind kind, const Json& v) {
  switch (kind) {
    case ArgKind::kText:
      return v;
    case ArgKind::kPath: {
      if (!v.is_string()) return error("must be a string");
      if (auto why = relative_path_problem(v.get_ref<const std::string&>())) return error(*why);
      return v;
    }
    case ArgKind::kUrl: {
      if (!v.is_string()) return error("must be a string");
      auto url = canonical_url(v.get_ref<const std::string&>());
      if (!url) return url.error();
      return Json(std::move(url->text));
    }
    case ArgKind::kRecipients:
      return canonical_recipients(v);
  }
  return error("has no known kind");
}

}  // namespace

const ArgRule& rule_of(const ArgRules& rules, std::string_view argument) {
  static const ArgRule kText;
  auto it = rules.find(argument);
  return it == rules.end() ? kText : it->second;
}

std::optional<std::string> relative_path_problem(std::string_view path) {
  if (path == ".") return std::nullopt;
  if (path.empty() || path.size() > kMaxPath) return "must be 1.." + std::to_string(kMaxPath) + " bytes";
  if (path.front() == '/') return "must be relative to the workspace";
  for (char c : path) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "must not hold control characters";
    if (c == '\\') return "must not hold backslashes";
  }
  for (size_t at = 0; at <= path.size();) {
    size_t end = std::min(path.find('/', at), path.size());
    std::string_view seg = path.substr(at, end - at);
    if (seg.empty()) return "must not hold empty segments (//, or a / at either end)";
    if (seg == "." || seg == "..") return "must not hold . or .. segments";
    at = end + 1;
  }
  return std::nullopt;
}

Result<Json> canonical_arguments(const ArgRules& rules, Json args) {
  for (const auto& [name, rule] : rules) {
    auto it = args.find(name);
    if (it == args.end()) {
      if (!rule.fallback) continue;  // absent: the tool says whether it needs it, a constraint refuses it
      it = args.emplace(name, *rule.fallback).first;
    }
    auto v = canonical_value(rule.kind, *it);
    if (!v) return error("argument \"" + name + "\": " + v.error().what);
    *it = std::move(*v);
  }
  return args;
}

}  // namespace agentos::broker
