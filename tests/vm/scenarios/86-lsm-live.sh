#!/bin/bash
# Live policy under BPF LSM: `agentctl policy apply` replaces a running agent's file grants, for
# its next access; a file opened before a grant was revoked stays readable through that open
# descriptor (the LSM checks opens, not reads); and after kill -9 of the daemon, renewed attempts
# get the same answers, before and after systemd restarts it.
source /usr/lib/agentos-vm/lib.sh
require_daemon
require_bpf_lsm
base=$(mktemp -d)
chmod 0755 "$base"
on_exit "rm -rf '$base'"
mkdir -p "$base/a" "$base/b"
printf 'a1\na2\na3\na4\na5\n' >"$base/a/file"
echo b >"$base/b/file"
mkfifo -m 0644 "$base/go"

policy() { # policy DIR: the agent may read DIR (and the FIFO), nothing else of $base
  cat >/etc/agentos/policy.d/vm-live.toml <<TOML
[agent]
name = "vm-live"
command = ["/bin/sh", "-c", '''exec 3<$base/a/file; echo ready; while read n <$base/go; do
  cat $base/a/file >/dev/null 2>&1 && echo "\$n a ok" || echo "\$n a denied"
  cat $base/b/file >/dev/null 2>&1 && echo "\$n b ok" || echo "\$n b denied"
  read line <&3 && echo "\$n fd \$line" || echo "\$n fd denied"
  done''']
[filesystem]
view = "host"
read = ["/usr", "$1", "$base/go"]
exec = ["/usr/bin"]
TOML
}
on_exit "rm -f /etc/agentos/policy.d/vm-live.toml; agentctl policy apply >/dev/null"
policy "$base/a"
agentctl policy apply >/dev/null || fail "policy apply failed"
start_detached vm-live
id=$AGENT_ID
wait_output "$id" '^ready$'

round() { # round N EXPECTED...: one attempt, then its three verdicts
  local n=$1; shift
  echo "$n" >"$base/go"
  wait_output "$id" "^$n fd"
  local got
  got=$(agentctl logs "$id" | grep "^$n " | tr '\n' '|')
  [[ $got == "$*" ]] || fail "round $n: expected '$*', got '$got'"
  note "round $n: $got"
}
round 1 "1 a ok|1 b denied|1 fd a1|"

policy "$base/b"  # revoke a, grant b, with the agent running
out=$(agentctl policy apply) || fail "policy apply failed: $out"
[[ $out == *"agent vm-live ($id): file grants replaced"* ]] || fail "apply did not replace the grants: $out"
round 2 "2 a denied|2 b ok|2 fd a2|"

# kill -9 of the daemon: the kernel keeps holding the agent, with the grants in force.
systemctl kill --kill-who=main --signal=SIGKILL agentosd.service
round 3 "3 a denied|3 b ok|3 fd a3|"
systemctl start agentosd.service  # joins the restart systemd has under way, returns when ready
[[ $(agent_field "$id" state) == running ]] || fail "agent $id lost across the daemon's kill -9"
round 4 "4 a denied|4 b ok|4 fd a4|"
