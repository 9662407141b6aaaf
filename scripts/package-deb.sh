#!/usr/bin/env bash
# Builds the Debian package with cargo-deb, installs it, checks what it installed, and purges it.
# Run as root on Debian 12 (CI runs it from .ci/run). Installs cargo-deb when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "package-deb: run as root (it installs and purges the package)" >&2
  exit 1
fi
if dpkg-query -W -f='${Status}' midonet-bgp 2>/dev/null | grep -q "install ok installed"; then
  echo "package-deb: midonet-bgp is already installed on this machine; not touching it" >&2
  exit 1
fi
if ! command -v cargo-deb >/dev/null 2>&1; then
  echo "package-deb: cargo install cargo-deb --locked"
  cargo install cargo-deb --locked
fi

cargo deb -p midonet-bgp --locked
deb=$(ls -t target/debian/midonet-bgp_*.deb | head -n 1)
echo "package-deb: built $deb"
dpkg-deb --info "$deb"
dpkg-deb --contents "$deb"

purge() { dpkg --purge midonet-bgp >/dev/null 2>&1 || true; }
trap purge EXIT
# frr and iproute2 (the package's dependencies) are installed by scripts/install-deps.sh.
dpkg -i "$deb"

# From PATH, as an operator would.
hash -r
command -v midonet-bgp
midonet-bgp --version
midonet-bgp check-config /etc/midonet-bgp.toml
midonet-bgp check-config --json /etc/midonet-bgp.toml
test -f /lib/systemd/system/midonet-bgp.service
grep -qx '/etc/midonet-bgp.toml' /var/lib/dpkg/info/midonet-bgp.conffiles
if command -v systemd-analyze >/dev/null 2>&1; then
  systemd-analyze verify /lib/systemd/system/midonet-bgp.service
  echo "package-deb: systemd-analyze verify: OK"
else
  echo "package-deb: systemd-analyze not available; unit not verified"
fi

dpkg --purge midonet-bgp
trap - EXIT
if [ -e /usr/bin/midonet-bgp ] || [ -e /etc/midonet-bgp.toml ] || [ -e /lib/systemd/system/midonet-bgp.service ]; then
  echo "package-deb: files left after purge" >&2
  exit 1
fi
echo "package-deb: install, checks and purge OK"
