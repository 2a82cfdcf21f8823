#!/bin/sh
# Builds kidx (Release, in build/), indexes the bundled corpus/ into .kidx
# unless an index is already there, and runs a search:
#   scripts/quickstart.sh                 # searches "transparency centre"
#   scripts/quickstart.sh Best Buy        # any other query
# It needs a C compiler, make and CMake (installed with apt-get when
# missing) and nothing else: only the library and the tool are configured
# and built, not the tests (which need Check) nor the benchmarks.
set -eu
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
# Every setting explicit: build/ is also where scripts/test.sh builds with
# tests and warnings as errors.  The default target is then the shared and
# static libraries and the tool, what `cmake --install build` installs.
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
  -DKIDX_BUILD_BENCH=OFF -DKIDX_WERROR=OFF -DKIDX_REQUIRE_TESTS=OFF \
  -DKIDX_SANITIZE=OFF >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
[ -e .kidx/MANIFEST ] || build/kidx index corpus/
if [ $# -eq 0 ]; then
  set -- "transparency centre"
fi
exec build/kidx search "$@"
