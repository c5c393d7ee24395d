// [tools.calendar] and [tools.email]: the accounts the calendar and email tools reach for the
// agent. Credentials are never written here: `secret` names one of the owner's secrets, and a URL
// carrying a user or password is refused, so a policy file can be shared without leaking one.
#include <algorithm>

#include "common/mail_address.h"
#include "common/url.h"
#include "policy/egress_rule.h"
#include "policy/quote.h"
#include "policy/walker.h"

namespace agentos::policy {
namespace {

// scheme://host[:port][/path]: one of `schemes`, a host, and nothing that is not printable ASCII.
std::optional<std::string> check_url(std::string_view url, std::initializer_list<std::string_view> schemes) {
  for (char c : url)
    if (c <= ' ' || c == 0x7f) return "must not hold spaces or control characters";
  auto parsed = parse_url(url);
  if (!parsed) return parsed.error().str();
  std::string names;
  for (auto s : schemes) names += (names.empty() ? "" : " or ") + std::string(s) + "://";
  if (std::find(schemes.begin(), schemes.end(), parsed->scheme) == schemes.end() || !url.starts_with(parsed->scheme))
    return "must start with " + names;
  if (parsed->user_info) return "must not carry a user or password (use user = and secret =)";
  if (parsed->query || parsed->fragment) return "must not hold a query or fragment";
  if (parsed->zone_id) return "must not hold an IPv6 zone id";
  return std::nullopt;
}

}  // namespace

std::optional<std::string> Walker::account_string(const toml::table& t, std::string_view key, const std::string& section) {
  const toml::node* n = t.get(key);
  const std::string what = section + "." + std::string(key);
  if (!n) {
    error(t.source().begin, what + " is required");
    return std::nullopt;
  }
  std::optional<std::string> v = string_value(*n, what);
  if (!v) return std::nullopt;
  if (v->empty() || v->size() > 1024) {
    error(*n, what + " must be 1..1024 characters");
    return std::nullopt;
  }
  for (char c : *v)
    if (static_cast<unsigned char>(c) < ' ' || c == 0x7f) {
      error(*n, what + " must not hold control characters");
      return std::nullopt;
    }
  return v;
}

bool Walker::account_url(const toml::table& t, std::string_view key, const std::string& section,
                         std::initializer_list<std::string_view> schemes, std::string& out) {
  std::optional<std::string> v = account_string(t, key, section);
  if (!v) return false;
  if (auto why = check_url(*v, schemes)) {
    error(*t.get(key), section + "." + std::string(key) + " " + quote_text(*v) + " " + *why);
    return false;
  }
  out = std::move(*v);
  return true;
}

bool Walker::account_secret(const toml::table& t, const std::string& section, std::string& out) {
  std::optional<std::string> v = account_string(t, "secret", section);
  if (!v) return false;
  if (Status s = check_secret_name(*v); !s) {
    error(*t.get("secret"), section + ".secret: " + s.error().what);
    return false;
  }
  out = std::move(*v);
  return true;
}

void Walker::tool_accounts(const toml::table& tools, Tools& out) {
  if (const toml::node* n = tools.get("calendar")) {
    const toml::table* t = n->as_table();
    if (!t) return error(*n, "tools.calendar must be a table: url, user, secret");
    check_keys(*t, {"url", "user", "secret"}, "tools.calendar");
    CalendarAccount a;
    bool ok = account_url(*t, "url", "tools.calendar", {"http", "https"}, a.url);
    std::optional<std::string> user = account_string(*t, "user", "tools.calendar");
    ok = account_secret(*t, "tools.calendar", a.secret) && user && ok;
    if (ok) {
      a.user = std::move(*user);
      if (!a.url.ends_with('/')) a.url += '/';  // a collection: member names are appended
      out.calendar = std::move(a);
    }
  }
  if (const toml::node* n = tools.get("email")) {
    const toml::table* t = n->as_table();
    if (!t) return error(*n, "tools.email must be a table: imap, smtp, user, secret, from");
    check_keys(*t, {"imap", "smtp", "user", "secret", "from"}, "tools.email");
    MailAccount a;
    bool ok = account_url(*t, "imap", "tools.email", {"imap", "imaps"}, a.imap);
    ok = account_url(*t, "smtp", "tools.email", {"smtp", "smtps"}, a.smtp) && ok;
    std::optional<std::string> user = account_string(*t, "user", "tools.email");
    std::optional<std::string> from = account_string(*t, "from", "tools.email");
    if (from && !is_mail_address(*from)) {
      error(*t->get("from"), "tools.email.from " + quote_text(*from) + " must be one bare address, local@domain");
      from.reset();
    }
    ok = account_secret(*t, "tools.email", a.secret) && user && from && ok;
    if (ok) {
      a.user = std::move(*user);
      a.from = std::move(*from);
      out.email = std::move(a);
    }
  }
}

}  // namespace agentos::policy
