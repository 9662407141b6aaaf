#!/usr/bin/env bash
# Panic audit: lists every construct that can panic in the NON-TEST library and binary code of the
# workspace crates and fails when one is not on the allow-list (scripts/panic-audit.allow).
#
# Usage: bash scripts/panic-audit.sh [--arith]
#
# It runs clippy on the library and binary targets only (`--lib --bins`, so `#[cfg(test)]`
# modules, tests/, benches/ and examples are not compiled at all) with these lints:
#   unwrap_used expect_used panic unreachable todo unimplemented   must be 0 (no allow-list)
#   indexing_slicing                                             at most the allowed count per file
# testkit (test support: its panics are how a test fails) and the examples crate are left out.
# `--arith` also lists clippy::arithmetic_side_effects sites for review (not gated: that lint
# flags every `+`, including counters and `Instant + Duration`).
#
# Allow-list lines: `LINT FILE COUNT # reason`. A file may have at most COUNT sites of LINT; the
# reason says why none of them can panic on input (or why the input is trusted). Counts are per
# file, not per line, so unrelated edits that move lines keep passing.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v jq >/dev/null 2>&1 || { echo "panic-audit: jq is needed (scripts/install-deps.sh)" >&2; exit 2; }

strict=(unwrap_used expect_used panic unreachable todo unimplemented unchecked_time_subtraction)
listed=(indexing_slicing string_slice)
[ "${1:-}" = "--arith" ] && listed+=(arithmetic_side_effects)
flags=()
for l in "${strict[@]}" "${listed[@]}"; do flags+=(-W "clippy::$l"); done

json=$(mktemp)
trap 'rm -f "$json"' EXIT
cargo clippy --workspace --exclude testkit --exclude midonet-bgp-examples --lib --bins --locked \
  --message-format=json -- "${flags[@]}" >"$json"

# One line per site: LINT FILE LINE:COL (deduplicated: a binary and its library report the same
# site only once per target, but a file shared by two targets would report it twice).
sites=$(jq -r 'select(.reason == "compiler-message")
  | .message | select(.code.code // "" | startswith("clippy::"))
  | (.spans[] | select(.is_primary)) as $s
  | "\(.code.code | ltrimstr("clippy::")) \($s.file_name) \($s.line_start):\($s.column_start)"' "$json" |
  sort -u)
other=$(jq -r 'select(.reason == "compiler-message") | .message
  | select(.level == "warning" or .level == "error")
  | select((.code.code // "") | startswith("clippy::") | not) | .rendered' "$json")
if [ -n "$other" ]; then
  echo "$other"
  echo "panic-audit: the build reported other warnings or errors (above)" >&2
  exit 1
fi

fail=0
for l in "${strict[@]}"; do
  hits=$(grep "^$l " <<<"$sites" || true)
  if [ -n "$hits" ]; then
    echo "panic-audit: $l outside tests (must be 0; return a typed error instead):"
    sed 's/^/  /' <<<"$hits"
    fail=1
  fi
done

allow=scripts/panic-audit.allow
allowed() { # LINT FILE -> allowed count
  awk -v l="$1" -v f="$2" '$1 == l && $2 == f { print $3; found = 1 } END { if (!found) print 0 }' "$allow"
}
for l in "${listed[@]}"; do
  hits=$(grep "^$l " <<<"$sites" || true)
  [ -n "$hits" ] || continue
  if [ "$l" = arithmetic_side_effects ]; then
    echo "panic-audit: $l (review only, $(wc -l <<<"$hits") sites):"
    sed 's/^/  /' <<<"$hits"
    continue
  fi
  while read -r n file; do
    max=$(allowed "$l" "$file")
    if [ "$n" -gt "$max" ]; then
      echo "panic-audit: $file has $n $l sites, the allow-list $max:"
      grep " $file " <<<"$hits" | sed 's/^/  /'
      fail=1
    elif [ "$n" -lt "$max" ]; then
      echo "panic-audit: note: $file has $n $l sites, fewer than the $max allowed (lower the count)"
    fi
  done < <(awk '{ print $2 }' <<<"$hits" | sort | uniq -c)
done

total=$(grep -c . <<<"$sites" || true)
if [ "$fail" -ne 0 ]; then
  echo "panic-audit: FAILED ($total sites listed)" >&2
  exit 1
fi
echo "panic-audit: ok (0 unwrap/expect/panic/unreachable/todo/unimplemented; indexing within $allow)"
