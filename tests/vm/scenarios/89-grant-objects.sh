#!/bin/bash
# Grants are objects (issue 13, attacks 4 to 7), under the packaged daemon with BPF LSM in force:
# a nested grant re-pointed through a link the owner's other agent planted, a path flipped between
# a directory and a link to /proc while another agent starts, a delegator pointing its delegate
# elsewhere, and a root-owned agent's link in its own state directory. Each start that the attack
# would have widened is refused, and each has its positive control: the same start without it.
source /usr/lib/agentos-vm/lib.sh
require_daemon
require_probe
require_bpf_lsm
id vmuser >/dev/null 2>&1 || useradd --create-home vmuser
base=$(mktemp -d /var/tmp/grants.XXXXXX)
chmod 0755 "$base"
on_exit "rm -rf '$base'"
secret=$base/secret
mkdir -p "$secret" && echo SECRET >"$secret/data" && chown -R vmuser: "$secret" && chmod 0700 "$secret"

# policy FILE NAME READ WRITE ARGS...: the probe as agent NAME, with extra read and write grants
# (TOML list items, may be empty).
policy() {
  local file=$1 name=$2 read=$3 write=$4
  shift 4
  local args
  args=$(printf '"%s", ' "$@")
  cat >"$file" <<TOML
[agent]
name = "$name"
command = ["$probe", ${args%, }]
[filesystem]
read = ["/usr", $read]
write = [$write]
exec = ["/usr/bin", "/usr/lib/agentos-vm"]
TOML
  chmod 0644 "$file"
}
as_user() { runuser -u vmuser -- "$@" 2>&1; }
owned_tree() { mkdir -p "$1/sub" && echo OK >"$1/sub/data" && chown -R vmuser: "$1"; }

# 5. A nested grant, re-pointed between two starts by the owner's other agent.
w=$base/nest
owned_tree "$w"
policy "$base/nest.toml" nest "\"$w/sub\"" "\"$w\"" cat "$w/sub/data"
policy "$base/attacker.toml" nest-attacker "" "\"$w\"" true
out=$(as_user agentctl run --policy "$base/nest.toml") || fail "control: the nested grant: $out"
[[ $out == OK ]] || fail "control: the nested grant showed: $out"
as_user agentctl run --policy "$base/attacker.toml" -- "$probe" rename "$w/sub" "$w/sub.old" >/dev/null &&
  as_user agentctl run --policy "$base/attacker.toml" -- "$probe" symlink "$secret" "$w/sub" >/dev/null ||
  fail "the attacker could not plant its link"
out=$(as_user agentctl run --policy "$base/nest.toml") && fail "a start through a planted link ran: $out"
[[ $out == *"is a symbolic link to $secret"* ]] || fail "the refusal does not name the link: $out"
[[ $out != *SECRET* ]] || fail "the secret was read: $out"
note "ok: a nested grant re-pointed by a link is refused"

# 6. A race: one agent swaps a directory and a link to /proc, another starts with that grant.
w=$base/race
owned_tree "$w"
ln -s /proc "$w/flip" && chown -h vmuser: "$w/flip"
policy "$base/flipper.toml" flipper "" "\"$w\"" flip "$w/sub" "$w/flip" "$w/stop"
AGENT_ID=$(as_user agentctl run --policy "$base/flipper.toml" --detach) || fail "the flipper did not start"
on_exit "touch '$w/stop'; agentctl stop '$AGENT_ID' >/dev/null 2>&1"
policy "$base/victim.toml" victim "\"$w/sub\"" "" ls "$w/sub"
procfs=0 ran=0
for _ in $(seq 30); do
  if out=$(as_user agentctl run --policy "$base/victim.toml"); then
    ran=$((ran + 1))
    [[ $out == *self* ]] && procfs=$((procfs + 1))
  else
    [[ $out == *"is a symbolic link to /proc"* ]] || fail "an unexpected refusal: $out"
  fi
done
touch "$w/stop"
note "race: $ran of 30 starts ran, $procfs showed procfs"
((procfs == 0)) || fail "$procfs starts showed the host's procfs"

# 4. Delegation: the delegator swaps the delegate's granted path for a link to what neither grants.
w=$base/dlg
owned_tree "$w"
task=$(printf '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"agent.delegate","arguments":{"agent":"vm-dg-t","task":"x"}}}')
cat >/etc/agentos/policy.d/vm-dg-t.toml <<TOML
[agent]
name = "vm-dg-t"
command = ["$probe", "cat", "$w/sub/data"]
[filesystem]
read = ["/usr", "$w/sub"]
exec = ["/usr/lib/agentos-vm"]
TOML
cat >/etc/agentos/policy.d/vm-dg-d.toml <<TOML
[agent]
name = "vm-dg-d"
command = ["$probe", "mcp", '$task']
[filesystem]
read = ["/usr"]
write = ["$w"]
exec = ["/usr/lib/agentos-vm"]
[tools]
allow = ["agent.delegate"]
[delegate]
allow = ["vm-dg-t"]
TOML
chmod 0644 /etc/agentos/policy.d/vm-dg-*.toml
on_exit "rm -f /etc/agentos/policy.d/vm-dg-*.toml; agentctl policy apply >/dev/null"
agentctl policy apply >/dev/null
out=$(as_user agentctl run vm-dg-d)
[[ $out == *'"output":"OK'* ]] || fail "control: the delegate did not read its grant: $out"
as_user agentctl run vm-dg-d -- "$probe" rename "$w/sub" "$w/sub.old" >/dev/null &&
  as_user agentctl run vm-dg-d -- "$probe" symlink "$secret" "$w/sub" >/dev/null ||
  fail "the delegator could not plant its link"
out=$(as_user agentctl run vm-dg-d)
[[ $out != *SECRET* ]] || fail "the delegate read what neither grants: $out"
[[ $out == *"is a symbolic link to $secret"* ]] || fail "the delegation was not refused by its link: $out"
note "ok: a delegator cannot point its delegate elsewhere"

# 7. A root-owned agent's link in its own state directory: the daemon, as root, must not follow it.
state=/var/lib/agentos/agents/vm-st7
victim=/etc/agentos-vm-st7-x
on_exit "rm -rf '$state' '$victim'"
policy "$base/st7.toml" vm-st7 "" "\"$state\", \"$state/sub/x\"" write "$state/ok"
agentctl run --policy "$base/st7.toml" >/dev/null || fail "control: the root-owned agent did not start"
[[ -d $state/sub/x ]] || fail "control: its state directories were not made"
# The attack runs under the outer grant alone: with sub/x mounted too, the LSM refuses to move it.
policy "$base/st7-attack.toml" vm-st7 "" "\"$state\"" true
agentctl run --policy "$base/st7-attack.toml" -- "$probe" rename "$state/sub" "$state/old" >/dev/null &&
  agentctl run --policy "$base/st7-attack.toml" -- "$probe" symlink /etc "$state/sub" >/dev/null ||
  fail "the agent could not plant its link"
[[ -L $state/sub ]] || fail "no link planted at $state/sub"
sed -i "s|$state/sub/x|$state/sub/$(basename "$victim")|" "$base/st7.toml"
out=$(agentctl run --policy "$base/st7.toml" 2>&1) && fail "a start through the planted link ran: $out"
[[ $out == *"is not a directory of its own"* ]] || fail "the refusal does not say why: $out"
[[ ! -e $victim ]] || fail "root made $victim through the agent's link"
note "ok: root never follows a link in an agent's state"
