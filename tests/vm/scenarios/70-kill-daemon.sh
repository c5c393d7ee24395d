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
kill -9 "$old"

# systemd announces the restart to no one a shell can wait on, so poll its state (bounded).
restarted() {
  local pid state
  pid=$(systemctl show -P MainPID agentosd.service)
  state=$(systemctl show -P ActiveState agentosd.service)
  # failed: systemd gave up restarting it (start limit); no point waiting longer.
  [[ $state != failed ]] || fail "agentosd failed and systemd gave up restarting it"
  [[ $state == active && $pid != 0 && $pid != "$old" ]]
}
wait_until 120 "systemd to restart agentosd" restarted
now=$(systemctl show -P NRestarts agentosd.service)
((now == restarts + 1)) || fail "NRestarts $restarts -> $now, expected one restart by systemd"
note "daemon back as pid $(systemctl show -P MainPID agentosd.service)"
agentctl ps

n=$(count_running "$id")
((n == 1)) || fail "agent $id listed $n times after the daemon was killed"
[[ $(agent_field "$id" pid) == "$pid" ]] || fail "sandbox pid changed $pid -> $(agent_field "$id" pid)"
agentctl stop "$id" || fail "agentctl stop $id failed"
