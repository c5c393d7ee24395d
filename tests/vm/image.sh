#!/bin/bash
# Builds (or finds in the cache) the two things every VM run boots, from Debian's registry only:
#   the kernel: Debian's bookworm kernel, which has CONFIG_BPF_LSM=y, BTF and CONFIG_RD_ZSTD;
#   the rootfs: a minbase bookworm tree with systemd, plus the runtime dependencies of our .deb.
# Usage: image.sh [--deb FILE]   Prints the kernel's path, then the rootfs tarball's path.
# Cache: $AGENTOS_VM_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/agentos-vm), each entry keyed
# by a hash of this script, the package list and the candidate versions apt knows of.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

deb=
while (($#)); do
  case $1 in
    --deb) deb=$2; shift 2 ;;
    *) vm_die "usage: image.sh [--deb FILE]" ;;
  esac
done

# What the scenarios and their helpers use inside the guest, on top of minbase.
base_pkgs=(systemd-sysv udev dbus passwd util-linux procps iproute2 jq)
# The daemon's runtime libraries, for when no .deb is given (developing the tier itself);
# with a .deb its own Depends are used instead, so the image follows the packaging.
default_deps=(libprotobuf32 libtomlplusplus3 libsystemd0 libseccomp2 libcap2 libstdc++6)

# Package names from a .deb's Depends and Pre-Depends: the first of each set of alternatives,
# without version constraints or architecture qualifiers (mmdebstrap --include takes names).
deb_depends() {
  { dpkg-deb -f "$1" Pre-Depends; dpkg-deb -f "$1" Depends; } | tr ',' '\n' |
    sed -E 's/\|.*//; s/\(.*\)//; s/:[a-z0-9]+//; s/[[:space:]]//g' | grep -v '^$' || true
}

# The package lists may be missing on a fresh machine; one update makes the candidates known.
if ! apt-cache show --no-all-versions linux-image-amd64 >/dev/null 2>&1; then
  vm_log "apt knows no linux-image-amd64: running apt-get update"
  apt-get update -q >&2
fi
mkdir -p "$VM_CACHE"

build_kernel() {
  # Follow the metapackage's dependency so the image tracks Debian's kernel updates.
  local pkg ver key dir tmp
  pkg=$(apt-cache show --no-all-versions linux-image-amd64 |
        sed -nE 's/^Depends:.*(linux-image-[0-9][^ ,]*-amd64).*/\1/p')
  [[ -n $pkg ]] || vm_die "cannot find linux-image-amd64's kernel package"
  ver=$(vm_candidates "$pkg")
  key=$(printf 'kernel\n%s\n' "$ver" | vm_key "$0")
  dir=$VM_CACHE/kernel-$key
  if [[ ! -e $dir/vmlinuz ]]; then
    vm_log "downloading the kernel ($ver)"
    tmp=$(mktemp -d "$VM_CACHE/.kernel.XXXXXX")
    # Nothing needed is a module: tmpfs, cgroup2, namespaces, seccomp, BPF LSM, Landlock, the
    # 8250 console and zstd initramfs are all built in (checked in boot/config-*), so only
    # vmlinuz is kept and the guest has no /lib/modules.
    (cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$pkg=${ver#*=}" >&2)
    dpkg-deb --fsys-tarfile "$tmp"/*.deb | tar -x -C "$tmp" --wildcards './boot/vmlinuz-*' './boot/config-*'
    mv "$tmp"/boot/vmlinuz-* "$tmp/vmlinuz"
    mv "$tmp"/boot/config-* "$tmp/config"
    printf '%s\n' "$ver" > "$tmp/version"
    rm -rf "${tmp:?}"/boot "${tmp:?}"/*.deb
    mv -T "$tmp" "$dir"
    vm_prune "$dir" 'kernel-*'
  fi
  printf '%s\n' "$dir/vmlinuz"
}

build_rootfs() {
  local pkgs key out tmp start
  if [[ -n $deb ]]; then
    mapfile -t pkgs < <(deb_depends "$deb")
  else
    pkgs=("${default_deps[@]}")
  fi
  mapfile -t pkgs < <(printf '%s\n' "${base_pkgs[@]}" "${pkgs[@]}" | sort -u)
  key=$(vm_candidates systemd "${pkgs[@]}" | vm_key "$0")
  out=$VM_CACHE/rootfs-$key.tar
  if [[ ! -e $out ]]; then
    vm_log "building the $VM_SUITE rootfs with: ${pkgs[*]}"
    start=$SECONDS
    tmp=$(mktemp "$VM_CACHE/.rootfs.XXXXXX.tar")
    # Documentation and translations are dropped: the tree is packed into the initramfs on
    # every run, so its size is paid for in time at each boot.
    mmdebstrap --quiet --variant=minbase --include="$(IFS=,; echo "${pkgs[*]}")" \
      --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
      "$VM_SUITE" "$tmp" "${VM_MIRRORS[@]}" </dev/null >&2
    mv "$tmp" "$out"
    vm_log "rootfs built in $((SECONDS - start)) s"
    vm_prune "$out" 'rootfs-*.tar'
  fi
  printf '%s\n' "$out"
}

[[ $(id -u) == 0 ]] || vm_skip "image.sh needs root (mmdebstrap, and dpkg in a chroot later)"
build_kernel
build_rootfs
