#!/usr/bin/env bash
# Installs what the demo and the tests need on a Debian 12 machine, as root.
# Safe to run again: it installs only what is missing, says what it installed, and never stops,
# disables or reconfigures a service it did not install. Nothing the project runs collides with a
# host FRR: every bgpd it starts runs in a network namespace of its own (BGP and Vty ports inside
# it) with its own pid file, vtysh socket directory and zebra socket (bgpd -i, --vty_socket, -z),
# and the tests' vtysh calls name those directories.
set -euo pipefail

need_apt=()
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
command -v tc >/dev/null 2>&1 || need_apt+=(iproute2)
[ -x /usr/lib/frr/bgpd ] || need_apt+=(frr)
# Graceful-restart tests use BIRD 2 as a second GR helper implementation.
command -v bird >/dev/null 2>&1 || need_apt+=(bird2)
command -v ping >/dev/null 2>&1 || need_apt+=(iputils-ping)
command -v iperf3 >/dev/null 2>&1 || need_apt+=(iperf3)
command -v pkill >/dev/null 2>&1 || need_apt+=(procps)
command -v debootstrap >/dev/null 2>&1 || need_apt+=(debootstrap)
# `cargo build` links with the C toolchain.
command -v cc >/dev/null 2>&1 || need_apt+=(gcc)
dpkg-query -W -f='${Status}' libc6-dev 2>/dev/null | grep -q "ok installed" || need_apt+=(libc6-dev)
# scripts/quagga-build.sh builds Quagga 1.2.4's bgpd from source (autoreconf, configure, make).
for tool in autoconf:autoconf automake:automake libtoolize:libtool gawk:gawk pkg-config:pkg-config make:make; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || need_apt+=("${tool#*:}")
done
# scripts/panic-audit.sh reads clippy's JSON messages with jq.
command -v jq >/dev/null 2>&1 || need_apt+=(jq)
# benches/latency.sh timestamps the provider's UPDATEs on the wire.
command -v tcpdump >/dev/null 2>&1 || need_apt+=(tcpdump)
# GoBGP as an external BGP peer in the interop tests.
command -v gobgpd >/dev/null 2>&1 || need_apt+=(gobgpd)
# Cluster mode tests and benchmarks run their own ZooKeeper servers (Debian's package + a JRE).
{ [ -f /usr/share/java/zookeeper.jar ] && command -v java >/dev/null 2>&1; } || need_apt+=(zookeeper default-jre-headless)

if [ "${#need_apt[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages (${need_apt[*]}) and not root; install them or run as root" >&2
    exit 1
  fi
  echo "install-deps: apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Freshly installed daemons (frr, bird2, zookeeper) must not start their own services: the
  # project runs its own processes. A policy-rc.d refusing every start holds while apt runs,
  # unless the host has one.
  policy=/usr/sbin/policy-rc.d
  own_policy=
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# installed by midonet-bgp scripts/install-deps.sh while apt runs\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    own_policy=1
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${need_apt[@]}"
  if [ -n "$own_policy" ]; then
    rm -f "$policy"
    trap - EXIT
  fi
  echo "install-deps: installed $(printf '%s\n' "${need_apt[@]}" | sort -u | tr '\n' ' ')"
else
  echo "install-deps: nothing to install"
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "install-deps: cargo not found; install a Rust toolchain (1.85 or newer) first" >&2
  exit 1
fi
