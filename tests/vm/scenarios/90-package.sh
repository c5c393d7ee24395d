#!/bin/bash
# The package's life after install: an upgrade (reinstalling the .deb runs the same maintainer
# scripts) keeps the admin's edit to a policy and keeps a running agent alive and confined across
# the daemon's restart; purging removes the agents, the service and the state. Runs last.
source /usr/lib/agentos-vm/lib.sh
require_daemon
deb=/var/cache/agentos-vm/agentos.deb
[[ -f $deb ]] || fail "no .deb in the guest at $deb"
trigger=$(mktemp -d)
chmod 0755 "$trigger"
on_exit "rm -rf '$trigger'"

# The admin edits a conffile.
echo "# kept across upgrades" >>/etc/agentos/policy.d/demo.toml

# An agent that sees the host's files, so only the kernel's file layers refuse it: each line
# written to the FIFO makes it try a granted read and an ungranted one.
mkfifo -m 0644 "$trigger/go"
dir=$(mktemp -d)
on_exit "rm -rf '$dir'"
cat >"$dir/p.toml" <<TOML
[agent]
name = "vm-upgrade"
command = ["/bin/sh", "-c", '''echo ready; while read n <$trigger/go; do
  cat /usr/share/common-licenses/GPL-3 >/dev/null 2>&1 && echo "\$n granted ok" || echo "\$n granted DENIED"
  cat /etc/hostname >/dev/null 2>&1 && echo "\$n ungranted READ" || echo "\$n ungranted denied"
  done''']
[filesystem]
view = "host"
read = ["/usr", "$trigger"]
exec = ["/usr/bin"]
TOML
start_detached --policy "$dir/p.toml"
id=$AGENT_ID
wait_output "$id" '^ready$'
echo 1 >"$trigger/go"
wait_output "$id" '^1 ungranted'
agentctl logs "$id" | grep -qx '1 granted ok' || fail "before the upgrade: $(agentctl logs "$id")"
agentctl logs "$id" | grep -qx '1 ungranted denied' || fail "before the upgrade: $(agentctl logs "$id")"
pid=$(agent_field "$id" pid)

old=$(systemctl show -P MainPID agentosd.service)
DEBIAN_FRONTEND=noninteractive dpkg -i --force-confold "$deb" || fail "upgrade (dpkg -i) failed"
systemctl is-active --quiet agentosd.service || fail "agentosd not active after the upgrade"
new=$(systemctl show -P MainPID agentosd.service)
[[ $new != "$old" ]] || fail "the upgrade did not restart agentosd ($old)"
grep -qx '# kept across upgrades' /etc/agentos/policy.d/demo.toml || fail "the upgrade lost the admin's policy edit"
[[ $(agent_field "$id" state) == running && $(agent_field "$id" pid) == "$pid" ]] ||
  fail "agent $id is not the same running agent after the upgrade"

echo 2 >"$trigger/go"
wait_output "$id" '^2 ungranted'
agentctl logs "$id" | grep -qx '2 granted ok' || fail "after the upgrade: $(agentctl logs "$id")"
agentctl logs "$id" | grep -qx '2 ungranted denied' || fail "after the upgrade the agent read /etc/hostname"

# Purge: no agent, no service, no state left.
dpkg --purge agentos || fail "dpkg --purge failed"
! kill -0 "$pid" 2>/dev/null || fail "agent sandbox $pid survived the package's removal"
! systemctl is-active --quiet agentosd.service || fail "agentosd still active after purge"
[[ ! -e /var/lib/agentos ]] || fail "/var/lib/agentos survived the purge"
[[ ! -e /etc/agentos/policy.d/demo.toml ]] || fail "the policies survived the purge"
note "upgrade kept the policy edit and the confined agent; purge removed everything"
