#!/bin/bash
# The VM test tier in one command: builds the .deb (scripts/build-deb.sh), gets the cached kernel
# and rootfs (image.sh), installs the .deb into a copy of the rootfs with the scenarios
# (initrd.sh), boots it once under qemu running every scenario in turn (boot.sh), and turns the
# serial log into the outcome (results.sh). Exits 0 only if every scenario passed.
#
# Usage: run.sh [--scenario NAME]... [--shell] [--deb FILE | --no-deb] [--overlay DIR]
#   --scenario NAME  run only this scenario (file scenarios/NN-NAME.sh); may be repeated
#   --shell          leave a root shell on the serial console after the scenarios (interactive)
#   --deb FILE       test this .deb instead of building one (also: env AGENTOS_VM_DEB)
#   --no-deb         boot without agentos (developing the tier); runs only "platform" by default
#   --overlay DIR    copy DIR over the guest's root last (experiments: a unit drop-in, a binary)
# Env: AGENTOS_VM_CACHE (cache dir), AGENTOS_VM_TIMEOUT (seconds the VM may run, default 900),
#      CI=true (a tier that cannot run fails instead of skipping).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

usage() { sed -n '/^# Usage/,/^# Env/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
names=() shell=0 deb=${AGENTOS_VM_DEB:-} no_deb=0 overlay=
while (($#)); do
  case $1 in
    --scenario) names+=("${2:?}"); shift 2 ;;
    --shell) shell=1; shift ;;
    --deb) deb=$(realpath "${2:?}"); shift 2 ;;
    --no-deb) no_deb=1; shift ;;
    --overlay) overlay=$(realpath "${2:?}"); shift 2 ;;
    -h | --help) usage ;;
    *) echo "run.sh: unknown argument $1" >&2; usage ;;
  esac
done

[[ $(id -u) == 0 ]] || vm_skip "the VM tier needs root (mmdebstrap, dpkg into the guest tree)"
[[ $(uname -m) == x86_64 ]] || vm_skip "the VM tier boots an amd64 kernel; this is $(uname -m)"
vm_ensure_tools
mkdir -p "$VM_CACHE/runs"
t0=$SECONDS

# Which scenarios: every scenarios/NN-NAME.sh, or the ones named.
declare -A file_of=()
all=()
for f in "$VM_DIR"/scenarios/[0-9][0-9]-*.sh; do
  n=$(basename "$f" .sh); n=${n#[0-9][0-9]-}
  file_of[$n]=$f; all+=("$n")
done
((${#names[@]})) || { if ((no_deb)); then names=(platform); else names=("${all[@]}"); fi; }
files=()
for n in "${names[@]}"; do
  [[ -n ${file_of[$n]:-} ]] || vm_die "no scenario $n (there are: ${all[*]})"
  files+=("${file_of[$n]}")
done
# Keep the scenario order of the directory whatever the order on the command line.
mapfile -t files < <(printf '%s\n' "${files[@]}" | sort -u)
mapfile -t names < <(for f in "${files[@]}"; do n=$(basename "$f" .sh); echo "${n#[0-9][0-9]-}"; done)

# One directory per run, the last few kept, so a failed run's serial log can still be read.
run=$VM_CACHE/runs/$(date +%Y%m%d-%H%M%S)-$$
mkdir -p "$run"
mapfile -t old < <(ls -1d "$VM_CACHE"/runs/*/ | head -n -5)
((${#old[@]} == 0)) || rm -rf -- "${old[@]}"

if ((no_deb)); then
  deb=
elif [[ -z $deb ]]; then
  vm_log "building the .deb (scripts/build-deb.sh)"
  t=$SECONDS
  deb=$("$VM_REPO/scripts/build-deb.sh" "$run/deb" | tail -n1) || vm_die "scripts/build-deb.sh failed"
  [[ -f $deb ]] || vm_die "scripts/build-deb.sh did not print a .deb's path (got: $deb)"
  vm_log "built $(basename "$deb") in $((SECONDS - t)) s"
fi

t=$SECONDS
mapfile -t image < <("$VM_DIR/image.sh" ${deb:+--deb "$deb"})
((${#image[@]} == 2)) || vm_die "image.sh failed"
vm_log "kernel and rootfs ready in $((SECONDS - t)) s"

t=$SECONDS
shell_arg=()
((shell)) && shell_arg=(--shell)
"$VM_DIR/initrd.sh" "${image[1]}" "$run/initrd.zst" ${deb:+--deb "$deb"} ${overlay:+--overlay "$overlay"} \
  "${shell_arg[@]}" "${files[@]}"
vm_log "initramfs packed in $((SECONDS - t)) s ($(du -h "$run/initrd.zst" | cut -f1))"

t=$SECONDS
vm_log "booting; serial log: $run/serial.log"
rc=0
"$VM_DIR/boot.sh" "${image[0]}" "$run/initrd.zst" "$run/serial.log" "${shell_arg[@]}" || rc=$?
rm -f "$run/initrd.zst"
vm_log "VM ran for $((SECONDS - t)) s"
((shell)) && exit 0

echo "VM scenarios:"
outcome=0
"$VM_DIR/results.sh" "$run/serial.log" "${names[@]}" || outcome=1
((rc == 0)) || { echo "  the VM did not power off cleanly (qemu/timeout exit $rc)"; outcome=1; }
if ((outcome)); then
  # The whole journal is in the log; agentosd's part is what a failure usually needs.
  echo "agentosd's journal in the VM (all of it in the serial log):"
  tr -d '\r' <"$run/serial.log" | sed -n '/AGENTOS-VM JOURNAL BEGIN/,/AGENTOS-VM JOURNAL END/p' |
    grep -E 'agentosd|agentctl' | tail -n 200 || true
fi
echo "serial log: $run/serial.log"
echo "VM tier: $( ((outcome)) && echo FAILED || echo passed) in $((SECONDS - t0)) s"
exit $outcome
