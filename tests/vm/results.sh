#!/bin/bash
# Turns a VM's serial log into the test outcome: one line per expected scenario on stdout, exit 0
# only if every one of them reported PASS and the guest's runner finished (DONE).
# Usage: results.sh SERIAL_LOG SCENARIO_NAME...
set -euo pipefail
log=$1; shift

# The console ends lines with \r\n, and kernel messages may land on the same line first. The
# journal dumped after a failure repeats the reports, so it is left out.
reports=$(tr -d '\r' <"$log" | sed '/AGENTOS-VM JOURNAL BEGIN/,/AGENTOS-VM JOURNAL END/d' |
          grep -oE 'AGENTOS-VM (RESULT|DONE).*' || true)
bad=0
for name in "$@"; do
  line=$(grep -E "^AGENTOS-VM RESULT $name (PASS|FAIL)" <<<"$reports" | tail -n1 || true)
  if [[ -z $line ]]; then
    printf '  %-16s NO RESULT (the scenario never reported)\n' "$name"; bad=1
  else
    read -r _ _ _ outcome detail <<<"$line"
    printf '  %-16s %s %s\n' "$name" "$outcome" "$detail"
    [[ $outcome == PASS ]] || bad=1
  fi
done
if ! grep -q '^AGENTOS-VM DONE' <<<"$reports"; then
  echo "  the guest's scenario runner never finished"; bad=1
fi
exit $bad
