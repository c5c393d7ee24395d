#!/bin/bash
# The package enabled agentosd and systemd started it at boot (it is Type=notify: active means the
# daemon's probe sandbox reached execve and it sent READY=1).
source /usr/lib/agentos-vm/lib.sh

state=$(systemctl is-active agentosd.service) || fail "agentosd is $state, not active"
systemctl is-enabled agentosd.service >/dev/null || fail "agentosd is not enabled"
agentctl status || fail "agentctl status failed"
