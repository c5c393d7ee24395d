#!/bin/bash
# Turns the cached rootfs into this run's initramfs: a copy of the tree with our .deb installed by
# dpkg, the scenarios and the unit that runs them, packed as a zstd-compressed newc cpio.
# Usage: initrd.sh ROOTFS_TAR OUT [--deb FILE] [--overlay DIR] [--shell] SCENARIO_FILE...
set -euo pipefail
source "$(dirname "$0")/lib.sh"

rootfs=$1 out=$2; shift 2
deb='' overlay='' shell=0 scenarios=()
while (($#)); do
  case $1 in
    --deb) deb=$2; shift 2 ;;
    --overlay) overlay=$2; shift 2 ;;
    --shell) shell=1; shift ;;
    *) scenarios+=("$1"); shift ;;
  esac
done

tree=$(mktemp -d "$VM_CACHE/.tree.XXXXXX")
trap 'rm -rf "$tree"' EXIT
tar -x -p --xattrs --xattrs-include='*' --numeric-owner -f "$rootfs" -C "$tree"

if [[ -n $deb ]]; then
  cp "$deb" "$tree/tmp/agentos.deb"
  # Kept in the guest for the package scenario, which reinstalls (upgrades) and purges it.
  mkdir -p "$tree/var/cache/agentos-vm"
  cp "$deb" "$tree/var/cache/agentos-vm/agentos.deb"
  # Nothing may start in the chroot; the service starts when the VM boots.
  printf '#!/bin/sh\nexit 101\n' >"$tree/usr/sbin/policy-rc.d"
  chmod +x "$tree/usr/sbin/policy-rc.d"
  # A private mount namespace gives the maintainer scripts a /proc and takes it away again
  # when dpkg is done, whatever happens.
  if ! log=$(unshare --mount --propagation private sh -ec \
      'mount -t proc proc "$1/proc"; chroot "$1" dpkg -i /tmp/agentos.deb' sh "$tree" 2>&1); then
    printf '%s\n' "$log" >&2
    vm_die "dpkg -i $(basename "$deb") failed in the guest tree"
  fi
  rm -f "$tree/usr/sbin/policy-rc.d" "$tree/tmp/agentos.deb"
fi

lib=$tree/usr/lib/agentos-vm
install -d "$lib/scenarios"
install -m 0755 "$VM_DIR/guest/run-scenarios" "$lib/"
install -m 0644 "$VM_DIR/guest/lib.sh" "$lib/"
# The probe the host's integration tests use, for the escape scenario (ctest sets AGENTOS_PROBE).
if [[ -n ${AGENTOS_PROBE:-} && -x ${AGENTOS_PROBE} ]]; then install -m 0755 "$AGENTOS_PROBE" "$lib/agentos-probe"; fi
((${#scenarios[@]} == 0)) || install -m 0755 "${scenarios[@]}" "$lib/scenarios/"
install -m 0755 "$VM_DIR/guest/init" "$tree/init"
echo agentos-vm >"$tree/etc/hostname"

units=$tree/etc/systemd/system
install -m 0644 "$VM_DIR/guest/agentos-vm-tests.service" "$units/"
ln -sf ../agentos-vm-tests.service "$units/multi-user.target.wants/agentos-vm-tests.service"
if ((shell)); then
  touch "$lib/shell"
  install -D -m 0644 "$VM_DIR/guest/autologin.conf" "$units/serial-getty@ttyS0.service.d/autologin.conf"
else
  # The serial console carries the results; no login prompt in the middle of them.
  ln -sf /dev/null "$units/serial-getty@ttyS0.service"
fi
ln -sf /dev/null "$units/getty@tty1.service"
# autofs is a module the guest does not have; without this systemd reports the automount
# "unsupported" on the console at every boot.
ln -sf /dev/null "$units/proc-sys-fs-binfmt_misc.automount"

# A developer's experiment (a unit drop-in, a patched binary) copied over everything else.
[[ -z $overlay ]] || cp -a "$overlay/." "$tree/"

(cd "$tree" && find . -print0 | cpio --null --create --format=newc --quiet) | zstd -q -T0 -3 -f -o "$out"
