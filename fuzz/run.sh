#!/bin/bash
# Fuzz campaigns: builds the fuzz targets with clang, libFuzzer, ASan and UBSan into their own
# build directory and runs each for N minutes on its corpus (fuzz/corpus/TARGET). New inputs go to
# a scratch directory, never into the checked-in corpus; crashes to TARGET/crashes beside them.
# At the end, per target: minutes, executions, new inputs and crashes. Exits 1 if any crashed.
#
#   fuzz/run.sh [TARGET...] [--minutes N] [--jobs N]
#
# TARGET is a corpus name (jsonrpc, policy, ...; all of them by default). --jobs: how many targets
# run at once, one libFuzzer process each (default 1: leave a core to the rest of the machine).
# AGENTOS_FUZZ_BUILD (build-fuzz) and AGENTOS_FUZZ_SCRATCH (<build>/campaign) move the two.
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=10 jobs=1 targets=()
while (($#)); do
  case $1 in
    --minutes) minutes=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    -h | --help) sed -n '2,11p' "$0" | cut -c3-; exit 0 ;;
    -*) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[[ $minutes =~ ^[0-9]+$ && $minutes -gt 0 && $jobs =~ ^[0-9]+$ && $jobs -gt 0 ]] || {
  echo "--minutes and --jobs take a whole number above 0" >&2; exit 2; }
if ((${#targets[@]} == 0)); then
  for d in fuzz/corpus/*/; do targets+=("$(basename "$d")"); done
fi
for t in "${targets[@]}"; do
  [[ -d fuzz/corpus/$t ]] || { echo "no fuzz target $t (no fuzz/corpus/$t)" >&2; exit 2; }
done

build=${AGENTOS_FUZZ_BUILD:-build-fuzz}
scratch=${AGENTOS_FUZZ_SCRATCH:-$build/campaign}
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DAGENTOS_FUZZ=ON -DAGENTOS_SANITIZE=ON -DAGENTOS_TESTS=OFF "${launcher[@]}" >/dev/null
cmake --build "$build" -j"$(nproc)" --target "${targets[@]/%/_fuzz}"

# Any sanitizer report is a crash, with the input that made it.
export ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

campaign() {
  local t=$1 out=$scratch/$1 start=$SECONDS
  rm -rf "$out" && mkdir -p "$out/corpus" "$out/crashes"
  # Stops at the first crash; its input is in crashes/ (see fuzz/README.md for what to do with it).
  "$build/fuzz/${t}_fuzz" -max_total_time=$((minutes * 60)) -print_final_stats=1 -artifact_prefix="$out/crashes/" \
    "$out/corpus" "fuzz/corpus/$t" >"$out/log" 2>&1 || true
  echo $((SECONDS - start)) >"$out/seconds"
}

for t in "${targets[@]}"; do
  while (($(jobs -rp | wc -l) >= jobs)); do wait -n || true; done
  echo "fuzzing $t for $minutes min: $scratch/$t/log"
  campaign "$t" &
done
wait

failed=0
printf '\n%-14s %8s %12s %8s %8s\n' target minutes runs new crashes
for t in "${targets[@]}"; do
  out=$scratch/$t
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/log" | tail -1)
  crashes=$(find "$out/crashes" -type f | wc -l)
  printf '%-14s %8s %12s %8s %8s\n' "$t" "$(awk -v s="$(cat "$out/seconds")" 'BEGIN { printf "%.1f", s / 60 }')" "${runs:-?}" \
    "$(find "$out/corpus" -type f | wc -l)" "$crashes"
  if ((crashes > 0)); then
    failed=1
    find "$out/crashes" -type f -printf '  %p\n'
  fi
done
exit $failed
