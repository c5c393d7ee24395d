#!/bin/bash
# [devices] under BPF LSM and cgroup v2: a granted character device is in the agent's /dev and
# opens; an ungranted one is absent; and the same device number reached by another path (a node
# in a directory the agent may read, in the host's view, where the LSM's file grants let the open
# through) is refused by the cgroup device hook, and allowed once the device is granted. The
# device is the hardware RNG's number (10:183, built in; opened read-only, which does nothing
# else) at nodes of the scenario's own, mode 0666.
source /usr/lib/agentos-vm/lib.sh
require_daemon
require_bpf_lsm
require_probe
agentctl doctor | grep -Eq '^cgroup-bpf device hook +yes' || fail "the device hook is not in force: $(agentctl doctor)"
node=/dev/agentos-vm-hwrng
base=$(mktemp -d /var/tmp/devices.XXXXXX)  # not /tmp: a nodev tmpfs there would answer first
chmod 0755 "$base"
mknod -m 0666 "$node" c 10 183
mknod -m 0666 "$base/hwrng" c 10 183
on_exit "rm -rf '$base' '$node'"

# agent VIEW READ DEVICES ARGS...: the probe as an agent; prints its output.
agent() {
  local view=$1 read=$2 devices=$3 n=$BASHPID
  shift 3
  cat >"$base/p$n.toml" <<TOML
[agent]
name = "devices-$n"
command = ["$probe"]
[filesystem]
view = "$view"
read = ["/usr", $read]
exec = ["$(dirname "$probe")"]
[devices]
allow = [$devices]
TOML
  agentctl run --policy "$base/p$n.toml" -- "$probe" "$@" 2>&1 || true
}
expect() { # expect WHAT EXPECTED ACTUAL
  [[ $3 == *"$2"* ]] || fail "$1: expected '$2', got '$3'"
  note "ok: $1"
}

expect "outside, the control" "ok" "$("$probe" open-r "$base/hwrng")"
expect "granted: shown and opened" "ok" "$(agent private '' "\"$node\"" open-r "$node")"
expect "not granted: absent" "ENOENT" "$(agent private '' '' open-r "$node")"
expect "the sandbox's own" "ok" "$(agent private '' '' open-rw /dev/null)"
expect "another path, host view, readable: the hook refuses" "EPERM" "$(agent host "\"$base\"" '' open-r "$base/hwrng")"
expect "another path, granted by its own name" "ok" "$(agent host "\"$base\"" "\"$node\"" open-r "$base/hwrng")"
wait_audit 'character device 10:183' || fail "no audited denial of 10:183"
note "ok: the refusal is audited"
