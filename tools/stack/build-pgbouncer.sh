#!/usr/bin/env bash
# Builds PgBouncer from Debian trixie's source package (a current 1.2x; Debian 12 ships 1.18) into
# a cache directory, once: prints the binary's path. Used by .ci/run's version matrix through
# PGPOOL_PGBOUNCER_BIN (tools/stack/binaries.ts). Needs root and apt (Debian/Ubuntu).
#   tools/stack/build-pgbouncer.sh [version] [debian-revision]
set -euo pipefail
version=${1:-1.24.1}
revision=${2:-1+deb13u2}
cache=${PGPOOL_CACHE_DIR:-$HOME/.cache/pgpool}/pgbouncer-$version
bin=$cache/pgbouncer
# The stack runs PgBouncer as the postgres user when started by root, and /root is not readable
# by it: the cached binary is copied to a world-readable place, which is the path printed.
installed=${PGPOOL_PGBOUNCER_INSTALL_DIR:-/usr/local/lib/pgpool}/pgbouncer-$version/pgbouncer
publish() {
  install -D -m 0755 "$bin" "$installed"
  chmod 0755 "$(dirname "$installed")" "$(dirname "$(dirname "$installed")")"
  echo "$installed"
}
if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "PgBouncer $version"; then publish; exit 0; fi

work=$(mktemp -d)
src_list=/etc/apt/sources.list.d/pgpool-trixie-src.sources
cleanup() { rm -rf "$work"; rm -f "$src_list"; }
trap cleanup EXIT
# The mirror already in apt's sources (deb822 `URIs:` or a classic `deb` line), for a temporary deb-src entry of trixie.
mirror=$( (cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null || true) |
  sed -nE 's/^URIs:[[:space:]]*([^[:space:]]+).*/\1/p; s/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+).*/\2/p' | grep -v security | grep debian | head -1 || true)
mirror=${mirror:-http://deb.debian.org/debian}
printf 'Types: deb-src\nURIs: %s\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$mirror" >"$src_list"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2 || { echo "apt-get update failed" >&2; exit 1; }
# --no-upgrade: without it apt would upgrade the system's OpenSSL to satisfy the -dev packages.
apt-get install -y -qq --no-upgrade libevent-dev libc-ares-dev libssl-dev pkg-config dpkg-dev build-essential >&2
cd "$work"
apt-get source --download-only "pgbouncer=$version-$revision" >&2
dpkg-source -x pgbouncer_*.dsc src >&2
cd src
./configure --prefix="$cache" --with-cares --without-systemd --without-pam >&2
make -j"$(nproc)" >&2
mkdir -p "$cache"
cp pgbouncer "$bin"
rm -f "$src_list"
apt-get update -qq >&2 || true
"$bin" --version >&2
publish
