#!/bin/sh
# Installs, on Debian/Ubuntu, what building kidx needs when it is missing:
# a C compiler, make and CMake; with --tests also pkg-config and the Check
# framework.  Does nothing when everything is present.
set -eu
need=""
command -v cc >/dev/null 2>&1 || need="$need gcc libc6-dev"
command -v make >/dev/null 2>&1 || need="$need make"
command -v cmake >/dev/null 2>&1 || need="$need cmake"
if [ "${1:-}" = "--tests" ]; then
  command -v pkg-config >/dev/null 2>&1 || need="$need pkg-config"
  pkg-config --exists check 2>/dev/null || need="$need check"
fi
[ -z "$need" ] && exit 0
echo "kidx: installing:$need" >&2
if ! command -v apt-get >/dev/null 2>&1; then
  echo "kidx: please install:$need" >&2
  exit 1
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
