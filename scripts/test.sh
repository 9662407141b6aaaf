#!/usr/bin/env bash
# Runs the whole test suite. As root with FRR installed nothing is skipped (privileged tests
# create their own namespaces, links and bgpd processes and remove them again). Under CI=true a
# privileged test that cannot run fails; otherwise it is skipped, and a one-line summary of the
# skipped tests is printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# FRR 10.3 for the interop tests: a Debian 13 chroot, built once per machine and cached.
bash scripts/frr10-chroot.sh >/dev/null
# Quagga 1.2.4 for the Quagga interop tests: built from ../shared/third_party once per machine.
bash scripts/quagga-build.sh >/dev/null
skips=$(mktemp)
trap 'rm -f "$skips"' EXIT
status=0
MNB_SKIP_LOG="$skips" cargo test --workspace --locked --no-fail-fast "$@" || status=$?
if [ "${CI:-}" != "true" ] && [ "${CI:-}" != "1" ]; then
  n=$(sort -u "$skips" | grep -c . || true)
  if [ "$n" -gt 0 ]; then
    echo "skipped privileged tests: $n ($(sort -u "$skips" | sed 's/:.*//' | paste -sd, -); reasons: $(sed 's/^[^:]*: //' "$skips" | sort -u | paste -sd';' -)) - run as root with FRR for a full run"
  else
    echo "skipped privileged tests: none"
  fi
fi
exit "$status"
