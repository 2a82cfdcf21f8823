#!/bin/sh
# Installs what the tests need when it is missing (Debian/Ubuntu: the Check
# framework and pkg-config), configures with warnings as errors, builds, and
# runs every test.  Usage:
#   scripts/test.sh              # build/ : RelWithDebInfo, -Werror; and
#                                # build-release/ : the quick start's Release
#                                # build of the library and tool, -Werror
#   scripts/test.sh --sanitize   # build-asan/ : the same under ASan + UBSan
set -eu
cd "$(dirname "$0")/.."

scripts/ensure-deps.sh --tests

build=build
extra="-DCMAKE_BUILD_TYPE=RelWithDebInfo"
if [ "${1:-}" = "--sanitize" ]; then
  build=build-asan
  extra="-DKIDX_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug"
  # Leak checking stays on; abort on the first UBSan report.
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
fi
jobs=$(nproc 2>/dev/null || echo 2)
# Every setting explicit: build/ is also the quick start's directory, which
# configures it without tests or benchmarks.
# shellcheck disable=SC2086
cmake -S . -B "$build" -DKIDX_WERROR=ON -DKIDX_REQUIRE_TESTS=ON \
  -DBUILD_TESTING=ON -DKIDX_BUILD_BENCH=ON $extra
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" --output-on-failure --no-tests=error -j "$jobs"
if [ "${1:-}" != "--sanitize" ]; then
  # The quick start builds Release (-O3), where GCC finds warnings that
  # -O2 does not (-Wmaybe-uninitialized): build it too, warnings as errors.
  cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DKIDX_WERROR=ON \
    -DBUILD_TESTING=OFF -DKIDX_BUILD_BENCH=OFF >/dev/null
  cmake --build build-release -j "$jobs"
fi
