#!/bin/bash
# Starts agentosd with the shipped default policy (policy/) and runs the demo agent, which
# prints what it may and may not do. Run as root after building into ./build.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${AGENTOS_BUILD:-build}
run=/run/agentos-demo
sock=$run/agentosd.sock
ctl() { "$build/agentctl/agentctl" --socket "$sock" "$@"; }

mkdir -p "$run"
"$build/daemon/server/agentosd" --policy-dir policy --socket "$sock" --runtime-dir "$run" \
  --cgroup /agentos-demo 2>"$run/agentosd.log" &
daemon=$!
trap 'kill $daemon 2>/dev/null; wait $daemon 2>/dev/null || true' EXIT

# agentosd only listens once it has proven it can confine an agent.
for _ in $(seq 100); do
  ctl status >/dev/null 2>&1 && break
  kill -0 $daemon 2>/dev/null || { cat "$run/agentosd.log" >&2; exit 1; }
  sleep 0.1
done

echo "== agentctl doctor"
ctl doctor
echo
echo "== agentctl run demo"
ctl run demo
