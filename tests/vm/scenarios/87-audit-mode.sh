#!/bin/bash
# mode = "audit": an agent may do what its policy lacks, and the audit trail says what it was, so a
# user can learn what to grant. The control: the same policy in enforce mode is refused.
source /usr/lib/agentos-vm/lib.sh
require_daemon
dir=$(mktemp -d)
on_exit "rm -rf '$dir'"
for mode in audit enforce; do
  cat >"$dir/$mode.toml" <<TOML
[agent]
name = "vm-$mode"
mode = "$mode"
command = ["/bin/sh", "-c", 'cat /etc/hostname >/dev/null 2>&1 && echo read || echo refused']
[filesystem]
view = "host"
read = ["/usr"]
exec = ["/usr/bin"]
TOML
done
out=$(agentctl run --policy "$dir/enforce.toml") || true
[[ $out == refused ]] || fail "enforce mode: expected the read refused, got '$out'"
out=$(agentctl run --policy "$dir/audit.toml") || fail "the audit-mode agent did not run"
[[ $out == read ]] || fail "audit mode: expected the read allowed, got '$out'"
agentctl audit --agent vm-audit --json |
  jq -e 'map(select(.layer == "bpf-lsm" and .decision == "audit" and (.operation | startswith("open (r)")))) | length > 0' >/dev/null ||
  fail "no audit record of the read: $(agentctl audit --agent vm-audit)"
agentctl audit --agent vm-enforce --json |
  jq -e 'map(select(.layer == "bpf-lsm" and .decision == "deny")) | length > 0' >/dev/null ||
  fail "no deny record for the enforce-mode agent: $(agentctl audit --agent vm-enforce)"
note "audit mode allowed and recorded what enforce mode refused"
