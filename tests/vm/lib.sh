# Shared by the host-side scripts of the VM tier (sourced, not run). See README.md.

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM_REPO=$(cd "$VM_DIR/../.." && pwd)
VM_CACHE=${AGENTOS_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agentos-vm}
VM_SUITE=bookworm
# Only Debian's registry is reachable from CI, so every input comes from these three suites.
VM_MIRRORS=(
  "deb http://deb.debian.org/debian $VM_SUITE main"
  "deb http://deb.debian.org/debian $VM_SUITE-updates main"
  "deb http://deb.debian.org/debian-security $VM_SUITE-security main"
)

vm_log() { printf 'vm: %s\n' "$*" >&2; }
vm_die() { printf 'vm: error: %s\n' "$*" >&2; exit 1; }

# The tier cannot run here. Under CI nothing that should run may be skipped, so it fails there;
# elsewhere it exits 77, which ctest reports as a skip (SKIP_RETURN_CODE in CMakeLists.txt).
vm_skip() {
  if [[ ${CI:-} == true ]]; then
    printf 'vm: FAIL (CI=true, so not skipping): %s\n' "$*" >&2
    exit 1
  fi
  printf 'vm: SKIP: %s\n' "$*" >&2
  exit 77
}

# Installs the host tools the tier needs from Debian's packages when they are missing, so a
# fresh machine works. Refreshes the package lists only if a first attempt fails (stale lists).
vm_ensure_tools() {
  local -A need=([qemu-system-x86_64]=qemu-system-x86 [mmdebstrap]=mmdebstrap [zstd]=zstd
                 [cpio]=cpio [dpkg-deb]=dpkg [chroot]=coreutils [sha256sum]=coreutils)
  local cmd pkgs=()
  for cmd in "${!need[@]}"; do
    command -v "$cmd" >/dev/null || pkgs+=("${need[$cmd]}")
  done
  ((${#pkgs[@]})) || return 0
  [[ $(id -u) == 0 ]] || vm_skip "missing ${pkgs[*]} and not root, so cannot apt-get install them"
  command -v apt-get >/dev/null || vm_skip "missing ${pkgs[*]} and no apt-get to install them"
  vm_log "installing ${pkgs[*]}"
  local apt=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends)
  "${apt[@]}" "${pkgs[@]}" >&2 || { apt-get update -q >&2 && "${apt[@]}" "${pkgs[@]}" >&2; } ||
    vm_skip "apt-get install ${pkgs[*]} failed"
}

# Candidate version of each package as the host's apt lists know it ("name=version" lines).
# Part of the cache keys: a new version in the registry gives a new key once the lists are updated.
vm_candidates() {
  local p v
  for p in "$@"; do
    v=$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ {print $2; exit}')
    printf '%s=%s\n' "$p" "${v:-unknown}"
  done
}

# vm_key FILE... : short hash of the given files' content plus whatever is on stdin.
vm_key() { { cat; cat "$@"; } | sha256sum | cut -c1-16; }

# Drops cache entries of one kind (a glob under $VM_CACHE) other than the one just built.
vm_prune() {
  local keep=$1 glob=$2 e
  for e in "$VM_CACHE"/$glob; do
    [[ -e $e && $e != "$keep" ]] && rm -rf -- "$e"
  done
  return 0
}
