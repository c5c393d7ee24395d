#!/bin/bash
# One command for the benchmarks (not part of the tests): builds what it needs, runs every case
# side by side in the same run, and writes bench/REPORT.md. Run as root on an idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${AGENTOS_BUILD:-build}
rounds=${ROUNDS:-5}
# Its own tools, from Debian's packages: the peers it compares against, the timer, the charts.
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  hyperfine bubblewrap firejail python3-matplotlib python3-protobuf libbenchmark-dev git >/dev/null
cmake -S . -B "$build" >/dev/null
cmake --build "$build" --target agentosd agentos-gateway agentctl syscall_bench gateway_bench broker_bench verdict_watch -j"$(nproc)" >/dev/null

work=$(mktemp -d /var/tmp/agentos-bench.XXXXXX)
chmod 0755 "$work"
mkdir -p "$work/bin" "$work/data" "$work/policy.d" "$work/run" "$work/gw-run"
# The runtime directories on a tmpfs, as /run is on a Debian host (this one has no tmpfs there):
# agents' records are rewritten atomically there, and fsync costs nothing on a tmpfs.
for d in run gw-run; do mount -t tmpfs -o mode=0755 tmpfs "$work/$d"; done
cp "$build/bench/syscall_bench" "$build/bench/gateway_bench" "$build/bench/broker_bench" "$build/bench/verdict_watch" \
  bench/macro.sh /usr/bin/sleep "$work/bin/"
echo data >"$work/data/file"
sock=$work/agentosd.sock
ctl() { "$build/agentctl/agentctl" --socket "$sock" "$@"; }

"$build/daemon/server/agentosd" --policy-dir "$work/policy.d" --socket "$sock" --runtime-dir "$work/run" \
  --state-dir "$work/state" --cgroup /agentos-bench --bpf-dir /sys/fs/bpf/agentos-bench 2>"$work/agentosd.log" &
daemon=$!
# The connect benchmark's port: free on loopback, so that nothing listens there.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cleanup() {
  ctl ps --json 2>/dev/null | python3 -c 'import json,sys; [print(a["id"]) for a in json.load(sys.stdin)]' |
    while read -r id; do ctl stop "$id" >/dev/null 2>&1 || true; done
  kill "$daemon" 2>/dev/null || true
  wait 2>/dev/null || true
  umount -l "$work/run" "$work/gw-run" 2>/dev/null || true
  rm -rf "$work" /sys/fs/bpf/agentos-bench
}
trap cleanup EXIT
for _ in $(seq 100); do ctl status >/dev/null 2>&1 && break; sleep 0.1; done

policy() { # policy NAME COMMAND...: host network with only the bench's port granted, the data readable
  local name=$1; shift
  python3 - "$work/$name.toml" "$name" "$work" "$port" "$@" <<'PY'
import json, sys
path, name, work, port, *cmd = sys.argv[1:]
open(path, "w").write(f"""[agent]
name = "{name}"
command = {json.dumps(cmd)}
[filesystem]
read = ["/usr", "{work}/data"]
exec = ["{work}/bin"]
[network]
namespace = "host"
connect = ["tcp://127.0.0.1:{port}"]
""")
PY
  echo "$work/$name.toml"
}
bench_args=("$work/data/file" "$port" --benchmark_format=json --benchmark_min_time=0.3)

for i in $(seq "$rounds"); do  # interleaved, so drift hits every case alike
  "$work/bin/syscall_bench" "${bench_args[@]}" >"$work/unconfined.$i.json"
  ctl run --policy "$(policy confined "$work/bin/syscall_bench" "${bench_args[@]}")" >"$work/confined.$i.json"
  for layer in seccomp landlock; do  # each layer alone, applied as the sandbox applies it
    "$work/bin/syscall_bench" "${bench_args[@]:0:2}" --layer=$layer "${bench_args[@]:2}" >"$work/$layer.$i.json"
  done
done
# A process outside any agent, while agents run (and the hooks are attached to their cgroups),
# against the same process with none running, round by round.
for i in $(seq "$rounds"); do
  "$work/bin/syscall_bench" "${bench_args[@]}" >"$work/alone.$i.json"
  for n in $(seq 8); do ctl run --detach --policy "$(policy "idle$n" "$work/bin/sleep" infinity)" >/dev/null; done
  "$work/bin/syscall_bench" "${bench_args[@]}" >"$work/beside.$i.json"
  for n in $(seq 8); do ctl stop "idle$n" >/dev/null; done
done

# Spawn latency: the whole life of a trivial program (spawn with every layer in place, run, exit,
# reaped), against the sandboxes users would pick instead, with equivalent namespaces.
spawns=${SPAWNS:-1000}
true_policy=$(python3 - "$work/true.toml" <<'PY'
import sys
open(sys.argv[1], "w").write('[agent]\nname = "true"\ncommand = ["/usr/bin/true"]\n'
                             '[filesystem]\nread = ["/usr"]\nexec = ["/usr/bin"]\n')
print(sys.argv[1])
PY
)
bwrap_cmd="bwrap --unshare-all --die-with-parent --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib --symlink usr/lib64 /lib64 --proc /proc --dev /dev --tmpfs /tmp /usr/bin/true"
firejail_cmd="firejail --noprofile --quiet --net=none --private --private-dev --private-tmp --nonewprivs --caps.drop=all --seccomp /usr/bin/true"
unshare_cmd="unshare --user --map-root-user --mount --pid --fork --net --ipc --uts --cgroup --mount-proc /usr/bin/true"
agentos_cmd="$build/agentctl/agentctl --socket $sock run --policy $true_policy"
declare -A peers=([agentos]=$agentos_cmd [bwrap]=$bwrap_cmd [firejail]=$firejail_cmd [unshare]=$unshare_cmd)
# One name per concurrent agent: the daemon refuses a second running instance of a name.
mkdir -p "$work/burst"
for i in $(seq 400); do sed "s/^name = \"true\"/name = \"true-$i\"/" "$true_policy" >"$work/burst/$i.toml"; done
declare -A burst=([agentos]="$build/agentctl/agentctl --socket $sock run --policy $work/burst/{}.toml"
                  [bwrap]=$bwrap_cmd [firejail]=$firejail_cmd [unshare]=$unshare_cmd)
# In rounds, the sandboxes in turn, so that a noisy stretch on this shared machine hits them alike.
for round in $(seq "$rounds"); do
  for name in agentos bwrap unshare firejail; do
    hyperfine -N --style none --warmup 5 --runs $((spawns / rounds)) --export-json "$work/spawn-$name.$round.json" \
      "${peers[$name]}" >/dev/null 2>&1 || echo "spawn benchmark of $name failed" >&2
  done
done
for name in agentos bwrap unshare firejail; do
  # Burst: 400 spawns, 8 at a time; only the ones that succeeded count.
  start=$(date +%s.%N)
  ok=$(seq 400 | xargs -P 8 -I{} sh -c "${burst[$name]} >/dev/null 2>&1 && echo ok" | grep -c ok || true)
  echo "$start $(date +%s.%N) $ok" >"$work/burst-$name"
done

# The broker: a trivial tool call's round trip from real agents, alone and with 16 at once (each
# paced at a fixed rate, and each as fast as it can), and whether one agent flooding the broker
# slows the others. The daemon's CPU time over the measured window gives calls per core.
broker_seconds=${BROKER_SECONDS:-5}
broker_rate=${BROKER_RATE:-500}
broker_case() { # broker_case CASE ROUND SPEC...: SPEC is "MODE[:RATE]" per agent, all started together
  local case=$1 round=$2 i=0 pids=() start; shift 2
  start=$(python3 -c "import time; print(f'{time.time() + 2 + 0.02 * $#:.3f}')")
  for spec in "$@"; do
    i=$((i + 1))
    local mode=${spec%%:*} args=()
    [[ $mode == paced ]] && args=(paced "${spec#*:}") || args=("$mode")
    python3 - "$work/broker-$i.toml" "broker-$i" "$work" "${args[@]}" "$broker_seconds" "$start" <<'PY'
import json, sys
path, name, work, *args = sys.argv[1:]
open(path, "w").write(f"""[agent]
name = "{name}"
command = {json.dumps([work + "/bin/broker_bench", *args])}
[filesystem]
read = ["/usr"]
exec = ["{work}/bin"]
[tools]
allow = ["kv.get"]
calls_per_minute = 1000000000  # the bench measures calls, not the quota
""")
PY
    ctl run --policy "$work/broker-$i.toml" >"$work/broker-$case.$round.$i.json" 2>>"$work/broker.err" &
    pids+=($!)
  done
  python3 - "$daemon" "$start" "$broker_seconds" >"$work/broker-$case.$round.cpu" <<'PY'
import os, sys, time
pid, start, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
def cpu():
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
time.sleep(max(0, start + 0.2 - time.time()))  # sampling times, inside the agents' window
before, t0 = cpu(), time.time()
time.sleep(seconds - 0.4)
print((cpu() - before) / (time.time() - t0))
PY
  for pid in "${pids[@]}"; do
    wait "$pid" || echo "broker case $case round $round: an agent failed (see $work/broker.err)" >&2
  done
}
for i in $(seq "$rounds"); do
  broker_case one "$i" closed
  broker_case paced16 "$i" $(printf "paced:$broker_rate %.0s" $(seq 16))
  broker_case closed16 "$i" $(printf "closed %.0s" $(seq 16))
  broker_case flood "$i" flood $(printf "paced:$broker_rate %.0s" $(seq 15))
  broker_case floodalone "$i" flood
done

# Policy-update latency: from `agentctl policy apply` (and from the same request sent on the API
# socket) to the verdict flipping inside a running agent, for a 1-rule and a 1,000-rule policy.
protoc -I proto --python_out="$work" proto/agentos.proto
free_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
/usr/bin/python3 bench/policy_update.py "$work" "$work/bin" "$free_port" "${POLICY_ROUNDS:-20}" "$sock" \
  "$build/agentctl/agentctl" >"$work/policy-update.json"

# The macro workload: git status and grep -r over /usr/include, unconfined and as an agent, interleaved.
git_dir=$work/include.git
git --git-dir="$git_dir" --work-tree=/usr/include init -q
git --git-dir="$git_dir" --work-tree=/usr/include add -A
git --git-dir="$git_dir" --work-tree=/usr/include -c user.name=bench -c user.email=bench@localhost commit -q -m tree
cat >"$work/macro.toml" <<TOML
[agent]
name = "macro"
command = ["/usr/bin/bash", "$work/bin/macro.sh", "$git_dir", "3"]
[filesystem]
read = ["/usr", "$git_dir", "$work/bin"]
exec = ["/usr/bin", "/usr/lib/git-core"]
TOML
"$work/bin/macro.sh" "$git_dir" 1 >/dev/null  # the page cache warm for both
for i in $(seq "$rounds"); do
  "$work/bin/macro.sh" "$git_dir" 3 >"$work/macro-unconfined.$i.json"
  ctl run --policy "$work/macro.toml" >"$work/macro-confined.$i.json"
done

# Scale: 64, then 256 mostly idle agents (each a broker client calling once a second).
/usr/bin/python3 bench/scale.py "$work" "$work/bin" "$daemon" "${SCALE:-64,256}" \
  "$build/agentctl/agentctl" --socket "$sock" >"$work/scale.json"

# The egress gateway: a request and a 16 MiB download from nginx, directly (outside any agent) and
# through the gateway from inside an agent (as an HTTP proxy, and through a CONNECT tunnel), with
# nginx and dnsmasq in a network namespace of their own and a second daemon in the one joined to it.
coproc WORLD { /usr/bin/python3 bench/egress_world.py; }
read -r netns _ world_dns other_v4 <&"${WORLD[0]}"
gsock=$work/gw.sock
nsenter --net="$netns" "$build/daemon/server/agentosd" --policy-dir "$work/policy.d" --socket "$gsock" \
  --runtime-dir "$work/gw-run" --state-dir "$work/gw-state" --cgroup /agentos-bench-gw \
  --bpf-dir /sys/fs/bpf/agentos-bench-gw --egress-dns "$world_dns" 2>"$work/gw-agentosd.log" &
gdaemon=$!
for _ in $(seq 100); do "$build/agentctl/agentctl" --socket "$gsock" status >/dev/null 2>&1 && break; sleep 0.1; done
cat >"$work/gw.toml" <<TOML
[agent]
name = "gw-bench"
command = ["/usr/bin/true"]
[filesystem]
read = ["/usr"]
exec = ["$work/bin"]
[egress]
allow = ["other.example.test:80"]
max_connections = 1024
TOML
gw_args=(--benchmark_format=json --benchmark_min_time=0.5)
for i in $(seq "$rounds"); do
  nsenter --net="$netns" "$work/bin/gateway_bench" direct "$other_v4" other.example.test 80 "${gw_args[@]}" >"$work/gw-direct.$i.json"
  for mode in proxy tunnel transparent; do
    "$build/agentctl/agentctl" --socket "$gsock" run --policy "$work/gw.toml" -- \
      "$work/bin/gateway_bench" "$mode" other.example.test 80 "${gw_args[@]}" >"$work/gw-$mode.$i.json"
  done
done
kill "$gdaemon"
wait "$gdaemon" 2>/dev/null || true
world_pid=$WORLD_PID
eval "exec ${WORLD[1]}>&-"  # end of its input: the world stops
wait "$world_pid" 2>/dev/null || true
rm -rf /sys/fs/bpf/agentos-bench-gw

# The BPF LSM case, which this host refuses, and spawn latency against systemd-run, which needs
# systemd as PID 1: in the VM tier's guest (Debian's kernel under TCG emulation). Skipped with a
# note if the VM cannot run.
vm_overlay=$work/vm-overlay
install -D -m 0755 -t "$vm_overlay/usr/lib/agentos-vm/scenarios" bench/vm/95-bench-lsm.sh bench/vm/96-bench-spawn.sh
install -D -m 0755 "$build/bench/syscall_bench" "$vm_overlay/usr/lib/agentos-vm/syscall_bench"
lib=$(ldd "$build/bench/syscall_bench" | awk '/libbenchmark/ {print $3}')
# Under /usr: the guest's /lib is a symlink to it (merged /usr), which a copied directory cannot replace.
[[ -z $lib ]] || install -D -m 0644 "$lib" "$vm_overlay/usr/${lib#/usr/}"
if tests/vm/run.sh --scenario platform --overlay "$vm_overlay" >"$work/vm.log" 2>&1 ||
    grep -q 'AGENTOS-BENCH' "$work/vm.log"; then
  serial=$(sed -n 's/^serial log: //p' "$work/vm.log")
  # Lines the scenarios print, as the guest's runner prefixes them: "[SCENARIO] AGENTOS-BENCH CASE I DATA".
  tr -d '\r' <"$serial" | grep -a 'AGENTOS-BENCH ' | sed 's/.*AGENTOS-BENCH //' | while read -r case i data; do
    base64 -d <<<"$data" >"$work/vm-$case.$i.json"
  done
else
  echo "the VM run failed; the BPF LSM case is left out (see $work/vm.log)" >&2
fi

/usr/bin/python3 bench/report.py "$work" "$rounds" "$(ctl doctor --json)" >bench/REPORT.md
echo "wrote bench/REPORT.md"
