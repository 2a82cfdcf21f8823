#!/bin/sh
# CI step: proves the README's quick start on what a bare Debian 12 machine
# has.  Clones the committed tree into a temporary directory, hides the test
# dependencies (pkg-config finds no .pc file, so no Check; a pkg-config on
# PATH that always fails), runs `scripts/quickstart.sh` there exactly as the
# README says, and checks that it prints the ranked answer: the 2024 article
# first.  Prints how long the quick start took.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kidx-quickstart.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
git clone -q "$src" "$tmp/kidx"
mkdir "$tmp/bin"
printf '#!/bin/sh\necho "pkg-config is hidden by ci-quickstart.sh" >&2\nexit 1\n' \
  >"$tmp/bin/pkg-config"
chmod +x "$tmp/bin/pkg-config"
start=$(date +%s)
out=$(cd "$tmp/kidx" && env -u PKG_CONFIG_PATH PKG_CONFIG_LIBDIR=/nonexistent \
  PATH="$tmp/bin:$PATH" scripts/quickstart.sh "transparency centre" 2>&1) || {
  printf '%s\n' "$out" >&2
  echo "ci-quickstart: scripts/quickstart.sh failed" >&2
  exit 1
}
end=$(date +%s)
printf '%s\n' "$out"
# The ranked answer: hit 1 is the 2024 article, and a count line follows.
first=$(printf '%s\n' "$out" | grep -E '^ +1 ' | head -n 1)
case "$first" in
*corpus/2024-kaspersky-winds-down-us-operations.txt*) ;;
*)
  echo "ci-quickstart: hit 1 is not the 2024 article: '$first'" >&2
  exit 1
  ;;
esac
printf '%s\n' "$out" | grep -Eq '^[0-9]+ of [0-9]+ matching documents?$' || {
  echo "ci-quickstart: no 'N of M matching documents' line" >&2
  exit 1
}
# Only the library and the tool were built: no test or benchmark program.
if ls "$tmp/kidx/build" | grep -Eq '^(check_|kidx_bench)'; then
  echo "ci-quickstart: the quick start built tests or benchmarks" >&2
  exit 1
fi
echo "ci-quickstart: ok, quick start took $((end - start)) s on a fresh clone"
