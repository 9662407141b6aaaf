#!/usr/bin/env bash
# Installs what the demo and the tests need on a Debian 12 machine, as root.
# Safe to run again: it installs only what is missing.
set -euo pipefail

need_apt=()
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
command -v tc >/dev/null 2>&1 || need_apt+=(iproute2)
[ -x /usr/lib/frr/bgpd ] || need_apt+=(frr)
command -v ping >/dev/null 2>&1 || need_apt+=(iputils-ping)
command -v iperf3 >/dev/null 2>&1 || need_apt+=(iperf3)
command -v pkill >/dev/null 2>&1 || need_apt+=(procps)
command -v debootstrap >/dev/null 2>&1 || need_apt+=(debootstrap)
# BIRD 2 originates the full table of the controller benchmark (midonet-bgp controller_1m).
command -v bird >/dev/null 2>&1 || need_apt+=(bird2)

if [ "${#need_apt[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages (${need_apt[*]}) and not root; install them or run as root" >&2
    exit 1
  fi
  echo "install-deps: apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${need_apt[@]}"
fi

# Debian's frr package may start its own daemons from the init script; the project runs its own
# bgpd processes and needs none of those (they would also hold the default vty ports).
if command -v service >/dev/null 2>&1 && pgrep -x watchfrr >/dev/null 2>&1; then
  service frr stop >/dev/null 2>&1 || true
fi

# FRR 10.3 for the interop tests: a Debian 13 chroot, built once and cached (see the script).
if [ "$(id -u)" -eq 0 ]; then
  "$(dirname "$0")/frr10-chroot.sh" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "install-deps: cargo not found; install a Rust toolchain (1.85 or newer) first" >&2
  exit 1
fi
