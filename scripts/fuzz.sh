#!/usr/bin/env bash
# Builds every cargo-fuzz target under fuzz/ and runs each for SECONDS (default 30).
# cargo-fuzz needs nightly-only compiler flags; with the stable toolchain RUSTC_BOOTSTRAP=1
# allows them. Run longer with: bash scripts/fuzz.sh 3600
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-30}"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1
cd fuzz
targets=$(cargo fuzz list)
[ -n "$targets" ] || { echo "no fuzz targets"; exit 1; }
cargo fuzz build -O
for t in $targets; do
  mkdir -p "corpus/$t"
  [ -d "seeds/$t" ] && cp -n seeds/"$t"/* "corpus/$t"/ 2>/dev/null || true
  echo "fuzz: $t for ${secs}s"
  cargo fuzz run -O "$t" "corpus/$t" -- -max_total_time="$secs" -rss_limit_mb=2048 2>&1 | tail -n 3
done
