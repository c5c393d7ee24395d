#!/bin/bash
# `systemctl reload agentosd` picks up a changed policy: the next run has the new command.
source /usr/lib/agentos-vm/lib.sh
require_daemon

install_policy vm-reload "" 'echo version one'
systemctl reload agentosd.service
out=$(agentctl run vm-reload)
[[ $out == "version one" ]] || fail "before the change: $out"

install_policy vm-reload "" 'echo version two'
# ExecReload is synchronous (agentctl policy apply), so no wait is needed after it returns.
systemctl reload agentosd.service
out=$(agentctl run vm-reload)
[[ $out == "version two" ]] || fail "after the change and reload: $out"
