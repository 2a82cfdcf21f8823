#!/bin/sh
# Builds kidx (Release, in build/), indexes the bundled corpus/ into .kidx
# unless an index is already there, and runs a search:
#   scripts/quickstart.sh                 # searches "transparency centre"
#   scripts/quickstart.sh Best Buy        # any other query
set -eu
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
[ -e .kidx/index.kidx ] || build/kidx index corpus/
if [ $# -eq 0 ]; then
  set -- "transparency centre"
fi
exec build/kidx search "$@"
