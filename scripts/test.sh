#!/usr/bin/env bash
# The whole test suite, as CI runs it: set-up, a normal build and its tests, then the same suite
# under AddressSanitizer + UndefinedBehaviorSanitizer (tests labelled "slow" excepted there: the
# large-model oracles run once, in the normal build), then libmtrt's thread tests under
# ThreadSanitizer (only the library, test_bundle_threads and test_cpu_pool are built there). GPU tests skip with
# a reason on machines without a GPU.
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

echo "== libmtrt threads under ThreadSanitizer"
cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMTCC_WERROR=ON -DMTCC_TSAN=ON \
      -DMTCC_PYTHON="$PWD/.venv/bin/python3" >/dev/null
cmake --build build-tsan -j "$jobs" --target test_bundle_threads test_cpu_pool
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 build-tsan/tests/test_bundle_threads
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 build-tsan/tests/test_cpu_pool
