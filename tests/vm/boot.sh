#!/bin/bash
# Boots KERNEL with INITRD under qemu's TCG (KVM guests hang on these hosts; see PLATFORM.md),
# the serial console going to LOG. Without --shell it runs headless under a hard timeout
# ($AGENTOS_VM_TIMEOUT seconds, default 900), echoes the scenario lines as they arrive, and exits
# 124 if the VM had to be killed. With --shell the console is this terminal (Ctrl-a x quits qemu).
# Usage: boot.sh KERNEL INITRD LOG [--shell]
set -euo pipefail
kernel=$1 initrd=$2 log=$3 shell=${4:-}

# quiet keeps the kernel's messages from splitting the result lines; panic=-1 with -no-reboot
# turns a panic into qemu exiting instead of a hang, and softlockup_panic makes a CPU stuck in
# the kernel such a panic. rdinit=/init: see guest/init. $AGENTOS_VM_APPEND adds to it (for
# debugging: "loglevel=7" shows the stacks that quiet hides).
append="console=ttyS0 quiet panic=-1 softlockup_panic=1 lsm=lockdown,capability,landlock,yama,bpf rdinit=/init"
append+=" ${AGENTOS_VM_APPEND:-}"
# No network device: the guest needs none, and must not reach anything.
qemu=(qemu-system-x86_64 -accel tcg -cpu max -m 2048 -smp 2 -nic none -no-reboot
      -kernel "$kernel" -initrd "$initrd" -append "$append")

if [[ $shell == --shell ]]; then
  # No login prompt among the scenarios' output: the guest starts the getty when they are done.
  qemu[-1]+=" systemd.getty_auto=0"
  "${qemu[@]}" -nographic | tee "$log"
  exit 0
fi

timeout=${AGENTOS_VM_TIMEOUT:-900}
# Echo progress without the journal dumped after a failure (the log keeps it).
set +e
timeout --kill-after=10 "$timeout" "${qemu[@]}" -display none -monitor none -serial stdio </dev/null |
  tee "$log" | tr -d '\r' | awk '
    /AGENTOS-VM JOURNAL BEGIN/ { j = 1 }
    !j && (/AGENTOS-VM / || /^\[[a-z0-9-]+\] /) { print "  guest: " $0; fflush() }
    /AGENTOS-VM JOURNAL END/ { j = 0 }'
rc=${PIPESTATUS[0]}
set -e
if ((rc == 124 || rc == 137)); then
  echo "vm: the VM was still running after $timeout s and was killed" >&2
  exit 124
fi
exit "$rc"
