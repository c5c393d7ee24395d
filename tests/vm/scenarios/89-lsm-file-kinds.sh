#!/bin/bash
# Every kind of file access, under BPF LSM alone: a daemon without Landlock runs agents that see
# the host's tree (view = "host"), so only the LSM programs stand between them and the host's
# files. Each kind is refused (EPERM, the LSM's answer) without a grant, allowed with one, and
# allowed outside the sandbox. Then the routes around a grant: /proc/self/root, /proc/self/fd
# reopening, bind mounts, a symlink swapped while the agent reads, and files made after start.
source /usr/lib/agentos-vm/lib.sh
require_daemon
require_probe
id vmuser >/dev/null 2>&1 || useradd --create-home vmuser
base=$(mktemp -d)
chmod 0755 "$base"
on_exit "rm -rf '$base'"
start_lsm_only_daemon agentos-lsm-kinds "$base"
work=$base/work

as_user() { runuser -u vmuser -- "$@" 2>&1 || true; }
# agent READ WRITE EXEC ARGS...: runs the probe in a host-view agent owned by vmuser. Called in
# a command substitution, so each call is its own subshell: $BASHPID tells the policies apart.
agent() {
  local read=$1 write=$2 exec=$3 n=$BASHPID
  shift 3
  cat >"$base/p$n.toml" <<TOML
[agent]
name = "kinds-$n"
command = ["$probe"]
[filesystem]
view = "host"
read = ["/usr", $read]
write = [$write]
exec = ["/usr/bin", "/usr/lib/agentos-vm", $exec]
TOML
  chmod 0644 "$base/p$n.toml"
  as_user agentctl --socket "$base/sock" run --policy "$base/p$n.toml" -- "$probe" "$@" || true
}
fresh() { # the same starting tree for every attempt, owned by the agent's owner
  rm -rf "$work"
  mkdir -p "$work/dir"
  echo data >"$work/file"
  chown -R vmuser: "$work"
}
expect() { # expect WHAT PATTERN ACTUAL
  [[ $3 == $2 ]] || fail "$1: expected '$2', got '$3'"
  note "ok: $1"
}

# The tree and the attributes: each needs a write grant where it happens. Granted, the agent gets
# what the same call gets outside (the guest's tmpfs has no user.* xattrs on 6.1: EOPNOTSUPP,
# decided after the LSM's check; setacl is an xattr tmpfs does take).
kinds=("mkdir new" "rmdir dir" "unlink file" "symlink file sym" "link file hard" "rename file moved"
  "mknod-fifo fifo" "truncate file" "chmod file" "chown file" "setxattr file" "setacl file"
  "rmxattr file" "utime file")
for kind in "${kinds[@]}"; do
  read -r action args <<<"$kind"
  paths=()
  for a in $args; do paths+=("$work/$a"); done
  fresh
  outside=$(as_user "$probe" "$action" "${paths[@]}")
  [[ $outside != "denied EPERM"* && $outside != "denied EACCES"* ]] || fail "$action is refused outside: $outside"
  fresh
  expect "$action without a write grant" "denied EPERM*" "$(agent "\"$work\"" '' '' "$action" "${paths[@]}")"
  fresh
  expect "$action with a write grant (outside: $outside)" "$outside" "$(agent "\"$work\"" "\"$work\"" '' "$action" "${paths[@]}")"
done

# Code the agent can write does not map executable without exec there; read-only code does.
fresh
cp /usr/bin/true "$work/lib.so" && chown vmuser: "$work/lib.so"
for action in mmap-exec mprotect-exec; do
  expect "$action outside" "ok" "$(as_user "$probe" "$action" "$work/lib.so")"
  expect "$action of writable code" "denied EPERM*" "$(agent "\"$work\"" "\"$work\"" '' "$action" "$work/lib.so")"
  expect "$action with exec granted" "ok" "$(agent "\"$work\"" "\"$work\"" "\"$work\"" "$action" "$work/lib.so")"
  expect "$action of a system binary" "ok" "$(agent '' '' '' "$action" /usr/bin/true)"
done

# Exec without a path: a memfd, and execveat of an O_PATH descriptor, get the verdict of the object.
# The probe run again prints its hostname: the agent's own inside, the guest's outside.
expect "memfd exec outside" "agentos-vm" "$(as_user "$probe" memfd-exec "$probe")"
expect "memfd exec" "denied EPERM*" "$(agent '' '' '' memfd-exec "$probe")"
expect "execveat of a granted binary" "kinds-*" "$(agent '' '' '' execveat "$probe")"
expect "execveat of an ungranted binary" "denied EPERM*" "$(agent '' '' '' execveat /usr/sbin/nologin)"
expect "execveat of it outside" "This account is currently not available.*" "$(as_user "$probe" execveat /usr/sbin/nologin)"

# Reopening an O_PATH descriptor for reading through /proc/self/fd needs the read grant.
fresh
expect "reopen outside" "ok" "$(as_user "$probe" reopen "$work/file")"
expect "reopen ungranted" "denied EPERM*" "$(agent '' '' '' reopen "$work/file")"
expect "reopen granted" "ok" "$(agent "\"$work\"" '' '' reopen "$work/file")"

# /proc/self/root leads to the same objects.
expect "read through /proc/self/root, ungranted" "denied EPERM*" "$(agent '' '' '' read "/proc/self/root$work/file")"
expect "read through /proc/self/root, granted" "ok" "$(agent "\"$work\"" '' '' read "/proc/self/root$work/file")"

# A bind mount of an ungranted directory into a granted one is still the ungranted directory.
mkdir -p "$base/hidden" "$work/bound"
echo hidden >"$base/hidden/file"
chmod -R a+rX "$base/hidden"
mount --bind "$base/hidden" "$work/bound"
on_exit "umount '$work/bound'"
expect "read through a bind mount, outside" "ok" "$(as_user "$probe" read "$work/bound/file")"
expect "read through a bind mount of ungranted" "denied EPERM*" "$(agent "\"$work\"" '' '' read "$work/bound/file")"
expect "read of the granted directory beside it" "ok" "$(agent "\"$work\"" '' '' read "$work/file")"
umount "$work/bound"

# A symlink swapped between a granted and an ungranted target while the agent reads it: the
# check is on the file opened, so no read ever returns the ungranted one, while the same loop
# outside does see it.
fresh
echo public >"$work/public"
echo SECRET >"$base/hidden/secret"
chmod a+r "$base/hidden/secret" "$work/public"
ln -s "$work/public" "$work/link"
(while [[ -d $work ]]; do
  ln -sfn "$base/hidden/secret" "$work/link.new" && mv -T "$work/link.new" "$work/link"
  ln -sfn "$work/public" "$work/link.new" && mv -T "$work/link.new" "$work/link"
done 2>/dev/null) &
swapper=$!
on_exit "kill $swapper 2>/dev/null"
outside=$(as_user "$probe" read-loop "$work/link" 1000000 SECRET)
[[ $outside =~ saw\ SECRET\ ([0-9]+)\ times ]] && ((BASH_REMATCH[1] >= 50)) ||
  fail "the swap never showed outside the sandbox: $outside"
inside=$(agent "\"$work\"" '' '' read-loop "$work/link" 1000000 SECRET)
[[ $inside =~ ^read\ ([0-9]+)\ of\ [0-9]+,\ saw\ SECRET\ 0\ times,\ EPERM\ ([0-9]+)$ ]] &&
  ((BASH_REMATCH[1] >= 50 && BASH_REMATCH[2] >= 50)) ||
  fail "renames racing the check: $inside (outside: $outside)"
kill "$swapper"
note "ok: symlink swapped under the reader: inside '$inside', outside '$outside'"

# Files made after the agent started, in a granted directory, are granted; elsewhere they are not.
# The agent's own "ready" line, read from its output, says when it runs.
fresh
mkfifo -m 0666 "$base/go" "$base/out"
cat >"$base/later.toml" <<TOML
[agent]
name = "kinds-later"
command = ["/bin/sh", "-c", '''echo ready; read x <$base/go; cat $work/later $base/later 2>&1; true''']
[filesystem]
view = "host"
read = ["/usr", "$work", "$base/go"]
exec = ["/usr/bin"]
TOML
chmod 0644 "$base/later.toml"
runuser -u vmuser -- agentctl --socket "$base/sock" run --policy "$base/later.toml" >"$base/out" 2>&1 &
runner=$!
exec 3<"$base/out"
read -r -t 120 first <&3 || fail "the agent never said it was ready"
[[ $first == ready ]] || fail "the agent said '$first' instead of ready"
echo "made later" >"$work/later"
echo "made later" >"$base/later"
chmod a+r "$work/later" "$base/later"
echo go >"$base/go"
got=$(cat <&3)
exec 3<&-
wait "$runner" || true
[[ $got == *"made later"*"Operation not permitted"* ]] || fail "files made after start: $got"
note "ok: a file made after start is granted in a granted directory, refused elsewhere"

# Every refusal above is attributed to the LSM in the audit trail.
as_user agentctl --socket "$base/sock" audit --json |
  jq -e 'map(select(.layer == "bpf-lsm" and .decision == "deny")) | length >= 20' >/dev/null ||
  fail "too few bpf-lsm denials in the audit trail"
