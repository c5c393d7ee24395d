#!/bin/bash
# Runs in the VM tier's guest (bench/run.sh adds it with --overlay): open()+close() unconfined and
# inside an agent governed by BPF LSM, interleaved. Under TCG emulation only the ratio means much.
source /usr/lib/agentos-vm/lib.sh
require_daemon
agentctl doctor | grep -Eq '^bpf-lsm +yes' || fail "BPF LSM is not in force"
bench=/usr/lib/agentos-vm/syscall_bench
dir=$(mktemp -d)
chmod 0755 "$dir"
echo data >"$dir/file"
chmod 0644 "$dir/file"
cat >"$dir/p.toml" <<TOML
[agent]
name = "bench-lsm"
command = ["$bench"]
[filesystem]
read = ["/usr", "$dir"]
exec = ["/usr/lib/agentos-vm"]
TOML
args=("$dir/file" 1 --benchmark_filter=OpenClose --benchmark_format=json --benchmark_min_time=0.5)
for i in 1 2 3; do
  echo "AGENTOS-BENCH unconfined $i $("$bench" "${args[@]}" | base64 -w0)"
  echo "AGENTOS-BENCH confined $i $(agentctl run --policy "$dir/p.toml" -- "$bench" "${args[@]}" | base64 -w0)"
done
rm -rf "$dir"
