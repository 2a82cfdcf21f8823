#!/usr/bin/env bash
# Makes the real-text corpus for kidx_bench: the kernel documentation that
# Debian ships in linux-doc-6.1 (reStructuredText and plain text, gzipped),
# split into paragraphs, one document per paragraph, titled by its section
# heading; and known-item queries of 3-5 words drawn from those paragraphs.
#
#   bench/mkparagraphs.sh OUT_DIR [FRACTION [QUERIES_FILE [NQUERIES]]]
#
# FRACTION (default 1) keeps each paragraph with that probability; the draw
# depends on the seed only, so the corpus for 0.25 is a subset of the one
# for 1, and queries drawn from the smaller corpus are known items in both.
# The work is done by kidx_gencorpus --paragraphs (deterministic).
#
# Environment: KIDX_LINUXDOC_DIR (default: the Documentation directory of
# the newest /usr/share/doc/linux-doc-*), KIDX_GENCORPUS (default
# build-bench/bench/kidx_gencorpus), KIDX_SEED (default 42).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:?usage: mkparagraphs.sh OUT_DIR [FRACTION [QUERIES_FILE [NQUERIES]]]}
fraction=${2:-1}
qfile=${3:-}
nq=${4:-1000}
gen=${KIDX_GENCORPUS:-$repo/build-bench/bench/kidx_gencorpus}
src=${KIDX_LINUXDOC_DIR:-}
if [[ -z $src ]]; then
  for d in /usr/share/doc/linux-doc-*/Documentation; do
    [[ -d $d ]] && src=$d
  done
fi
if [[ -z $src || ! -d $src ]]; then
  echo "mkparagraphs.sh: no linux-doc documentation found (Debian:" \
    "linux-doc-6.1; scripts/bench-deps.sh installs it)" >&2
  exit 1
fi

args=(--paragraphs --fraction "$fraction" --seed "${KIDX_SEED:-42}" --out "$out")
[[ -n $qfile ]] && args+=(--queries "$qfile" --nqueries "$nq")

# Every text file in byte order of its path, each introduced by a line
# "\036PATH" (the record separator, which does not occur in the texts).
find "$src" -type f \( -name '*.rst.gz' -o -name '*.txt.gz' -o -name '*.rst' \
  -o -name '*.txt' \) -print0 | LC_ALL=C sort -z |
  while IFS= read -r -d '' f; do
    rel=${f#"$src"/}
    printf '\036%s\n' "${rel%.gz}"
    case $f in
      *.gz) gzip -dc -- "$f" ;;
      *) cat -- "$f" ;;
    esac
    echo
  done | "$gen" "${args[@]}"
