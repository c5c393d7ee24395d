#!/bin/bash
# Runs in the VM tier's guest (bench/run.sh adds it with --overlay): spawn latency, the whole life
# of /usr/bin/true in a fresh sandbox (spawn, run, exit, reaped) timed from the outside, for
# agentos and the peers a systemd host offers. Here rather than on the bench host because this
# guest has systemd as PID 1 (systemd-run needs it) and BPF LSM in force (agentos at full strength).
# Under TCG emulation only the ratios mean much. hyperfine is not in the guest, so bash times each
# run with $EPOCHREALTIME; the peers take turns run by run, so drift in the emulator hits all alike.
# Each peer prints one line: AGENTOS-BENCH spawn-NAME 1 <base64 of {"peer","command","times_ms"}>.
source /usr/lib/agentos-vm/lib.sh
require_daemon
# RUNS=60 took 95 s (101 s for the whole scenario) of the runner's 300 s under TCG on a 2-CPU
# host. Past BUDGET seconds no new round starts, so a slower host reports fewer runs instead of
# timing out with none.
runs=${RUNS:-60} budget=${BUDGET:-200}
dir=$(mktemp -d)
chmod 0755 "$dir"
on_exit "rm -rf '$dir'"
cat >"$dir/p.toml" <<TOML
[agent]
name = "spawn-bench"
command = ["/usr/bin/true"]
[filesystem]
read = ["/usr"]
exec = ["/usr/bin"]
TOML
chmod 0644 "$dir/p.toml"

declare -A cmd=(
  [agentos]="agentctl run --policy $dir/p.toml"
  # Only a cgroup, no namespaces: what the issue compares against.
  [systemd-run-scope]="systemd-run --scope --quiet /usr/bin/true"
  # A transient service sandboxed roughly as an agent is (own uid, user/net/mount namespaces,
  # read-only system, no capabilities); every property is in systemd 252 and works in this guest.
  [systemd-run-service]="systemd-run --wait --quiet --pipe --collect -p DynamicUser=yes -p PrivateNetwork=yes -p PrivateUsers=yes -p PrivateTmp=yes -p PrivateDevices=yes -p ProtectSystem=strict -p ProtectHome=yes -p NoNewPrivileges=yes -p CapabilityBoundingSet= /usr/bin/true"
  [unshare]="unshare --user --map-root-user --mount --pid --fork --net --ipc --uts --cgroup --mount-proc /usr/bin/true"
)
peers=(agentos systemd-run-scope systemd-run-service unshare)
# Not in the guest image today; measured when it is (same arguments as bench/run.sh).
if command -v bwrap >/dev/null; then
  cmd[bwrap]="bwrap --unshare-all --die-with-parent --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib --symlink usr/lib64 /lib64 --proc /proc --dev /dev --tmpfs /tmp /usr/bin/true"
  peers+=(bwrap)
fi

declare -A times=() error=()
# run_peer NAME [WARMUP]: one timed run, its milliseconds appended to times[NAME]. A failing peer
# is benched for the rest of the scenario with its error kept for its line; agentos failing fails
# the scenario, since then there is nothing to compare.
run_peer() {
  local p=$1 argv t0 t1 rc=0 us
  read -ra argv <<<"${cmd[$p]}"
  t0=$EPOCHREALTIME
  "${argv[@]}" </dev/null >/dev/null 2>"$dir/err" || rc=$?
  t1=$EPOCHREALTIME
  if ((rc != 0)); then
    [[ $p != agentos ]] || fail "agentctl run failed (exit $rc): $(cat "$dir/err")"
    error[$p]="exit $rc: $(head -c 500 "$dir/err")"
    echo "peer $p failed, left out from here on: ${error[$p]}" >&2
    return
  fi
  [[ -n ${2:-} ]] && return
  us=$((${t1//[.,]/} - ${t0//[.,]/}))
  times[$p]+="${times[$p]:+,}$((us / 1000)).$(printf %03d $((us % 1000)))"
}

# Three warm-up rounds (not recorded), then RUNS rounds; in each round every peer runs once.
start=$SECONDS done_rounds=0
for round in $(seq -2 "$runs"); do
  if ((round > 0 && SECONDS - start > budget)); then
    note "over the $budget s budget: stopping after $done_rounds of $runs rounds"
    break
  fi
  for p in "${peers[@]}"; do
    if [[ -z ${error[$p]:-} ]]; then run_peer "$p" "$( ((round > 0)) || echo warmup)"; fi
  done
  ((round <= 0)) || done_rounds=$round
done
note "$done_rounds rounds of ${#peers[@]} peers (plus 3 warm-ups) in $((SECONDS - start)) s"

for p in "${peers[@]}"; do
  json=$(jq -cn --arg peer "$p" --arg command "${cmd[$p]}" --argjson t "[${times[$p]:-}]" \
    --arg error "${error[$p]:-}" '{peer: $peer, command: $command, times_ms: $t}
      + if $error == "" then {} else {error: $error} end')
  echo "AGENTOS-BENCH spawn-$p 1 $(base64 -w0 <<<"$json")"
  # For whoever reads the log: median and p99 (nearest rank).
  note "spawn $p: $(jq -r '(.times_ms | sort) as $t | ($t | length) as $n | if $n == 0 then "no runs"
    else "median \($t[($n - 1) / 2 | floor]) ms, p99 \($t[($n * 0.99 | ceil) - 1]) ms, \($n) runs" end
    + if .error then " (FAILED: \(.error))" else "" end' <<<"$json")"
done
