#!/usr/bin/env bash
# Builds kidx_bench and kidx_gencorpus (Release, in build-bench/), generates
# the synthetic corpus if it is not there yet, and benchmarks the shipped
# corpus/ and the synthetic corpus, printing both reports.  When CMake finds
# sqlite3 (pkg-config), each report also measures SQLite FTS5 on the same
# documents and queries in the same run and prints kidx/FTS5 ratios.
# Last, kidx_bench_analyze reports analyzer throughput (MB/s, tokens/s) on
# English prose and on a mixed-script text.
#
# Environment (all optional):
#   KIDX_SYNTH_MB          synthetic corpus size in MiB (default 100)
#   KIDX_SYNTH_DIR         where it lives (default /tmp/kidx-synth-${KIDX_SYNTH_MB}M)
#   KIDX_BENCH_RUNS        timed passes over each query set (default 5)
#   KIDX_BENCH_INDEX_RUNS  index builds per engine, reported as medians
#                          (default 3)
#   KIDX_BENCH_BUILD       build directory (default <repo>/build-bench)
#   KIDX_BENCH_ARGS        extra arguments for kidx_bench, e.g. --json or
#                          --no-peer (kidx alone)
#   KIDX_BENCH_ANALYZE_RUNS  timed kidx_analyze() calls per input and
#                          analyzer (default 5)
#   KIDX_BENCH_ANALYZE_ARGS  extra arguments for kidx_bench_analyze, e.g.
#                          --json or --min-mb 64
#   KIDX_BENCH_MEMORY_MB   also index a synthetic corpus of this many MiB
#                          (e.g. 1024) with kidx alone, once, to measure
#                          peak RSS against the RAM budget (default: skip)
#   KIDX_BENCH_RAM_BUDGET  the RAM budget for that run, in MiB (default:
#                          the library's, 64)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${KIDX_BENCH_BUILD:-$repo/build-bench}
size=${KIDX_SYNTH_MB:-100}
synth=${KIDX_SYNTH_DIR:-/tmp/kidx-synth-${size}M}
queries=$synth.queries
runs=${KIDX_BENCH_RUNS:-5}
index_runs=${KIDX_BENCH_INDEX_RUNS:-3}
read -r -a extra <<<"${KIDX_BENCH_ARGS:-}"
analyze_runs=${KIDX_BENCH_ANALYZE_RUNS:-5}
read -r -a analyze_extra <<<"${KIDX_BENCH_ANALYZE_ARGS:-}"

cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
  -DKIDX_BUILD_BENCH=ON >/dev/null
cmake --build "$build" --target kidx_bench kidx_gencorpus kidx_bench_analyze \
  -j 2 >/dev/null
bin=$build/bench

# Generate into a side directory and rename at the end, so an interrupted
# run never leaves a half-written corpus that looks complete.  The queries
# depend only on the seed, so they can be made on their own later.
if [[ ! -d $synth ]]; then
  rm -rf "$synth.partial" "$queries.partial"
  "$bin/kidx_gencorpus" --out "$synth.partial" --size "$size" \
    --queries "$queries.partial" --nqueries 1000
  mv "$queries.partial" "$queries"
  mv "$synth.partial" "$synth"
elif [[ ! -f $queries ]]; then
  "$bin/kidx_gencorpus" --queries "$queries.partial" --nqueries 1000
  mv "$queries.partial" "$queries"
fi

echo "=== corpus/ (built-in queries) ==="
"$bin/kidx_bench" --runs "$runs" --index-runs "$index_runs" \
  ${extra[@]+"${extra[@]}"} "$repo/corpus"
echo
echo "=== $synth ($queries) ==="
"$bin/kidx_bench" --runs "$runs" --index-runs "$index_runs" \
  --queries "$queries" ${extra[@]+"${extra[@]}"} "$synth"
mem_mb=${KIDX_BENCH_MEMORY_MB:-}
if [[ -n $mem_mb ]]; then
  mem=/tmp/kidx-synth-${mem_mb}M
  if [[ ! -d $mem ]]; then
    rm -rf "$mem.partial" "$mem.queries.partial"
    "$bin/kidx_gencorpus" --out "$mem.partial" --size "$mem_mb" \
      --queries "$mem.queries.partial" --nqueries 200
    mv "$mem.queries.partial" "$mem.queries"
    mv "$mem.partial" "$mem"
  fi
  budget=()
  [[ -n ${KIDX_BENCH_RAM_BUDGET:-} ]] &&
    budget=(--ram-budget "$KIDX_BENCH_RAM_BUDGET")
  echo
  echo "=== $mem: memory bound (kidx alone, one build) ==="
  "$bin/kidx_bench" --no-peer --index-runs 1 --runs 1 \
    --queries "$mem.queries" ${budget[@]+"${budget[@]}"} "$mem"
fi

echo
echo "=== analyzer throughput (kidx_bench_analyze) ==="
"$bin/kidx_bench_analyze" --runs "$analyze_runs" \
  ${analyze_extra[@]+"${analyze_extra[@]}"}
