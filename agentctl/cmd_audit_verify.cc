// agentctl audit verify: checks the audit trail's hash chain in the files themselves, not through
// the daemon: the verifier should not be the writer it checks, and it works on a host whose daemon
// is down and on a copy. The files are root's, so it needs root (or a copy it can read).
#include <iostream>

#include "agentctl/commands.h"
#include "agentctl/output.h"
#include "common/audit_verify.h"

namespace agentos::ctl {

Outcome<int> cmd_audit_verify(const Globals& g, const std::string& path, const std::vector<std::string>& anchors) {
  std::vector<audit_chain::Anchor> parsed;
  for (const auto& a : anchors) {
    auto anchor = audit_chain::parse_anchor(a);
    if (!anchor) return usage_error("--anchor takes SEQ:HASH (a journal entry's AUDIT_SEQ and AUDIT_HASH), not \"" + a + "\"");
    parsed.push_back(*anchor);
  }
  auto verdict = audit_chain::verify_files(path, std::move(parsed));
  if (!verdict)
    return failed("cannot verify the audit trail: " + verdict.error().str() +
                  (verdict.error().err == EACCES ? " (its files are root's: run as root, or verify a copy)" : ""));
  if (const auto& p = verdict->problem) {
    if (g.json) print_json({{"ok", false}, {"file", p->file}, {"line", p->line}, {"reason", p->reason}});
    else std::cerr << p->file << ":" << p->line << ": " << p->reason << "\n";
    return kExitFailed;
  }
  const audit_chain::Summary& s = verdict->summary;
  if (g.json) {
    print_json({{"ok", true},
                {"records", s.records},
                {"first_seq", s.first_seq},
                {"last_seq", s.last_seq},
                {"last_hash", s.last_hash},
                {"torn", s.torn},
                {"unchained", s.unchained}});
    return kExitOk;
  }
  std::cout << "ok, " << s.records << " records";
  if (s.records) std::cout << " (seq " << s.first_seq << " to " << s.last_seq << ", last hash " << s.last_hash << ")";
  if (s.torn) std::cout << "; " << s.torn << " half-written line(s) left by a crash, sealed by the record after them";
  if (s.unchained) std::cout << "; " << s.unchained << " line(s) from before the chain, not verifiable";
  std::cout << "\n";
  return kExitOk;
}

}  // namespace agentos::ctl
