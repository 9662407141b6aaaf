#!/usr/bin/env bash
# Runs the self-contained demo lab: an upstream FRR peer in its own namespace and one BGP port
# run by midonet-bgp. Ctrl-C removes everything it created.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo build --release --locked -p midonet-bgp
exec ./target/release/midonet-bgp demo "$@"
