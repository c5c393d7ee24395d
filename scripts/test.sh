#!/bin/bash
# Builds from scratch into ./build-test and runs every test tier that exists: unit tests, then the
# privileged integration tests against a real agentosd (as root). See tests/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
build=${AGENTOS_TEST_BUILD:-build-test}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)"
ctest --test-dir "$build" --output-on-failure
