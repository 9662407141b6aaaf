#!/usr/bin/env bash
# Runs the whole test suite. As root with FRR installed nothing is skipped (privileged tests
# create their own namespaces, links and bgpd processes and remove them again).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# FRR 10.3 for the interop tests: a Debian 13 chroot, built once per machine and cached.
bash scripts/frr10-chroot.sh >/dev/null
exec cargo test --workspace --locked "$@"
