#!/bin/bash
# One command for the benchmarks (not part of the tests): builds what it needs, runs every case
# side by side in the same run, and writes bench/REPORT.md. Run as root on an idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${AGENTOS_BUILD:-build}
rounds=${ROUNDS:-5}
# Its own tools, from Debian's packages: the peers it compares against, the timer, the charts.
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  hyperfine bubblewrap firejail python3-matplotlib libbenchmark-dev >/dev/null
cmake -S . -B "$build" >/dev/null
cmake --build "$build" --target agentosd agentctl syscall_bench -j"$(nproc)" >/dev/null

work=$(mktemp -d /var/tmp/agentos-bench.XXXXXX)
chmod 0755 "$work"
mkdir -p "$work/bin" "$work/data" "$work/policy.d"
cp "$build/bench/syscall_bench" /usr/bin/sleep "$work/bin/"
echo data >"$work/data/file"
sock=$work/agentosd.sock
ctl() { "$build/agentctl/agentctl" --socket "$sock" "$@"; }

"$build/daemon/server/agentosd" --policy-dir "$work/policy.d" --socket "$sock" --runtime-dir "$work/run" \
  --state-dir "$work/state" --cgroup /agentos-bench --bpf-dir /sys/fs/bpf/agentos-bench 2>"$work/agentosd.log" &
daemon=$!
# A loopback listener for the connect benchmark: the kernel completes connects before accept().
python3 -c '
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(4096)
print(s.getsockname()[1], flush=True)
while True: s.accept()[0].close()' >"$work/port" &
listener=$!
cleanup() {
  ctl ps --json 2>/dev/null | python3 -c 'import json,sys; [print(a["id"]) for a in json.load(sys.stdin)]' |
    while read -r id; do ctl stop "$id" >/dev/null 2>&1 || true; done
  kill "$daemon" "$listener" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work" /sys/fs/bpf/agentos-bench
}
trap cleanup EXIT
for _ in $(seq 100); do ctl status >/dev/null 2>&1 && [[ -s $work/port ]] && break; sleep 0.1; done
port=$(cat "$work/port")

policy() { # policy NAME COMMAND...: host network with only the listener granted, the data readable
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
done
# A process outside any agent, while agents run (and the hooks are attached to their cgroups).
for n in $(seq 8); do ctl run --detach --policy "$(policy "idle$n" "$work/bin/sleep" infinity)" >/dev/null; done
for i in $(seq "$rounds"); do "$work/bin/syscall_bench" "${bench_args[@]}" >"$work/beside.$i.json"; done

for n in $(seq 8); do ctl stop "idle$n" >/dev/null; done

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
for name in agentos bwrap unshare firejail; do
  hyperfine -N --style none --warmup 20 --runs "$spawns" --export-json "$work/spawn-$name.json" \
    "${peers[$name]}" >/dev/null 2>&1 || echo "spawn benchmark of $name failed" >&2
  # Burst: 400 spawns, 8 at a time; only the ones that succeeded count.
  start=$(date +%s.%N)
  ok=$(seq 400 | xargs -P 8 -I{} sh -c "${burst[$name]} >/dev/null 2>&1 && echo ok" | grep -c ok || true)
  echo "$start $(date +%s.%N) $ok" >"$work/burst-$name"
done

/usr/bin/python3 bench/report.py "$work" "$rounds" "$(ctl doctor --json)" >bench/REPORT.md
echo "wrote bench/REPORT.md"
