#!/bin/bash
# The classic escape routes, on Debian's kernel under the packaged daemon (BPF LSM governing):
# each is refused inside an agent, and each works (or fails for a reason of its own, never EPERM)
# outside it, which shows the refusal is the sandbox's.
source /usr/lib/agentos-vm/lib.sh
require_daemon
require_probe
dir=$(mktemp -d)
on_exit "rm -rf '$dir'"
cat >"$dir/p.toml" <<TOML
[agent]
name = "vm-escapes"
command = ["$probe", "hostname"]
[filesystem]
read = ["/usr"]
exec = ["/usr/lib/agentos-vm"]
TOML
inside() { agentctl run --policy "$dir/p.toml" -- "$probe" "$@" 2>&1; }

for action in unshare-user setns bpf keyctl ptrace perf io_uring open_by_handle tiocsti mount; do
  outside=$(if [[ $action == mount ]]; then unshare -m "$probe" mount; else "$probe" "$action" </dev/null; fi 2>&1 || true)
  [[ $outside != "denied EPERM"* ]] || fail "$action is refused outside the sandbox too: $outside"
  got=$(inside "$action" || true)
  [[ $got == "denied EPERM"* ]] || fail "$action inside an agent: expected EPERM, got '$got'"
  note "ok: $action (outside: ${outside%%$'\n'*})"
done

# Other ABIs: the agent dies of SIGSYS (exit 128+31); outside the call is simply answered.
for action in x32 int80; do
  "$probe" "$action" >/dev/null 2>&1 && rc=0 || rc=$?
  ((rc == 0 || rc == 1)) || fail "$action outside the sandbox exited $rc"
  inside "$action" >/dev/null && rc=0 || rc=$?
  ((rc == 159)) || fail "$action inside an agent exited $rc, expected 159 (SIGSYS)"
  note "ok: $action"
done

# Another process's /proc/PID/environ and mem: not even there for the agent.
sleep infinity &
other=$!
on_exit "kill $other"
[[ $("$probe" read "/proc/$other/environ") == ok ]] || fail "the control could not read /proc/$other/environ"
for f in environ mem; do
  got=$(inside read "/proc/$other/$f" || true)
  [[ $got == "denied ENOENT"* ]] || fail "/proc/$other/$f inside an agent: '$got'"
  note "ok: /proc/$other/$f"
done
