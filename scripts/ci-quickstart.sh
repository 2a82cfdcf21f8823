#!/bin/sh
# CI step: proves the README's quick start on what a bare Debian 12 machine
# has.  .ci/run runs it first, before scripts/test.sh installs the Check
# framework, so on a fresh CI machine the test dependencies are absent for
# real; here they are hidden as well (pkg-config finds no .pc file, and a
# pkg-config first on PATH always fails), so the step also proves it on a
# machine that has them.  It:
#   1. clones the committed tree into a temporary directory and runs
#      `scripts/quickstart.sh` there exactly as the README says, checking
#      that it prints the ranked answer (the 2024 article first) and that it
#      built neither tests nor benchmarks;
#   2. configures and builds that clone the plain CMake way
#      (`cmake -S . -B build-plain && cmake --build build-plain`), which must
#      work without Check too: the tests are left out with a notice;
#   3. installs the quick start's build into a temporary prefix, as the
#      README's `cmake --install build` does.
# Prints how long the quick start took.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kidx-quickstart.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
fail() {
  echo "ci-quickstart: $*" >&2
  exit 1
}
git clone -q "$src" "$tmp/kidx"
mkdir "$tmp/bin"
printf '#!/bin/sh\necho "pkg-config is hidden by ci-quickstart.sh" >&2\nexit 1\n' \
  >"$tmp/bin/pkg-config"
chmod +x "$tmp/bin/pkg-config"
hidden() {
  env -u PKG_CONFIG_PATH PKG_CONFIG_LIBDIR=/nonexistent PATH="$tmp/bin:$PATH" \
    "$@"
}

start=$(date +%s)
out=$(cd "$tmp/kidx" && hidden scripts/quickstart.sh "transparency centre" 2>&1) ||
  {
    printf '%s\n' "$out" >&2
    fail "scripts/quickstart.sh failed"
  }
end=$(date +%s)
printf '%s\n' "$out"
# The ranked answer: hit 1 is the 2024 article, and a count line follows.
first=$(printf '%s\n' "$out" | grep -E '^ +1 ' | head -n 1)
case "$first" in
*corpus/2024-kaspersky-winds-down-us-operations.txt*) ;;
*) fail "hit 1 is not the 2024 article: '$first'" ;;
esac
printf '%s\n' "$out" | grep -Eq '^[0-9]+ of [0-9]+ matching documents?$' ||
  fail "no 'N of M matching documents' line"
# Only the libraries and the tool were configured and built.
grep -q '^BUILD_TESTING:BOOL=OFF$' "$tmp/kidx/build/CMakeCache.txt" ||
  fail "the quick start configured the tests"
[ ! -e "$tmp/kidx/build/tests" ] && [ ! -e "$tmp/kidx/build/bench" ] ||
  fail "the quick start built tests or benchmarks"

# A plain configure without Check leaves the tests out with a notice.
plain=$(cd "$tmp/kidx" && hidden cmake -S . -B build-plain 2>&1) || {
  printf '%s\n' "$plain" >&2
  fail "plain 'cmake -S . -B build-plain' failed without Check"
}
printf '%s\n' "$plain" | grep -q 'Check not found: the tests are not built' ||
  fail "plain configure without Check did not say the tests are left out"
(cd "$tmp/kidx" && hidden cmake --build build-plain -j 2 >/dev/null) ||
  fail "plain build without Check failed"

# `cmake --install build` works on the quick start's build.
(cd "$tmp/kidx" && cmake --install build --prefix "$tmp/prefix" >/dev/null) ||
  fail "cmake --install build failed after the quick start"
[ -x "$tmp/prefix/bin/kidx" ] || fail "no bin/kidx installed"

echo "ci-quickstart: ok, quick start took $((end - start)) s on a fresh clone"
