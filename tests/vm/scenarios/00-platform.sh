#!/bin/bash
# The VM is what the tier claims it is: BPF LSM active, systemd as PID 1 on a unified cgroup v2
# hierarchy with the memory, cpu and pids controllers, and a root where pivot_root works (the
# sandbox needs it; see guest/init). Needs no agentos, so it also checks the tier itself.
source /usr/lib/agentos-vm/lib.sh

lsm=$(cat /sys/kernel/security/lsm)
note "active LSMs: $lsm"
[[ ,$lsm, == *,bpf,* ]] || fail "bpf is not an active LSM: $lsm"

[[ $(cat /proc/1/comm) == systemd ]] || fail "PID 1 is $(cat /proc/1/comm), not systemd"
[[ $(stat -f -c %T /sys/fs/cgroup) == cgroup2fs ]] || fail "/sys/fs/cgroup is not cgroup2"
controllers=$(cat /sys/fs/cgroup/cgroup.controllers)
for c in memory cpu pids; do
  [[ " $controllers " == *" $c "* ]] || fail "cgroup v2 controller $c missing: $controllers"
done

# pivot_root fails with EINVAL on the initramfs itself; this is what guest/init works around.
unshare --mount sh -ec 'mount -t tmpfs vmtest /mnt; mkdir /mnt/old; cd /mnt; pivot_root . old' ||
  fail "pivot_root into a tmpfs fails in a new mount namespace"
