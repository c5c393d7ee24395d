#!/bin/bash
# The macro workload, for bench/run.sh: `git status` and `grep -r` over /usr/include (about 23,000
# files), a developer's everyday loop over a large tree. Run the same way unconfined and as an agent's
# command; prints one JSON line with each iteration's time.
#   macro.sh GIT_DIR ITERATIONS
set -euo pipefail
# The index lives outside the tree, made beforehand by the unconfined side. Inside an agent the
# files' owner reads as the overflow uid, so git would rehash every file unless it checks only
# sizes and times (core.checkStat=minimal, on both sides); no lock is taken, the tree is read-only.
export GIT_DIR=$1 GIT_WORK_TREE=/usr/include GIT_OPTIONAL_LOCKS=0 GIT_CONFIG_COUNT=2 \
  GIT_CONFIG_KEY_0=safe.directory GIT_CONFIG_VALUE_0='*' GIT_CONFIG_KEY_1=core.checkStat GIT_CONFIG_VALUE_1=minimal
times=()
for ((i = 0; i < $2; i++)); do
  t0=$EPOCHREALTIME
  [[ -z $(git status --porcelain) ]] || { echo "macro.sh: the tree is not clean" >&2; exit 1; }
  grep -rF -c 'namespace' /usr/include >/dev/null
  t1=$EPOCHREALTIME
  times+=("$(((${t1/./} - ${t0/./}) / 1000))")
done
IFS=,
echo "{\"ms\": [${times[*]}]}"
