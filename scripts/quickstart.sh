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
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
  -DKIDX_BUILD_BENCH=OFF >/dev/null
cmake --build build --target kidx_cli -j "$(nproc 2>/dev/null || echo 2)" \
  >/dev/null
[ -e .kidx/MANIFEST ] || build/kidx index corpus/
if [ $# -eq 0 ]; then
  set -- "transparency centre"
fi
exec build/kidx search "$@"
