#!/bin/bash
# Builds from scratch and runs every test tier: unit tests, the privileged integration tests
# against a real agentosd on this kernel, the same again against an ASan/UBSan build of the daemon
# and CLI, and the VM tier (a real systemd and BPF LSM under qemu). See tests/vm/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
build=${AGENTOS_TEST_BUILD:-build-test}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAGENTOS_WERROR=ON -DAGENTOS_FAULT_INJECTION=ON >/dev/null
cmake --build "$build" -j"$(nproc)"

# Sanitizers: any ASan or UBSan report aborts the daemon or CLI, and so fails a test.
asan=$build-asan
cmake -S . -B "$asan" -DCMAKE_BUILD_TYPE=Debug -DAGENTOS_SANITIZE=ON -DAGENTOS_WERROR=ON -DAGENTOS_FAULT_INJECTION=ON >/dev/null
cmake --build "$asan" -j"$(nproc)"
export ASAN_OPTIONS=detect_leaks=0:halt_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 AGENTOS_SANITIZED=1
ctest --test-dir "$asan" -L unit --output-on-failure
# The probe runs inside sandboxes, where a sanitizer's own ptrace use is refused: use the plain one.
(cd tests/integration && AGENTOS_BUILD="$PWD/../../$asan" AGENTOS_PROBE="$PWD/../../$build/tests/cases/agentos-probe" \
  python3 -m unittest test_accounts test_agent_bounds test_bounds test_broker test_broker_proto test_clients test_completion test_confinement test_console test_daemon test_devices test_egress test_egress_bodies test_egress_host test_egress_loopback test_egress_routes test_file_kinds test_grant_objects test_here test_mcp_servers test_network test_programs test_retention)
unset ASAN_OPTIONS UBSAN_OPTIONS AGENTOS_SANITIZED

ctest --test-dir "$build" --output-on-failure
