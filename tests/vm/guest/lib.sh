# Helpers for the scenarios, sourced by each (inside the VM, as root). A scenario exits 0 to pass.
set -euo pipefail

# A failure also shows where the daemon's threads wait in the kernel (a daemon stuck in a call
# would otherwise be seen only as its watchdog's SIGABRT, later).
fail() {
  echo "FAIL: $*" >&2
  local pid
  pid=$(systemctl show -p MainPID --value agentosd.service 2>/dev/null) || pid=0
  if [[ $pid != 0 && -d /proc/$pid ]]; then
    echo "agentosd ($pid): state $(awk '/^State/ {print $2}' /proc/$pid/status), wchan $(cat /proc/$pid/wchan)" >&2
    cat /proc/$pid/stack >&2 2>/dev/null || true
  fi
  exit 1
}
note() { echo "$*"; }

# Every scenario but the first few starts from a running daemon. When an earlier scenario left it
# failed, one start is tried so that failure is not counted again in every later scenario;
# if that does not bring it up, this scenario fails saying so.
require_daemon() {
  systemctl is-active --quiet agentosd.service && return 0
  echo "agentosd is $(systemctl is-active agentosd.service) at the start: trying one start" >&2
  systemctl reset-failed agentosd.service agentosd.socket 2>/dev/null || true
  systemctl start agentosd.service ||
    fail "agentosd is not running and does not start (see the journal; an earlier scenario?)"
}

# The probe (tests/cases/probe.cc), placed in the guest when the image was made.
probe=/usr/lib/agentos-vm/agentos-probe
require_probe() {
  [[ -x $probe ]] || fail "no probe in the guest: build agentos-probe and set AGENTOS_PROBE for the image"
}

# For scenarios about what the LSM programs refuse: they must be loaded, not the fallback.
require_bpf_lsm() {
  agentctl doctor | grep -Eq '^bpf-lsm +yes' || fail "BPF LSM is not in force: $(agentctl doctor)"
}

# Files and agents a scenario creates, undone when it exits, pass or fail, so the next scenario
# starts from a clean daemon.
_cleanup_cmds=()
on_exit() { _cleanup_cmds+=("$*"); }
_run_cleanup() {
  local i
  for ((i = ${#_cleanup_cmds[@]} - 1; i >= 0; i--)); do eval "${_cleanup_cmds[i]}" || true; done
}
trap _run_cleanup EXIT

# write_policy FILE NAME LIMITS_TOML SHELL_SCRIPT: an agent NAME that runs `/bin/sh -c SCRIPT`
# with /usr granted (Debian's merged /usr: /bin and /lib are symlinks into it, recreated in the
# sandbox), plus any [limits] given.
write_policy() {
  local file=$1 name=$2 limits=$3 script=$4
  cat >"$file" <<TOML
[agent]
name = "$name"
command = ["/bin/sh", "-c", '''$script''']

[filesystem]
read = ["/usr"]
exec = ["/usr/bin"]

$limits
TOML
}

# install_policy NAME LIMITS SCRIPT: places it in /etc/agentos/policy.d (removed at exit).
install_policy() {
  local file=/etc/agentos/policy.d/$1.toml
  write_policy "$file" "$@"
  chmod 0644 "$file"
  on_exit "rm -f '$file'; agentctl policy apply >/dev/null"
}

# follow_until SECONDS REGEX CMD...: runs CMD, which follows a stream, until a line it prints
# matches REGEX (what is followed is the signal; the bound only turns a hang into a failure).
follow_until() {
  local secs=$1 re=$2 fifo rc pid
  shift 2
  fifo=$(mktemp -u) && mkfifo "$fifo"
  timeout "$secs" "$@" >"$fifo" &
  pid=$!
  if grep -m1 -qE -- "$re" <"$fifo"; then rc=0; else rc=1; fi
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$fifo"
  return "$rc"
}

# wait_output ID REGEX [SECONDS]: follows the agent's output until a line matches: the agent's
# own output is the readiness signal.
wait_output() {
  local id=$1 re=$2 secs=${3:-120}
  follow_until "$secs" "$re" agentctl logs --follow "$id" ||
    fail "agent $id never printed /$re/ within $secs s; its log: $(agentctl logs "$id" 2>&1)"
}

# wait_audit REGEX [SECONDS]: follows the audit trail until an entry matches.
wait_audit() {
  local re=$1 secs=${2:-60}
  follow_until "$secs" "$re" agentctl audit --follow ||
    fail "no audit entry /$re/ within $secs s; the last ones: $(agentctl audit 2>&1 | tail -5)"
}

# start_detached ARGS...: `agentctl run ARGS --detach`; sets AGENT_ID to the new agent's id (not
# printed: a command substitution would lose the cleanup), and the agent is stopped at exit.
start_detached() {
  AGENT_ID=$(agentctl run "$@" --detach) || fail "agentctl run $* --detach failed"
  [[ -n $AGENT_ID ]] || fail "agentctl run $* --detach printed no id"
  on_exit "agentctl stop '$AGENT_ID' >/dev/null 2>&1"
}

# ps_json [--all]: the agents root sees, as JSON.
ps_json() { agentctl ps "$@" --json; }

# agent_field ID FIELD: one field of the agent's object in `ps --all`.
agent_field() { ps_json --all | jq -r --arg id "$1" --arg f "$2" '.[] | select(.id == $id) | .[$f]'; }

# count_running ID: how many entries `ps` lists for that id (exactly 1 when all is well).
count_running() { ps_json | jq --arg id "$1" '[.[] | select(.id == $id)] | length'; }


# start_lsm_only_daemon NAME DIR: a second daemon without Landlock, its state under DIR, so that
# only the BPF LSM (and the agents' namespaces) can refuse. Defines ctl() to talk to it.
start_lsm_only_daemon() {
  local name=$1 dir=$2
  mkdir -p "$dir/policy.d"
  # Type=notify: systemd-run returns once the daemon said READY=1 (or failed).
  systemd-run --quiet --unit="$name" -p Type=notify -p KillMode=mixed \
    /usr/sbin/agentosd --without-landlock --policy-dir "$dir/policy.d" --socket "$dir/sock" \
    --runtime-dir "$dir/run" --state-dir "$dir/state" --cgroup "/$name" --bpf-dir "/sys/fs/bpf/$name" ||
    fail "the second daemon did not start"
  on_exit "systemctl stop $name.service; echo 1 >/sys/fs/cgroup/$name/cgroup.kill; rm -rf /sys/fs/bpf/$name"
  eval "ctl() { agentctl --socket '$dir/sock' \"\$@\"; }"
  ctl doctor | grep -Eq '^bpf-lsm +yes' || fail "BPF LSM is not in force in the second daemon: $(ctl doctor)"
}
