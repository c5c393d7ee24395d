#!/bin/sh
# Installs what agentos needs to build and test, from Debian's packages only.
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Installing nginx runs its init script, which starts a system nginx on port 80 where no systemd
# manages services. A policy-rc.d that exits 101 tells invoke-rc.d to start nothing. Docker images
# ship one already: add ours only if there is none, and remove only ours.
policy_rc=/usr/sbin/policy-rc.d
if [ ! -e "$policy_rc" ]; then
  trap 'rm -f "$policy_rc"' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  printf '#!/bin/sh\nexit 101\n' >"$policy_rc"
  chmod 0755 "$policy_rc"
fi
apt-get install -y -qq --no-install-recommends \
  build-essential cmake pkg-config ca-certificates \
  libprotobuf-dev protobuf-compiler libtomlplusplus-dev libcli11-dev nlohmann-json3-dev \
  libsystemd-dev libseccomp-dev libcap-dev libgtest-dev libgmock-dev libbenchmark-dev \
  libhttp-parser-dev libc-ares-dev libssl-dev libcurl4-openssl-dev libxml2-dev libical-dev libgmime-3.0-dev \
  clang llvm libbpf-dev bpftool \
  python3 passwd util-linux \
  nginx dnsmasq-base openssl curl iproute2 radicale dovecot-imapd python3-aiosmtpd python3-protobuf python3-requests python3-httpx nodejs tmux vim zsh fish fcgiwrap git \
  debhelper dpkg-dev fakeroot go-md2man lintian >/dev/null

# The JavaScript clients the tests drive in agents, pinned by tests/clients/package-lock.json
# (the image's nodejs carries npm; Debian's npm package is the fallback). Their install scripts
# do not run; Claude Code's, which only links its native binary from the pinned optional
# dependency, is run by name.
command -v npm >/dev/null || apt-get install -y -qq --no-install-recommends npm >/dev/null
clients="$(dirname "$0")/../tests/clients"
npm ci --prefix "$clients" --ignore-scripts --no-audit --no-fund --loglevel=error
node "$clients/node_modules/@anthropic-ai/claude-code/install.cjs" >/dev/null
