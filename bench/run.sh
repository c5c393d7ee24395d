#!/bin/bash
# One command for the benchmarks (not part of the tests): builds what it needs, runs every case
# side by side in the same run, and writes bench/REPORT.md. Run as root on an idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${AGENTOS_BUILD:-build}
rounds=${ROUNDS:-5}
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

python3 bench/report.py "$work" "$rounds" "$(ctl doctor --json)" >bench/REPORT.md
echo "wrote bench/REPORT.md"
