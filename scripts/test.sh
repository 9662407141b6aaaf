#!/usr/bin/env bash
# Runs the whole test suite. As root with FRR installed nothing is skipped (privileged tests
# create their own namespaces, links and bgpd processes and remove them again).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
exec cargo test --workspace --locked "$@"
