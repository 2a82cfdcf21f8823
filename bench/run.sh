#!/usr/bin/env bash
# Builds kidx_bench and kidx_gencorpus (Release, in build-bench/), generates
# the corpora that are not there yet, and benchmarks:
#   1. the shipped corpus/ (built-in queries);
#   2. the synthetic Zipfian corpus at each size of KIDX_SYNTH_MB;
#   3. real text, the kernel documentation of Debian's linux-doc-6.1 split
#      into paragraphs (bench/mkparagraphs.sh), at each fraction of
#      KIDX_REAL_FRACTIONS, with known-item queries;
# each measuring kidx and the peers that were built (SQLite FTS5, Xapian,
# Lucene) on the same documents and queries in the same run, union and AND
# queries, top 10, BM25.  Then a summary: per corpus and size, each
# engine's union and AND median and p99 and kidx's speed-up against it,
# and each engine's growth from the smallest size to the largest.  Last,
# kidx_bench_analyze reports analyzer throughput.
#
# Nothing is installed here: a peer whose library is missing is left out
# with a message; scripts/bench-deps.sh installs them all (Debian).
#
# Environment (all optional):
#   KIDX_SYNTH_MB          synthetic corpus sizes in MiB, space-separated
#                          (default "100"; e.g. "100 1000" for the growth;
#                          "" skips the synthetic corpus)
#   KIDX_SYNTH_DIR         where a single size lives (default
#                          /tmp/kidx-synth-${size}M)
#   KIDX_REAL_FRACTIONS    real-text corpus sizes, as fractions of the
#                          paragraphs (default "0.25 1"; "" to skip)
#   KIDX_REAL_DIR          prefix of the real-text corpora (default
#                          /tmp/kidx-linuxdoc; the fraction is appended)
#   KIDX_NEWS              0 to skip the corpus/ report (default 1)
#   KIDX_BENCH_RUNS        timed passes over each query set (default 5)
#   KIDX_BENCH_INDEX_RUNS  index builds per engine, reported as medians
#                          (default 3; 1 for corpora over 200 MiB)
#   KIDX_BENCH_BUILD       build directory (default <repo>/build-bench)
#   KIDX_BENCH_ARGS        extra arguments for kidx_bench, e.g. --json,
#                          --no-peer, --peers fts5,xapian or --no-variants
#   KIDX_BENCH_SUMMARY     where the summary lines go (default
#                          $build/bench-summary.tsv, emptied first)
#   KIDX_BENCH_ANALYZE_RUNS  timed kidx_analyze() calls per input and
#                          analyzer (default 5; 0 skips the analyzer report)
#   KIDX_BENCH_ANALYZE_ARGS  extra arguments for kidx_bench_analyze, e.g.
#                          --json or --min-mb 64
#   KIDX_BENCH_MEMORY_MB   also index a synthetic corpus of this many MiB
#                          (e.g. 1024) with kidx alone, once, to measure
#                          peak RSS against the RAM budget (default: skip)
#   KIDX_BENCH_RAM_BUDGET  the RAM budget for that run, in MiB (default:
#                          the library's, 64)
#   KIDX_BENCH_JAVA_OPTS   extra JVM options for the Lucene peer
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${KIDX_BENCH_BUILD:-$repo/build-bench}
read -r -a sizes <<<"${KIDX_SYNTH_MB-100}"
read -r -a fractions <<<"${KIDX_REAL_FRACTIONS-0.25 1}"
real_dir=${KIDX_REAL_DIR:-/tmp/kidx-linuxdoc}
runs=${KIDX_BENCH_RUNS:-5}
read -r -a extra <<<"${KIDX_BENCH_ARGS:-}"
analyze_runs=${KIDX_BENCH_ANALYZE_RUNS:-5}
read -r -a analyze_extra <<<"${KIDX_BENCH_ANALYZE_ARGS:-}"
summary=${KIDX_BENCH_SUMMARY:-$build/bench-summary.tsv}

mkdir -p "$build"
cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
  -DKIDX_BUILD_BENCH=ON >"$build/bench-configure.log"
# Which peers are in, and how to get the others.
grep '^-- kidx_bench: ' "$build/bench-configure.log" | sed 's/^-- //' || true
if grep -q -E '^-- kidx_bench: .*(not found|no C\+\+ compiler)' \
  "$build/bench-configure.log"; then
  echo "kidx_bench: to measure the missing peers, install them (Debian:" \
    "scripts/bench-deps.sh, as root) and run this again"
fi
cmake --build "$build" --target kidx_bench kidx_gencorpus kidx_bench_analyze \
  -j 2 >/dev/null
bin=$build/bench
: >"$summary"

# index runs for a corpus of $1 MiB
index_runs_for() {
  if [[ -n ${KIDX_BENCH_INDEX_RUNS:-} ]]; then
    echo "$KIDX_BENCH_INDEX_RUNS"
  elif (($(printf '%.0f' "$1") > 200)); then
    echo 1
  else
    echo 3
  fi
}

# bench SET CORPUS QUERIES MIB: one kidx_bench report, its summary lines
# tagged with SET.
bench() {
  local set=$1 corpus=$2 queries=$3 mib=$4 part
  part=$(mktemp)
  echo
  echo "=== $corpus ($queries) ==="
  uptime
  "$bin/kidx_bench" --runs "$runs" --index-runs "$(index_runs_for "$mib")" \
    --queries "$queries" --summary "$part" ${extra[@]+"${extra[@]}"} "$corpus"
  sed "s/^/$set\t/" "$part" >>"$summary"
  rm -f "$part"
}

if [[ ${KIDX_NEWS:-1} != 0 ]]; then
  echo
  echo "=== corpus/ (built-in queries) ==="
  "$bin/kidx_bench" --runs "$runs" --index-runs "${KIDX_BENCH_INDEX_RUNS:-3}" \
    ${extra[@]+"${extra[@]}"} "$repo/corpus"
fi

# Synthetic corpora.  Generated into a side directory and renamed at the
# end, so an interrupted run never leaves a half-written corpus that looks
# complete.  The queries depend only on the seed, not on the size.
for size in "${sizes[@]}"; do
  if ((${#sizes[@]} == 1)); then
    synth=${KIDX_SYNTH_DIR:-/tmp/kidx-synth-${size}M}
  else
    synth=/tmp/kidx-synth-${size}M
  fi
  queries=$synth.queries
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
  bench zipf "$synth" "$queries" "$size"
done

# Real text: every fraction's corpus, and one query set drawn from the
# smallest (a subset of the others), so every query is a known item in
# every size.
if ((${#fractions[@]} > 0)); then
  have_doc=0
  for d in /usr/share/doc/linux-doc-*/Documentation; do
    [[ -d $d ]] && have_doc=1
  done
  [[ -n ${KIDX_LINUXDOC_DIR:-} ]] && have_doc=1
  if ((have_doc == 0)); then
    echo
    echo "=== real text: skipped (no /usr/share/doc/linux-doc-*; Debian:" \
      "linux-doc-6.1, see scripts/bench-deps.sh) ==="
  else
    smallest=$(printf '%s\n' "${fractions[@]}" | sort -g | head -n 1)
    rq=$real_dir-$smallest.queries
    for frac in "${fractions[@]}"; do
      dir=$real_dir-$frac
      if [[ ! -d $dir ]]; then
        rm -rf "$dir.partial"
        if [[ $frac == "$smallest" ]]; then
          rm -f "$rq.partial"
          KIDX_GENCORPUS=$bin/kidx_gencorpus "$repo/bench/mkparagraphs.sh" \
            "$dir.partial" "$frac" "$rq.partial" 1000
          mv "$rq.partial" "$rq"
        else
          KIDX_GENCORPUS=$bin/kidx_gencorpus "$repo/bench/mkparagraphs.sh" \
            "$dir.partial" "$frac"
        fi
        mv "$dir.partial" "$dir"
      fi
    done
    if [[ ! -f $rq ]]; then
      rm -rf "$rq.tmpdir"
      KIDX_GENCORPUS=$bin/kidx_gencorpus "$repo/bench/mkparagraphs.sh" \
        "$rq.tmpdir" "$smallest" "$rq.partial" 1000
      rm -rf "$rq.tmpdir"
      mv "$rq.partial" "$rq"
    fi
    for frac in "${fractions[@]}"; do
      dir=$real_dir-$frac
      mib=$(du -s --apparent-size --block-size=1M "$dir" | cut -f1)
      bench linux-doc "$dir" "$rq" "$mib"
    done
  fi
fi

if [[ -s $summary ]]; then
  echo
  echo "=== summary ($summary) ==="
  uptime
  awk -f "$repo/bench/summarize.awk" "$summary"
fi

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

if [[ $analyze_runs != 0 ]]; then
  echo
  echo "=== analyzer throughput (kidx_bench_analyze) ==="
  "$bin/kidx_bench_analyze" --runs "$analyze_runs" \
    ${analyze_extra[@]+"${analyze_extra[@]}"}
fi
