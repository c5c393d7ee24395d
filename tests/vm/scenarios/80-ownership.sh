#!/bin/bash
# A user who is not an administrator cannot see or touch another user's agents. Positive
# controls: the owner sees and inspects it, and root (an administrator) sees it.
source /usr/lib/agentos-vm/lib.sh
require_daemon

for u in vmalice vmbob; do
  useradd --create-home --shell /bin/bash "$u"
  on_exit "userdel --remove '$u' 2>/dev/null"
done
dir=$(mktemp -d)
chmod 0755 "$dir"
on_exit "rm -rf '$dir'"
write_policy "$dir/p.toml" vm-private "" 'echo ready; exec sleep infinity'
chmod 0644 "$dir/p.toml"

as() { local u=$1; shift; runuser -u "$u" -- "$@"; }

id=$(as vmalice agentctl run --policy "$dir/p.toml" --detach) || fail "vmalice could not start an agent"
on_exit "agentctl stop '$id' >/dev/null 2>&1"
wait_output "$id" '^ready$'
[[ $(agent_field "$id" owner_uid) == "$(id -u vmalice)" ]] || fail "owner is not vmalice"

as vmalice agentctl ps --json | jq -e --arg id "$id" '.[] | select(.id == $id)' >/dev/null ||
  fail "vmalice does not see her own agent (control)"
as vmalice agentctl inspect "$id" >/dev/null || fail "vmalice cannot inspect her own agent (control)"
[[ $(count_running "$id") == 1 ]] || fail "root does not see vmalice's agent (control)"

bob_ps=$(as vmbob agentctl ps --all --json) || fail "vmbob's agentctl ps failed"
jq -e --arg id "$id" 'any(.[]; .id == $id) | not' <<<"$bob_ps" >/dev/null ||
  fail "vmbob sees vmalice's agent: $bob_ps"

rc=0
err=$(as vmbob agentctl inspect "$id" 2>&1 >/dev/null) || rc=$?
note "vmbob inspect: exit $rc: $err"
((rc != 0)) || fail "vmbob could inspect vmalice's agent"
[[ $err == *"belongs to another user"* ]] || fail "unexpected error for vmbob's inspect: $err"

rc=0
as vmbob agentctl stop "$id" 2>&1 || rc=$?
((rc != 0)) || fail "vmbob could stop vmalice's agent"
[[ $(agent_field "$id" state) == running ]] || fail "vmalice's agent is no longer running"

as vmalice agentctl stop "$id" || fail "vmalice cannot stop her own agent"
