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
  log="$(mktemp)"
  if cargo fuzz run -O "$t" "corpus/$t" -- -max_total_time="$secs" -rss_limit_mb=2048 >"$log" 2>&1; then
    tail -n 1 "$log"
  else
    # Show what failed (the panic and the failing input), not the backtrace's last frames.
    grep -v -E '^ +([0-9]+: |at )' "$log" | grep -v -E '^#[0-9]+' | tail -n 40
    echo "fuzz: $t FAILED (full log: $log; add the input under fuzz/seeds/$t once fixed)"
    exit 1
  fi
  rm -f "$log"
done
# server_socket keeps its server's socket directory for the life of the process (a fuzzer exits
# without destructors); remove those of fuzzers that are gone.
for d in "${TMPDIR:-/tmp}"/zebra-fuzz-*; do
  if [ -d "$d" ] && [ ! -e "/proc/${d##*-}" ]; then rm -rf "$d"; fi
done
