#!/bin/bash
# On this kernel every layer the host lacks is present: the daemon must see BPF LSM and the cgroup
# v2 memory, cpu and pids limits as available.
source /usr/lib/agentos-vm/lib.sh

doctor=$(agentctl doctor --json) || fail "agentctl doctor --json failed"
agentctl doctor

# available NAME_REGEX: the single layer whose name matches is reported available.
available() {
  local n
  n=$(jq --arg re "$1" '[.[] | select(.name | test($re))] | length' <<<"$doctor")
  ((n == 1)) || fail "expected one layer matching /$1/, found $n"
  jq -e --arg re "$1" '.[] | select(.name | test($re)) | .available == true' <<<"$doctor" >/dev/null ||
    fail "layer /$1/ is not available: $(jq -c --arg re "$1" '.[] | select(.name | test($re))' <<<"$doctor")"
}
available '^bpf-lsm$'
available 'cgroup.*memory'
available 'cgroup.*cpu'
available 'cgroup.*pids'
available '^cgroup-bpf device hook$'
