#!/usr/bin/env bash
# Installs Debian packages with apt-get, quietly and without prompts: `apt-install.sh PKG...`.
# A machine whose last dpkg run was cut off refuses every install ("dpkg was interrupted, you
# must manually run 'dpkg --configure -a'"); CI images can arrive that way, so this finishes the
# interrupted run and tries once more before giving up. Needs root; exits non-zero on failure.
set -uo pipefail
[ $# -gt 0 ] || { echo "usage: apt-install.sh PACKAGE..." >&2; exit 2; }
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "apt-install: cannot install $*: needs root and apt-get" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
install() {
  apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
install "$@" && exit 0
echo "apt-install: apt-get failed; finishing any interrupted dpkg run and trying again" >&2
dpkg --configure -a >/dev/null 2>&1 || true
apt-get install -f -y -qq >/dev/null 2>&1 || true
install "$@"
