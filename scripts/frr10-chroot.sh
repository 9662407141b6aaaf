#!/usr/bin/env bash
# Builds (once) a Debian 13 (trixie) chroot with Debian's frr package (FRR 10.3), for the FRR 10
# interop tests. The chroot is cached: a stamp file marks a finished build, so later runs (and
# later CI jobs on the same machine) return at once.
#
#   scripts/frr10-chroot.sh [DIR]     (as root; DIR defaults to $MIDONET_BGP_FRR10_CHROOT or
#                                      /var/cache/midonet-bgp/frr10-trixie)
#
# The Debian archive is the main one named in this machine's apt sources (never a hard-coded
# host). Prints the chroot directory on success.
set -euo pipefail

dir="${1:-${MIDONET_BGP_FRR10_CHROOT:-/var/cache/midonet-bgp/frr10-trixie}}"
stamp="$dir/.midonet-bgp-frr10-ready"
suite=trixie

if [ -f "$stamp" ] && [ -x "$dir/usr/lib/frr/bgpd" ]; then
  echo "$dir"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "frr10-chroot: building $dir needs root" >&2
  exit 1
fi
command -v debootstrap >/dev/null 2>&1 || {
  echo "frr10-chroot: debootstrap not installed (scripts/install-deps.sh installs it)" >&2
  exit 1
}

# The main Debian archive URI from the apt sources: the first `deb` entry (one-line `.list` or
# deb822 `.sources`) whose suite is this machine's own release codename (e.g. bookworm), which
# leaves out -security/-updates and third-party repositories.
codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
archive_uri() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk -v want="$codename" '
      $1 == "deb" {
        i = 2
        if ($i ~ /^\[/) { while ($i !~ /\]$/ && i < NF) i++; i++ }
        if ($i ~ /^https?:\/\// && $(i + 1) == want) { print $i; exit }
      }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    # One stanza per paragraph; print the first URI of a `deb` stanza listing the codename.
    awk -v want="$codename" '
      function flush() {
        if (types ~ /(^| )deb( |$)/ && match_suite && uri != "") { print uri; done = 1; exit }
        types = ""; uri = ""; match_suite = 0
      }
      /^[[:space:]]*$/ { flush(); next }
      /^[[:space:]]*#/ { next }
      tolower($1) == "types:" { types = $0; sub(/^[^:]*:[[:space:]]*/, "", types) }
      tolower($1) == "uris:" { uri = $2 }
      tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == want) match_suite = 1 }
      END { if (!done) flush() }' "$f"
  done
}

uri="$(archive_uri | head -n 1)"
if [ -z "$uri" ]; then
  echo "frr10-chroot: no Debian archive for '$codename' in /etc/apt/sources.list{,.d/*.sources,.d/*.list}" >&2
  exit 1
fi

mkdir -p "$(dirname "$dir")"
# One builder at a time (tests and CI jobs may ask concurrently).
exec 9>"$dir.lock"
flock 9
if [ -f "$stamp" ] && [ -x "$dir/usr/lib/frr/bgpd" ]; then
  echo "$dir"
  exit 0
fi

work="$dir.build"
rm -rf "$work"
echo "frr10-chroot: debootstrap $suite from $uri into $work" >&2
start=$(date +%s)
if ! debootstrap --variant=minbase "$suite" "$work" "$uri" >"$work.log" 2>&1; then
  echo "frr10-chroot: debootstrap failed; last lines of $work.log:" >&2
  tail -n 20 "$work.log" >&2
  exit 1
fi
# Keep package scripts from starting services inside the chroot.
printf '#!/bin/sh\nexit 101\n' >"$work/usr/sbin/policy-rc.d"
chmod 0755 "$work/usr/sbin/policy-rc.d"
cp -L /etc/resolv.conf "$work/etc/resolv.conf" 2>/dev/null || true
if ! chroot "$work" /usr/bin/env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -q --no-install-recommends frr >>"$work.log" 2>&1; then
  echo "frr10-chroot: apt-get install frr failed; last lines of $work.log:" >&2
  tail -n 20 "$work.log" >&2
  exit 1
fi
chroot "$work" apt-get clean >/dev/null 2>&1 || true
version="$(chroot "$work" /usr/lib/frr/bgpd --version 2>/dev/null | head -n 1)"
echo "frr10-chroot: $version ($(($(date +%s) - start)) s)" >&2
rm -rf "$dir"
mv "$work" "$dir"
mv "$work.log" "$dir.log"
echo "$version" >"$stamp"
echo "$dir"
