#!/bin/bash
# `kill -9` of the daemon: systemd restarts it (Restart=on-failure) and the new daemon adopts the
# running agent, which is listed exactly once and can be stopped.
source /usr/lib/agentos-vm/lib.sh
require_daemon
dir=$(mktemp -d)
on_exit "rm -rf '$dir'"

write_policy "$dir/p.toml" vm-survivor "" 'echo ready; exec sleep infinity'
start_detached --policy "$dir/p.toml"
id=$AGENT_ID
wait_output "$id" '^ready$'
pid=$(agent_field "$id" pid)

old=$(systemctl show -P MainPID agentosd.service)
restarts=$(systemctl show -P NRestarts agentosd.service)
note "killing daemon pid $old (restarts so far: $restarts)"
# The wait is on systemd's own announcement: its journal says when the restarted unit is ready
# (Type=notify: "Started" follows READY=1). Following begins before the kill, so it cannot miss it.
fifo=$(mktemp -u) && mkfifo "$fifo"
timeout 120 journalctl --follow --lines=0 --output=cat -u agentosd.service >"$fifo" &
follower=$!
exec 4<"$fifo"
kill -9 "$old"
grep -m1 -q '^Started agentosd.service' <&4 || fail "no restart of agentosd by systemd within 120 s"
exec 4<&-
kill "$follower" 2>/dev/null || true
rm -f "$fifo"
[[ $(systemctl show -P ActiveState agentosd.service) == active ]] || fail "agentosd is not active after its restart"
new=$(systemctl show -P MainPID agentosd.service)
[[ $new != 0 && $new != "$old" ]] || fail "daemon pid $old -> $new: not restarted"
now=$(systemctl show -P NRestarts agentosd.service)
((now == restarts + 1)) || fail "NRestarts $restarts -> $now, expected one restart by systemd"
note "daemon back as pid $(systemctl show -P MainPID agentosd.service)"
agentctl ps

n=$(count_running "$id")
((n == 1)) || fail "agent $id listed $n times after the daemon was killed"
[[ $(agent_field "$id" pid) == "$pid" ]] || fail "sandbox pid changed $pid -> $(agent_field "$id" pid)"
agentctl stop "$id" || fail "agentctl stop $id failed"
