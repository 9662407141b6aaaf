#!/usr/bin/env bash
# Full-table benchmark (issue #16): a BIRD 2 provider, in its own namespace, exports N IPv4 /24s
# over eBGP to, in turn,
#   1. bgpd alone (-Z: no zebra)            -> seconds until bgpd has received N
#   2. FRR's zebra + bgpd                  -> seconds until N are in the namespace's FIB,
#                                             zebra's peak RSS
#   3. `midonet-bgp run` with the kernel    -> seconds until the controller holds N, until the
#      sink                                    kernel acknowledged N (both from `status`; the
#                                             kernel's table counted once afterwards), the
#                                             controller's peak RSS
#   4. bgpd feeding the `zebra_server` example (the library's zebra server, routes printed to a
#      pipe): seconds until the example has printed N -> the cost bgpd pays to feed any zebra, the
#      floor under "ctl holds"
#   5. (only when asked: SCENARIOS=... nofib) `midonet-bgp run` with `[sink] kind = "none"` ->
#      seconds until the controller holds N, without any FIB write: what is left of "holds"
#      when the kernel writes are taken away
# and prints them side by side with the ratios to bgpd alone.
#
#   sudo bash benches/fullfeed.sh [N ...]      # default: 10000 100000 1000000
#   MIDONET_BGP=target/release/midonet-bgp     # binary to measure (default: release, else debug)
#   SCENARIOS="controller"                      # which of: alone example zebra controller nofib
#                                               # (default all but nofib; nofib: the controller
#                                               # with `[sink] kind = "none"`, until it holds N)
#   EXAMPLE=target/release/examples/zebra_server   # the floor scenario's server (built if absent)
#   TIMEOUT=900                                 # seconds any one wait may take before failing
#   SINK_EXTRA="nexthop_objects = false"        # one more line for the controller's [sink]
#   REPEAT=1                                    # runs of every scenario per N, in turn; with
#                                               # more than one, a last row per N gives each
#                                               # column's median and the ratios of the medians
#                                               # (bgpd alone alone varies by a third between
#                                               # runs minutes apart on the project's VM)
#
# Everything lives in namespaces the script creates (removed on exit). The routes are generated
# from 32.0.0.0 upwards (a million /24s do not fit the documentation ranges); they exist only in
# those namespaces' tables. Root, bird2 and frr are needed (scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh
need_root
# The controller's own name prefix (1-7 lowercase letters or digits), unique to this run: its
# namespaces are `$CPFX-p1`, removed here too if the controller is killed before it can.
CPFX=f$(( $$ % 1000000 ))
bench_init /tmp/fullfeed.XXXXXX "$CPFX"
RES=$(mktemp /tmp/fullfeed-result.XXXXXX)
bench_traps 'rm -f "$RES"'
SCENARIOS=${SCENARIOS:-alone example zebra controller}
pick_binary
ZEBRA=/usr/lib/frr/zebra
EXAMPLE=${EXAMPLE:-target/release/examples/zebra_server}
if [[ " ${SCENARIOS} " == *" example "* ]] && [ ! -x "$EXAMPLE" ]; then
  cargo build --release -q -p midonet-bgp-examples --example zebra_server
fi
sizes=("$@"); [ ${#sizes[@]} -gt 0 ] || sizes=(10000 100000 1000000)
tag=ff$$

# The provider namespace $1 with BIRD exporting N /24s to 192.0.2.1, linked by veth to $2/$3.
provider() {
  local pns=$1 peer_ns=$2 peer_if=$3 n=$4 dir=$TMP/bird-$1
  mkdir -p "$dir"
  mkns "$pns"
  provider_link "$pns" "p$tag" "$peer_ns" "$peer_if"
  { bird_routes "$n"; bird_dut; } > "$dir/bird.conf"
  bird_start "$pns" "$dir"
  # Wait until BIRD has its N static routes.
  wait_for "BIRD to load $n routes" bird_has "$dir/bird.ctl" "$n"
}

# 1. bgpd alone.
bgpd_alone() {
  local n=$1 d=$TMP/alone; mkdir -p "$d"; chown frr:frr "$d" 2>/dev/null || true
  mkns "a1$tag"; provider "a2$tag" "a1$tag" "d$tag" "$n"
  ip -n "a1$tag" addr add 192.0.2.1/24 dev "d$tag"
  time_bgpd_alone "a1$tag" "$d" "$n"
  echo "$ALONE"
}

# 4. bgpd + the zebra_server example: the floor under "ctl holds". The example prints one line
# per route; awk counts them as they come (once per line, no re-reading) and stamps the N-th.
example_floor() {
  local n=$1 d=$TMP/example; mkdir -p "$d"; chmod 755 "$TMP" "$d"
  mkns "e1$tag"; provider "e2$tag" "e1$tag" "d$tag" "$n"
  ip -n "e1$tag" addr add 192.0.2.1/24 dev "d$tag"
  local ifx; ifx=$(ip -n "e1$tag" -o link show "d$tag" | cut -d: -f1)
  bgpd_conf > "$d/bgpd.conf"
  local t0; t0=$(now)
  "$EXAMPLE" "$d/zserv.api" "d$tag:$ifx:192.0.2.1/24" 2>/dev/null \
    | awk -v n="$n" -v out="$d/done" '/^replace /{ if (++c == n) { system("date +%s.%N > " out) } }' &
  PIDS+=("$!"); disown "$!"  # killed by cleanup without a job notice
  settle 0.05 test -S "$d/zserv.api"
  PIDS+=("$(pgrep -f -n "^$EXAMPLE $d/zserv.api" || true)")
  bgpd_start "e1$tag" "$d" -z "$d/zserv.api"
  wait_for "the example to print $n routes" test -s "$d/done"
  awk -v a="$t0" -v b="$(cat "$d/done")" 'BEGIN{printf "%.1f\n", b-a}'
}

# 2. FRR's zebra + bgpd.
frr_zebra() {
  local n=$1 d=$TMP/zebra; chmod 755 "$TMP"; mkdir -p "$d"; chown frr:frr "$d"
  mkns "z1$tag"; provider "z2$tag" "z1$tag" "d$tag" "$n"
  ip -n "z1$tag" addr add 192.0.2.1/24 dev "d$tag"
  bgpd_conf > "$d/bgpd.conf"; printf 'hostname z\npassword x\n' > "$d/zebra.conf"; chown frr:frr "$d"/*.conf
  local zbase; zbase=$(trie_prefixes "z1$tag" main); zbase=${zbase:-0}
  local t0; t0=$(now)
  ip netns exec "z1$tag" "$ZEBRA" -z "$d/zserv.api" -f "$d/zebra.conf" -i "$d/zebra.pid" --vty_socket "$d" -u frr -g frr -d
  settle 0.05 test -S "$d/zserv.api"
  local zpid; zpid=$(cat "$d/zebra.pid"); PIDS+=("$zpid")
  bgpd_start "z1$tag" "$d" -z "$d/zserv.api"
  wait_for "$n routes in zebra's FIB" fib_has "z1$tag" main "$n" "$zbase"
  echo "$(since "$t0") $(( $(peak_kb "$zpid") / 1024 ))"
}

# 3. midonet-bgp run with the kernel sink.
# controller N [nofib]: with nofib, `[sink] kind = "none"` and only "holds" is waited for.
controller() {
  local n=$1 nofib=${2:-} d=$TMP/ctl; mkdir -p "$d"
  mkns "c1$tag"; provider "c2$tag" "c1$tag" "u$tag" "$n"
  CTL_SINK=${nofib:+none} ctl_config "$d/run" "c1$tag" "u$tag" ${SINK_EXTRA:+"$SINK_EXTRA"} > "$d/config.toml"
  local t0; t0=$(now)
  "$BIN" run --config "$d/config.toml" >/dev/null 2> "$d/controller.log" & local cpid=$!; PIDS+=("$cpid")
  settle 0.05 test -S "$d/run/control.sock"
  # One `status` a poll gives both counts: the routes the controller holds (its zebra server's
  # accepted count; a `routes --watch` reader piped through awk falls more than the stream's
  # 65,536 changes behind a full table arriving at once and is dropped, by design: it reconnects
  # for a snapshot) and the routes the kernel acknowledged in table 200. The kernel's own count
  # (/proc/net/fib_triestat, which the FRR-zebra scenario must poll) walks the whole trie: at 1M
  # routes each read cost 40-70 ms of CPU taken from bgpd and the controller. The exact count of
  # our routes in the kernel (`ip route … proto bgp | wc -l`, seconds at 1M) runs once, after
  # the time is taken, and must agree.
  local held="" fib="" deadline=$(( $(date +%s) + TIMEOUT )) counts accepted installed
  while [ -z "$fib" ]; do
    counts=$(ctl_counts "$d/run/control.sock" || echo "0 0"); read -r accepted installed <<<"$counts"
    [ -z "$held" ] && [ "${accepted:-0}" -ge "$n" ] 2>/dev/null && held=$(since "$t0")
    [ "${installed:-0}" -ge "$n" ] 2>/dev/null && fib=$(since "$t0")
    [ -n "$nofib" ] && [ -n "$held" ] && fib="-"
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "timed out after ${TIMEOUT}s: status says ${installed:-?} of $n in the FIB; controller log:" >&2
      tail -20 "$d/controller.log" >&2; exit 1
    fi
    [ -n "$fib" ] || sleep 0.2
  done
  local counted=$n; [ -n "$nofib" ] || counted=$(fib_count "c1$tag" 200)
  if [ "$counted" -lt "$n" ]; then
    echo "status said $n installed, the kernel's table 200 has $counted routes of proto bgp" >&2; exit 1
  fi
  echo "${held:-?} $fib $(( $(peak_kb "$cpid") / 1024 ))"
  kill -TERM "$cpid"; wait "$cpid" 2>/dev/null || true
}

print_header
printf '%9s | %11s | %12s | %14s %10s | %12s %12s %10s %10s | %12s | %s\n' N "bgpd alone" "example" "zebra FIB" "zebra RSS" "ctl holds" "ctl FIB" "ctl RSS" "FIB rate" "no-FIB holds" "ratios example, holds/FIB (zebra FIB), no-FIB holds"
want() { [[ " $SCENARIOS " == *" $1 "* ]]; }
REPEAT=${REPEAT:-1}
# median V...: the median of the numbers among the arguments ("?" when there are none).
median() {
  printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -n | awk '{v[NR]=$1} END{
    if (NR == 0) { print "?"; exit }
    if (NR % 2) printf "%.1f\n", v[(NR+1)/2]; else printf "%.1f\n", (v[NR/2]+v[NR/2+1])/2 }'
}
row() { # N alone example zebraFIB zebraRSS holds FIB RSS noFIB
  local n=$1 a=$2 ex=$3 zf=$4 zr=$5 ch=$6 cf=$7 cr=$8 nh=$9 rate
  rate=$(awk -v n="$n" -v t="$cf" 'BEGIN{ if (t != "?" && t + 0 > 0) printf "%d/s", n/t; else print "?" }')
  printf '%9s | %9s s | %10s s | %12s s %7s MB | %10s s %10s s %7s MB %10s | %10s s | %s, %s / %s (%s), %s\n' "$n" "$a" "$ex" "$zf" "$zr" "$ch" "$cf" "$cr" "$rate" "$nh" \
    "$(ratio "$ex" "$a")" "$(ratio "$ch" "$a")" "$(ratio "$cf" "$a")" "$(ratio "$zf" "$a")" "$(ratio "$nh" "$a")"
}
for n in "${sizes[@]}"; do
 all_a=() all_ex=() all_zf=() all_zr=() all_ch=() all_cf=() all_cr=() all_nh=()
 for _ in $(seq "$REPEAT"); do
  a="?" ex="?" zf="?" zr="?" ch="?" cf="?" cr="?" nh="?"
  # Each scenario runs in this shell (not a subshell), so its processes and namespaces are
  # known to the traps; it writes its figures to $RES.
  if want alone; then bgpd_alone "$n" >"$RES"; read -r a <"$RES"; fresh; fi
  if want example; then example_floor "$n" >"$RES"; read -r ex <"$RES"; fresh; fi
  if want zebra; then frr_zebra "$n" >"$RES"; read -r zf zr <"$RES"; fresh; fi
  if want controller; then controller "$n" >"$RES"; read -r ch cf cr <"$RES"; fresh; fi
  if want nofib; then controller "$n" nofib >"$RES"; read -r nh _ _ <"$RES"; fresh; fi
  row "$n" "$a" "$ex" "$zf" "$zr" "$ch" "$cf" "$cr" "$nh"
  all_a+=("$a") all_ex+=("$ex") all_zf+=("$zf") all_zr+=("$zr") all_ch+=("$ch") all_cf+=("$cf") all_cr+=("$cr") all_nh+=("$nh")
 done
 if [ "$REPEAT" -gt 1 ]; then
  printf 'median of %s runs:\n' "$REPEAT"
  row "$n" "$(median "${all_a[@]}")" "$(median "${all_ex[@]}")" "$(median "${all_zf[@]}")" "$(median "${all_zr[@]}")" \
    "$(median "${all_ch[@]}")" "$(median "${all_cf[@]}")" "$(median "${all_cr[@]}")" "$(median "${all_nh[@]}")"
 fi
done
