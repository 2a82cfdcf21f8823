#!/bin/sh
# Installs, on Debian 12 (bookworm), what bench/run.sh's optional peers and
# its real-text corpus need, when missing:
#   libsqlite3-dev   SQLite FTS5 peer (pkg-config sqlite3)
#   libxapian-dev    Xapian peer (pkg-config xapian-core)
#   liblucene8-java  Lucene peer (/usr/share/java/lucene-core.jar, ...)
#   a JDK            javac for the Lucene driver (default-jdk-headless)
#   linux-doc-6.1    the real-text corpus (/usr/share/doc/linux-doc-6.1)
# Idempotent: runs apt-get update only when something is missing, and
# prints what it installs.  Usage: scripts/bench-deps.sh [--dry-run]
set -eu
dry=0
[ "${1:-}" = "--dry-run" ] && dry=1

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"
}

need=""
for p in pkg-config libsqlite3-dev libxapian-dev liblucene8-java; do
  installed "$p" || need="$need $p"
done
command -v javac >/dev/null 2>&1 || need="$need default-jdk-headless"
# The linux-doc package of the running Debian release: linux-doc-6.1 on
# bookworm.  The metapackage linux-doc pulls in the current one elsewhere.
doc=""
for d in /usr/share/doc/linux-doc-*/; do
  [ -d "$d" ] && doc=$d
done
if [ -z "$doc" ]; then
  if apt-cache show linux-doc-6.1 >/dev/null 2>&1; then
    need="$need linux-doc-6.1"
  else
    need="$need linux-doc"
  fi
fi

if [ -z "$need" ]; then
  echo "bench-deps: everything is installed"
  exit 0
fi
echo "bench-deps: installing:$need"
[ "$dry" -eq 1 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "bench-deps: no apt-get; please install:$need" >&2
  exit 1
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
  --no-install-recommends $need >/dev/null
echo "bench-deps: installed:$need"
