#!/bin/bash
# BPF LSM holds on its own: a second daemon without Landlock runs agents that see the host's
# files (view = "host"), so neither the mount namespace nor Landlock stands between them and the
# host; only the LSM programs can refuse. Each denial has its positive control: the same action
# granted, or outside the sandbox.
source /usr/lib/agentos-vm/lib.sh
require_daemon
base=$(mktemp -d)
chmod 0755 "$base"
on_exit "rm -rf '$base'"
mkdir -p "$base/rw" "$base/ro"
echo secret >"$base/ro/file"
chmod 0777 "$base/rw"
ln -s /etc/hostname "$base/ro/link-to-hostname"

start_lsm_only_daemon agentos-lsm-alone "$base"

# run_as_agent WRITE_GRANTS EXEC_GRANTS SCRIPT: prints the agent's output.
n=0
run_as_agent() {
  n=$((n + 1))
  cat >"$base/p$n.toml" <<TOML
[agent]
name = "lsm-$n"
command = ["/bin/sh", "-c", '''$3''']
[filesystem]
view = "host"
read = ["/usr", "$base/ro"]
write = [$1]
exec = ["/usr/bin", $2]
TOML
  ctl run --policy "$base/p$n.toml" 2>&1 || true
}
expect() { # expect WHAT EXPECTED ACTUAL
  [[ $3 == *"$2"* ]] || fail "$1: expected '$2', got '$3'"
  note "ok: $1"
}

# Reads: granted works, ungranted is refused, and a symlink or ".." does not change the object.
expect "read granted" "secret" "$(run_as_agent '' '' "cat $base/ro/file")"
expect "read ungranted (outside: $(cat /etc/hostname))" "Operation not permitted" "$(run_as_agent '' '' 'cat /etc/hostname')"
expect "symlink to ungranted" "Operation not permitted" "$(run_as_agent '' '' "cat $base/ro/link-to-hostname")"
expect "dotdot to ungranted" "Operation not permitted" "$(run_as_agent '' '' "cat $base/ro/../../../etc/hostname")"

# Writes: only beneath a write grant, and that includes creating, renaming and deleting.
expect "write ungranted" "Operation not permitted" "$(run_as_agent '' '' "echo x >$base/rw/a && echo wrote")"
expect "write granted" "wrote" "$(run_as_agent "\"$base/rw\"" '' "echo x >$base/rw/a && mv $base/rw/a $base/rw/b && rm $base/rw/b && echo wrote")"
expect "write into a read grant" "Operation not permitted" "$(run_as_agent "\"$base/rw\"" '' "echo x >$base/ro/new && echo wrote")"

# Hard links cannot pull an ungranted file into a granted directory.
expect "hard link of ungranted" "Operation not permitted" "$(run_as_agent "\"$base/rw\"" '' "ln /etc/hostname $base/rw/h 2>&1 || true")"

# Exec: only beneath exec grants; what the agent wrote does not run unless exec is granted there.
expect "exec ungranted" "Operation not permitted" "$(run_as_agent '' '' '/usr/sbin/nologin; true')"
expect "exec self-written" "Operation not permitted" "$(run_as_agent "\"$base/rw\"" '' "cp /usr/bin/true $base/rw/t && $base/rw/t && echo ran")"
expect "exec self-written, granted" "ran" "$(run_as_agent "\"$base/rw\"" "\"$base/rw\"" "cp /usr/bin/true $base/rw/t && $base/rw/t && echo ran")"

# Unix sockets outside the agent: this daemon's own API socket (in $base, which the agent sees:
# its /run/agentos is its own, holding the broker) is refused without a write grant on it.
expect "connect to a host unix socket" "Operation not permitted" \
  "$(run_as_agent '' '' "agentctl --socket $base/sock status 2>&1 | head -1")"
# Granted, the connection is made, and the daemon refuses the request itself: it comes from an
# agent's cgroup, and agents reach the platform only through their broker.
expect "connect to a host unix socket, granted" "requests from inside an agent are refused" \
  "$(run_as_agent "\"$base/sock\"" '' "agentctl --socket $base/sock status 2>&1 | head -1")"

# Every refusal is in the audit trail, attributed to the layer that made it.
ctl audit --json | jq -e 'map(select(.layer == "bpf-lsm" and .decision == "deny")) | length > 0' >/dev/null ||
  fail "no bpf-lsm denials in the audit trail: $(ctl audit)"
note "BPF LSM alone refused every ungranted read, write, link and exec, and allowed the granted ones"
