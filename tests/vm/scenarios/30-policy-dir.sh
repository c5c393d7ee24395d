#!/bin/bash
# A policy placed in /etc/agentos/policy.d is loaded by `systemctl reload agentosd` and its agent
# runs, attached, with the expected output and exit status.
source /usr/lib/agentos-vm/lib.sh
require_daemon

install_policy vm-hello "" 'echo "hello from $AGENTOS_AGENT in $(uname -n)"; exit 3'
systemctl reload agentosd.service || fail "systemctl reload agentosd failed"
agentctl policy list --json | jq -e '.[] | select(.name == "vm-hello")' >/dev/null ||
  fail "vm-hello is not in policy list: $(agentctl policy list 2>&1)"

rc=0
out=$(agentctl run vm-hello) || rc=$?
note "output: $out (exit $rc)"
[[ $out == "hello from vm-hello in vm-hello" ]] || fail "unexpected output: $out"
((rc == 3)) || fail "agentctl run exited $rc, expected the agent's status 3"
