#!/bin/sh
# Installs what agentos needs to build and test, from Debian's packages only.
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  build-essential cmake pkg-config ca-certificates \
  libprotobuf-dev protobuf-compiler libtomlplusplus-dev libcli11-dev nlohmann-json3-dev \
  libsystemd-dev libseccomp-dev libcap-dev libgtest-dev libgmock-dev libbenchmark-dev \
  clang llvm libbpf-dev bpftool \
  python3 passwd util-linux \
  debhelper dpkg-dev fakeroot go-md2man lintian >/dev/null
