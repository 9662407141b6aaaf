#!/usr/bin/env bash
# Runs every benchmark of the workspace (or of the crates named) with short criterion runs and
# prints the machine first, so the output can be recorded in docs/benchmarks.md as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh
all=(zebra-proto:codec zebra-server:route_stream vty:batch netns:container datapath:flows bgpd:restart routing:config midonet-bgp:controller_1m)
want=("$@")
echo "machine: $(machine), $(rustc --version)"
echo "load: $(loadavg)   date: $(date -u +%FT%TZ)"
for entry in "${all[@]}"; do
  crate=${entry%%:*} bench=${entry#*:}
  if [ "${#want[@]}" -gt 0 ] && [[ ! " ${want[*]} " == *" $crate "* ]]; then continue; fi
  echo "=== cargo bench -p $crate --bench $bench -- --warm-up-time 1 --measurement-time 3"
  cargo bench -p "$crate" --bench "$bench" -- --warm-up-time 1 --measurement-time 3
done
