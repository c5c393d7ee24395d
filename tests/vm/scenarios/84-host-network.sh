#!/bin/bash
# An agent on the host's network ([network] namespace = "host") under the packaged daemon, where
# BPF LSM and the cgroup socket hooks both load: every socket operation is held to the grants.
# Granted, an operation gets what it gets outside the sandbox (nothing listens on these ports,
# so a connect is refused by the peer, never EPERM); ungranted, it gets EPERM from the hooks.
source /usr/lib/agentos-vm/lib.sh
require_daemon
require_probe
require_bpf_lsm
dir=$(mktemp -d)
on_exit "rm -rf '$dir'"
cat >"$dir/p.toml" <<TOML
[agent]
name = "vm-hostnet"
command = ["$probe"]
[filesystem]
read = ["/usr"]
exec = ["/usr/lib/agentos-vm"]
[network]
namespace = "host"
connect = ["tcp://127.0.0.1:7001", "udp://127.0.0.1:7001", "tcp://[::1]:7003"]
bind = ["tcp://127.0.0.1:7002"]
TOML
inside() { agentctl run --policy "$dir/p.toml" -- "$probe" "$@" 2>&1 || true; }
outside() { "$probe" "$@" 2>&1 || true; }

check() { # check HOW HOST GRANTED_PORT UNGRANTED_PORT
  local how=$1 host=$2 ok=$3 no=$4 out got
  out=$(outside net "$how" "$host" "$ok")
  [[ $out != "denied EPERM"* ]] || fail "$how $host:$ok is refused outside the sandbox: $out"
  got=$(inside net "$how" "$host" "$ok")
  [[ $got == "$out" ]] || fail "$how to granted $host:$ok: got '$got', outside '$out'"
  got=$(inside net "$how" "$host" "$no")
  [[ $got == "denied EPERM"* ]] || fail "$how to ungranted $host:$no: got '$got'"
  note "ok: $how $host (granted: $out)"
}
check tcp 127.0.0.1 7001 7009
check tcp ::1 7003 7009
check tcp ::ffff:127.0.0.1 7001 7009  # v4-mapped gets its IPv4 verdict
check udp 127.0.0.1 7001 7009
check sendmsg 127.0.0.1 7001 7009
check sendmmsg 127.0.0.1 7001 7009
check tfo 127.0.0.1 7001 7009
check bind-listen 127.0.0.1 7002 7009

# listen() on a socket never bound: the kernel would pick a port no bind hook saw. The LSM refuses.
out=$(outside net listen 127.0.0.1 0)
[[ $out == ok ]] || fail "listen outside: $out"
got=$(inside net listen 127.0.0.1 0)
[[ $got == "denied EPERM"* ]] || fail "listen on an unbound socket inside: $got"
note "ok: listen on a kernel-picked port refused (outside: $out)"

# Raw and packet sockets are never an agent's.
for kind in raw packet; do
  out=$(outside socket "$kind")
  [[ $out == ok ]] || fail "$kind socket outside: $out"
  got=$(inside socket "$kind")
  [[ $got == "denied EPERM"* ]] || fail "$kind socket inside: $got"
  note "ok: $kind socket refused"
done
