#!/bin/bash
# `systemctl restart agentosd` neither kills nor duplicates a running agent: the new daemon adopts
# it (same id, same sandbox pid, listed once), and it can then be stopped.
source /usr/lib/agentos-vm/lib.sh
require_daemon
dir=$(mktemp -d)
on_exit "rm -rf '$dir'"

write_policy "$dir/p.toml" vm-long "" 'echo ready; exec sleep infinity'
start_detached --policy "$dir/p.toml"
id=$AGENT_ID
wait_output "$id" '^ready$'
pid=$(agent_field "$id" pid)
note "agent $id running, sandbox pid $pid"

old=$(systemctl show -P MainPID agentosd.service)
# Type=notify: this returns once the new daemon is ready, i.e. after it adopted its agents.
systemctl restart agentosd.service
new=$(systemctl show -P MainPID agentosd.service)
[[ $new != "$old" && $new != 0 ]] || fail "daemon pid $old -> $new: not restarted"
agentctl ps

n=$(count_running "$id")
((n == 1)) || fail "agent $id listed $n times after restart"
total=$(ps_json | jq '[.[] | select(.name == "vm-long")] | length')
((total == 1)) || fail "$total vm-long agents running after restart, expected 1"
[[ $(agent_field "$id" state) == running ]] || fail "agent $id is $(agent_field "$id" state)"
[[ $(agent_field "$id" pid) == "$pid" ]] || fail "sandbox pid changed $pid -> $(agent_field "$id" pid)"
kill -0 "$pid" || fail "sandbox pid $pid is gone"
sleeps=$(pgrep -c -x sleep) || true
((sleeps == 1)) || fail "$sleeps sleep processes on the machine, expected the agent's 1"

agentctl stop "$id" || fail "agentctl stop $id failed after the restart"
[[ $(agent_field "$id" state) != running ]] || fail "agent $id still running after stop"
