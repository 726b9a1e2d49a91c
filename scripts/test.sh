#!/usr/bin/env bash
# The whole test suite, as CI runs it: set-up, a normal build and its tests, then the same suite
# under AddressSanitizer + UndefinedBehaviorSanitizer (tests labelled "slow" excepted there: the
# large-model oracles run once, in the normal build). GPU tests skip with a reason on machines
# without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
jobs=$(nproc)

echo "== build (RelWithDebInfo, -Werror)"
scripts/build.sh build
echo "== tests"
(cd build && ctest --output-on-failure -j "$jobs" --timeout 900)

echo "== build (ASan + UBSan)"
scripts/build.sh build-asan -DMTCC_SANITIZE=ON
echo "== tests under ASan + UBSan"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest --output-on-failure -j "$jobs" --timeout 1800 -LE slow)
