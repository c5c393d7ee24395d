#!/bin/bash
# Egress by name under the packaged daemon, with BPF LSM in force, for a client that ignores the
# proxy: it resolves a granted name through the resolv.conf the sandbox shows it, at the gateway's
# DNS stub, gets an address on its own loopback, and its connection there reaches the gateway,
# which holds it to the grant. No upstream exists in the VM; the host tier (test_egress) follows
# the same path to real nginx and dnsmasq.
source /usr/lib/agentos-vm/lib.sh
require_daemon
require_probe
require_bpf_lsm
dir=$(mktemp -d)
chmod 0755 "$dir"
on_exit "rm -rf '$dir'"
cat >"$dir/p.toml" <<TOML
[agent]
name = "vm-egress"
command = ["$probe"]
[filesystem]
read = ["/usr", "/etc"]
exec = ["/usr/bin", "/usr/lib/agentos-vm"]
[egress]
allow = ["api.vm.test:443"]
TOML
inside() { agentctl run --policy "$dir/p.toml" -- "$probe" "$@" 2>&1 || true; }
inside_sh() { agentctl run --policy "$dir/p.toml" -- /bin/sh -c "$1" 2>&1 || true; }

# The control: outside any agent, the VM knows no such name.
out=$("$probe" resolve api.vm.test 2>&1 || true)
[[ $out == failed* ]] || fail "api.vm.test resolves outside the sandbox: $out"
got=$(inside resolve api.vm.test)
[[ $got =~ ^ok\ 127\.77\.[0-9]+\.[0-9]+$ ]] || fail "the granted name inside the sandbox: $got"
addr=${got#ok }
note "ok: api.vm.test is $addr inside the agent (outside: $out)"
got=$(inside resolve other.vm.test)
[[ $got == failed* ]] || fail "an ungranted name resolves inside the sandbox: $got"
note "ok: other.vm.test does not resolve inside ($got)"

# A connection to the stub's address reaches the gateway as a tunnel to the granted name; one to
# an address the stub never gave out is refused. Each is audited. The addresses are the agent's
# own, so it resolves and connects in one run.
got=$(inside_sh "a=\$($probe resolve api.vm.test) && $probe connect \${a#ok } 443 && $probe connect 127.77.200.200 443")
[[ $got == $'ok\nok' ]] || fail "connect to the stub's address and to 127.77.200.200, port 443, inside: $got"
wait_audit "egress transparent api\.vm\.test:443"
wait_audit "deny .*egress transparent 127\.77\.200\.200:443: 127\.77\.200\.200 is not an address the gateway's DNS gave out"
note "ok: both connections reached the gateway and were audited"
