#!/usr/bin/env bash
# Builds (once) Quagga 1.2.4's libzebra and bgpd from the tarball in ../shared/third_party, for
# the Quagga interop tests. The build is cached in a directory keyed by the tarball's SHA-256 and
# the build recipe's revision ($recipe): a stamp file marks a finished build, so later runs (and
# later CI jobs on the same machine) return at once, and a changed recipe builds afresh.
#
#   scripts/quagga-build.sh [PREFIX]   (PREFIX defaults to $MIDONET_BGP_QUAGGA_PREFIX or
#                                       /var/cache/midonet-bgp/quagga-1.2.4-<sha256 prefix>-<recipe>)
#
# The tarball is $MIDONET_BGP_QUAGGA_TARBALL or ../shared/third_party/quagga-1.2.4.tar.gz
# relative to the repository (or to the main checkout of a git worktree). Prints the prefix on success; bgpd is PREFIX/sbin/bgpd.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
# In a git worktree the repository's ../shared is beside the main checkout (the common git dir's
# parent), so that is tried second.
tarball="${MIDONET_BGP_QUAGGA_TARBALL:-}"
if [ -z "$tarball" ]; then
  for base in "$repo" "$(cd "$repo" && cd "$(git rev-parse --git-common-dir 2>/dev/null || echo .)/.." 2>/dev/null && pwd)"; do
    tarball="$base/../shared/third_party/quagga-1.2.4.tar.gz"
    [ -f "$tarball" ] && break
  done
fi
# The pinned release (../shared/third_party/README.md): a different file is refused, not built.
want_sha=936e8cafd426f3013b4765b193129be8a7b78eda7134e9112237997172eb54b7
# Bumped whenever the configure flags change (r2: --enable-multipath=64, for ECMP).
recipe=r2

if [ ! -f "$tarball" ]; then
  echo "quagga-build: tarball not found: $tarball" >&2
  exit 1
fi
sha="$(sha256sum "$tarball" | cut -d' ' -f1)"
if [ "$sha" != "$want_sha" ]; then
  echo "quagga-build: $tarball has SHA-256 $sha, expected $want_sha (Quagga 1.2.4)" >&2
  exit 1
fi
prefix="${1:-${MIDONET_BGP_QUAGGA_PREFIX:-/var/cache/midonet-bgp/quagga-1.2.4-${sha:0:16}-$recipe}}"
stamp="$prefix/.midonet-bgp-quagga-ready"

if [ -f "$stamp" ] && [ -x "$prefix/sbin/bgpd" ]; then
  echo "$prefix"
  exit 0
fi
for tool in autoreconf automake libtoolize gawk pkg-config make cc; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "quagga-build: $tool not installed (scripts/install-deps.sh installs it)" >&2
    exit 1
  }
done

mkdir -p "$(dirname "$prefix")"
# One builder at a time (tests and CI jobs may ask concurrently).
exec 9>"$prefix.lock"
flock 9
if [ -f "$stamp" ] && [ -x "$prefix/sbin/bgpd" ]; then
  echo "$prefix"
  exit 0
fi

work="$prefix.build"
log="$prefix.log"
rm -rf "$work" "$prefix"
mkdir -p "$work"
start=$(date +%s)
fail() {
  echo "quagga-build: $1 failed; last lines of $log:" >&2
  tail -n 30 "$log" >&2
  exit 1
}
echo "quagga-build: building Quagga 1.2.4 into $prefix (log: $log)" >&2
: >"$log"
tar -xzf "$tarball" -C "$work" >>"$log" 2>&1 || fail "unpacking"
src="$work/quagga-1.2.4"
# A git snapshot, not a `make dist` tarball: configure is generated first.
(cd "$src" && ./bootstrap.sh) >>"$log" 2>&1 || fail "bootstrap.sh"
# -fcommon: GCC >= 10 otherwise fails to link libzebra (multiple definition of `__packed').
# --enable-multipath=64: without it bgpd has no `maximum-paths` command (no ECMP).
(cd "$src" && ./configure --prefix="$prefix" --disable-doc \
  --enable-user=root --enable-group=root \
  --disable-ospfd --disable-ospf6d --disable-ripd --disable-ripngd \
  --disable-isisd --disable-pimd --disable-nhrpd --disable-watchquagga \
  --disable-vtysh --enable-multipath=64 CFLAGS='-g -O2 -fcommon') >>"$log" 2>&1 || fail "configure"
jobs="$(nproc 2>/dev/null || echo 2)"
(cd "$src" && make -j"$jobs" -C lib && make -j"$jobs" -C bgpd) >>"$log" 2>&1 || fail "make"
(cd "$src" && make -C lib install && make -C bgpd install) >>"$log" 2>&1 || fail "make install"
version="$("$prefix/sbin/bgpd" --version 2>/dev/null | head -n 1)"
case "$version" in
  "bgpd version 1.2.4"*) ;;
  *) echo "quagga-build: built bgpd prints '$version', expected 'bgpd version 1.2.4'" >&2; exit 1 ;;
esac
rm -rf "$work"
echo "quagga-build: $version ($(($(date +%s) - start)) s)" >&2
echo "$version" >"$stamp"
echo "$prefix"
