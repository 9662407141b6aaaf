#!/usr/bin/env bash
# Single-change latency (issue #16: "one route change reaches the FIB and `routes --watch` within
# 10 ms of bgpd sending it"). A BIRD 2 provider in its own namespace holds N IPv4 /24s (as in
# benches/fullfeed.sh) exported over eBGP to `midonet-bgp run` with the kernel sink; once the
# controller holds them and they are in its FIB, the provider changes ONE route at a time, K
# cycles of four changes, spaced by SPACING seconds:
#   announce  198.51.100.0/24 (a new prefix)         birdc enable  pnew
#   nexthop   203.0.113.0/24 via 192.0.2.3 -> .4     birdc enable  nh2  (preferred over nh1)
#   nexthop   203.0.113.0/24 via 192.0.2.4 -> .3     birdc disable nh2
#   withdraw  198.51.100.0/24                         birdc disable pnew
# and for every change it takes, on one clock (the wall clock, in µs):
#   zebra  the controller's zebra server reading bgpd's ROUTE_ADD/DELETE frame: the opt-in trace
#          point `zebra_server::read` (docs/zebra-server.md), the instant "bgpd sends it" is
#          checked against (bgpd writes, the kernel passes it over the Unix socket, we read);
#   wire   the provider's UPDATE on the provider link (tcpdump): an upper bound that adds the
#          port's bgpd receiving and processing the UPDATE before it writes the frame;
#   fib    the kernel's RTM_NEWROUTE/RTM_DELROUTE for the prefix in table 200 (`ip -ts monitor`);
#   watch  the stream line arriving from a `midonet-bgp routes --watch --json` client.
# and prints min/median/p99/max of fib-zebra, watch-zebra, fib-wire and watch-wire per kind.
#
#   sudo bash benches/latency.sh [N ...]     # default: 0 100000
#   K=50 SPACING=0.25                        # cycles (50 announces, 100 next-hop changes and
#                                            # 50 withdrawals) and seconds between changes
#   MIDONET_BGP=target/release/midonet-bgp   # binary to measure (default: release, else debug);
#                                            # without the trace point (older builds) the zebra
#                                            # columns stay empty and the wire ones are printed
#   RECONCILE_SECS=120                       # the kernel sink's reconcile_secs (the default:
#                                            # the changes then run inside the reconciliation
#                                            # window that follows every start)
#   TIMEOUT=900                              # seconds any one wait may take before failing
#   KEEP=dir                                 # keep the raw logs (events, triggers) there
#
# Everything lives in namespaces the script creates (removed on exit); the bulk routes are
# generated from 32.0.0.0 upwards and exist only there. Root, bird2, frr, tcpdump, gawk.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh
need_root
export TZ=UTC
CPFX=l$(( $$ % 1000000 ))
bench_init /tmp/latency.XXXXXX "$CPFX"
bench_traps
K=${K:-50}
SPACING=${SPACING:-0.25}
RECONCILE_SECS=${RECONCILE_SECS:-120}
for tool in bird birdc tcpdump gawk; do
  command -v "$tool" >/dev/null || { echo "$tool is needed (scripts/install-deps.sh)" >&2; exit 1; }
done
pick_binary
BIN=$(realpath "$BIN")
sizes=("$@"); [ ${#sizes[@]} -gt 0 ] || sizes=(0 100000)
tag=lt$$
NEW=198.51.100.0/24 NH=203.0.113.0/24

bird_ok() { birdc -s "$1" show protocols s4 2>/dev/null | grep -q ' up '; }
held_is() { [ "$(ctl_accepted "$1")" = "$2" ] 2>/dev/null; }
lines_of() { [ -f "$1" ] && wc -l <"$1" || echo 0; }

# One run with N bulk routes; prints the raw events and triggers into $1 (a directory).
run_one() {
  local n=$1 out=$2 d=$TMP/run pns="p$tag" cns="c$tag"
  mkdir -p "$d" "$out"
  mkns "$cns"; mkns "$pns"
  provider_link "$pns" "v$tag" "$cns" "u$tag"
  {
    bird_routes "$n"
    cat <<CONF
protocol static pnew { disabled; ipv4; route $NEW blackhole; }
protocol static nh1 { ipv4 { preference 100; }; route $NH via 192.0.2.3; }
protocol static nh2 { disabled; ipv4 { preference 300; }; route $NH via 192.0.2.4; }
CONF
    bird_dut
  } > "$d/bird.conf"
  bird_start "$pns" "$d"
  wait_for "BIRD to start" bird_ok "$d/bird.ctl"
  ctl_config "$d/run" "$cns" "u$tag" "reconcile_secs = $RECONCILE_SECS" > "$d/config.toml"
  RUST_LOG=${RUST_LOG:-info,zebra_server::read=trace} "$BIN" --log-format json run --config "$d/config.toml" >/dev/null 2> "$d/controller.log" &
  PIDS+=("$!"); disown "$!"
  local sock=$d/run/control.sock
  settle 0.05 test -S "$sock"
  # The bulk plus 203.0.113.0/24 held and in the FIB.
  wait_for "the controller to hold $((n + 1)) routes" held_is "$sock" "$((n + 1))"
  wait_for "$((n + 1)) routes in the FIB" fib_has "$cns" 200 "$((n + 1))"
  # Observers, from now on (the snapshot of the watch is filtered to the probe prefixes).
  ip netns exec "$cns" ip -ts monitor route > "$out/fib.raw" 2>/dev/null & PIDS+=("$!"); disown "$!"
  ip netns exec "$pns" tcpdump -i "v$tag" -n -tt -vv -l 'tcp port 179' > "$out/wire.raw" 2>/dev/null & PIDS+=("$!"); disown "$!"
  { "$BIN" routes --watch --json --socket "$sock" 2>/dev/null \
      | gawk -l time '/synced|198\.51\.100\.0\/24|203\.0\.113\.0\/24/ { printf "%.6f %s\n", gettimeofday(), $0; fflush() }' > "$out/watch.raw" 2>/dev/null; } &
  PIDS+=("$!"); disown "$!"
  wait_for "the route stream to be synced" grep -q synced "$out/watch.raw"
  sleep 1 # tcpdump and ip monitor are listening by now
  : > "$out/triggers"
  local i step seen want kind prefix gw cmd
  for i in $(seq "$K"); do
    for step in 1 2 3 4; do
      case $step in
        1) kind=announce prefix=$NEW gw=- cmd="enable pnew" ;;
        2) kind=nexthop prefix=$NH gw=192.0.2.4 cmd="enable nh2" ;;
        3) kind=nexthop prefix=$NH gw=192.0.2.3 cmd="disable nh2" ;;
        4) kind=withdraw prefix=$NEW gw=- cmd="disable pnew" ;;
      esac
      seen=$(lines_of "$out/watch.raw")
      printf '%s %s %s %s\n' "$EPOCHREALTIME" "$kind" "$prefix" "$gw" >> "$out/triggers"
      birdc -s "$d/bird.ctl" $cmd >/dev/null
      # Paced by the watch line of this change (the next change starts after it arrived).
      want=$([ "$kind" = withdraw ] && echo '"op":"withdraw"' || echo '"op":"replace"')
      local deadline=$(( $(date +%s) + 30 ))
      until tail -n +"$((seen + 1))" "$out/watch.raw" | grep -F "$want" | grep -qF "\"$prefix\""; do
        if [ "$(date +%s)" -ge "$deadline" ]; then echo "no watch line for $kind $prefix within 30 s" >&2; exit 1; fi
        sleep 0.01
      done
      sleep "$SPACING"
    done
  done
  sleep 0.5
  cp "$d/controller.log" "$out/controller.log"
  loadavg > "$out/load"
}

# Normalises the four sources into "epoch_s source prefix gateway|-|del" lines.
normalise() {
  local out=$1
  {
    # zebra: the trace point's JSON lines.
    grep '"zebra read"' "$out/controller.log" 2>/dev/null \
      | gawk '{ at = ""; f = ""; a = 0; dl = 0
               if (match($0, /"at_us":"?[0-9]+/)) { at = substr($0, RSTART, RLENGTH); gsub(/[^0-9]/, "", at) }
               if (match($0, /"first":"[^"]*"/)) { f = substr($0, RSTART + 9, RLENGTH - 10) }
               if (match($0, /"adds":"?[0-9]+/)) { a = substr($0, RSTART, RLENGTH); gsub(/[^0-9]/, "", a) }
               if (match($0, /"deletes":"?[0-9]+/)) { dl = substr($0, RSTART, RLENGTH); gsub(/[^0-9]/, "", dl) }
               if (at != "") printf "%d.%06d zebra %s %s\n", int(at / 1000000), at % 1000000, f, (a > 0 ? "add" : "del") }' || true
    # fib: "[2026-12-02T07:30:00.123456] [Deleted ]PREFIX via GW ... table 200 ..."
    gawk '/table 200/ && /^\[/ {
            ts = substr($1, 2, length($1) - 2); split(ts, p, /[-T:.]/)
            sec = mktime(p[1] " " p[2] " " p[3] " " p[4] " " p[5] " " p[6])
            del = ($2 == "Deleted"); pf = del ? $3 : $2; gw = "-"
            for (i = 2; i < NF; i++) if ($i == "via") gw = $(i + 1)
            printf "%d.%s fib %s %s\n", sec, p[7], pf, (del ? "del" : gw) }' "$out/fib.raw"
    # watch: "EPOCH {json}"
    gawk '/"op":"(replace|withdraw)"/ {
            pf = ""; gw = "-"
            if (match($0, /"prefix":"[^"]*"/)) pf = substr($0, RSTART + 10, RLENGTH - 11)
            if (match($0, /"gateway":"[^"]*"/)) gw = substr($0, RSTART + 11, RLENGTH - 12)
            printf "%s watch %s %s\n", $1, pf, (/"op":"withdraw"/ ? "del" : gw) }' "$out/watch.raw"
    # wire: tcpdump -vv, packets from the provider with UPDATEs.
    gawk '/^[0-9]+\.[0-9]+ IP / { ts = $1; from = 0; sect = ""; nh = "-"; next }
          /^[ \t]+192\.0\.2\.2\.[0-9]+ > 192\.0\.2\.1\.[0-9]+:/ { from = 1; next }
          !from { next }
          /Next Hop/ { nh = $NF }
          /Withdrawn routes:/ { sect = "del" } /Updated routes:/ { sect = "add" }
          /^[ \t]+[0-9.]+\/[0-9]+/ && sect != "" { printf "%s wire %s %s\n", ts, $1, (sect == "del" ? "del" : nh) }' "$out/wire.raw"
  } | sort -n -k1,1 > "$out/events"
}

# Matches every trigger with the first event of each source after it and prints the statistics.
report() {
  local out=$1 n=$2
  gawk -v n="$n" '
    function stats(name, arr, cnt,    i, s, p99) {
      if (cnt == 0) { printf "  %-22s %4d  no samples\n", name, 0; return }
      asort(arr, s)
      p99 = int(cnt * 0.99); if (p99 < cnt * 0.99) p99++
      printf "  %-22s %4d  %8.3f %8.3f %8.3f %8.3f\n", name, cnt, s[1], s[int((cnt + 1) / 2)], s[p99], s[cnt]
    }
    FNR == NR { tt[++nt] = $1; tk[nt] = $2; tp[nt] = $3; tg[nt] = $4; next }
    { ev[++ne] = $0 }
    END {
      tt[nt + 1] = 1e18
      for (i = 1; i <= nt; i++) {
        want = (tk[i] == "withdraw") ? "del" : (tk[i] == "announce" ? "any" : tg[i])
        delete at
        for (j = 1; j <= ne; j++) {
          split(ev[j], e, " ")
          if (e[1] < tt[i] || e[1] >= tt[i + 1]) continue
          if (e[3] != tp[i] || (e[2] in at)) continue
          ok = (want == "any") ? (e[4] != "del") : (e[4] == want)
          if (e[2] == "zebra") ok = (want == "del") ? (e[4] == "del") : (e[4] == "add")
          if (ok) at[e[2]] = e[1]
        }
        k = tk[i]
        for (src in at) seen[src]++
        if ("zebra" in at) {
          if ("fib" in at) { fz[k, ++cfz[k]] = (at["fib"] - at["zebra"]) * 1000; afz[++cafz] = fz[k, cfz[k]] }
          if ("watch" in at) { wz[k, ++cwz[k]] = (at["watch"] - at["zebra"]) * 1000; awz[++cawz] = wz[k, cwz[k]] }
        }
        if ("wire" in at) {
          if ("fib" in at) { fw[k, ++cfw[k]] = (at["fib"] - at["wire"]) * 1000; afw[++cafw] = fw[k, cfw[k]] }
          if ("watch" in at) { ww[k, ++cww[k]] = (at["watch"] - at["wire"]) * 1000; aww[++caww] = ww[k, cww[k]] }
          if ("zebra" in at) { zw[++czw] = (at["zebra"] - at["wire"]) * 1000 }
        }
      }
      printf "N = %d: %d changes; events matched: zebra %d, wire %d, fib %d, watch %d\n", n, nt, seen["zebra"], seen["wire"], seen["fib"], seen["watch"]
      printf "  %-22s %4s  %8s %8s %8s %8s   (ms)\n", "latency", "n", "min", "median", "p99", "max"
      split("announce nexthop withdraw", kinds, " ")
      for (x = 1; x <= 3; x++) {
        k = kinds[x]
        delete a; for (i = 1; i <= cfz[k]; i++) a[i] = fz[k, i]; stats("fib - zebra " k, a, cfz[k])
        delete a; for (i = 1; i <= cwz[k]; i++) a[i] = wz[k, i]; stats("watch - zebra " k, a, cwz[k])
      }
      stats("fib - zebra, all", afz, cafz)
      stats("watch - zebra, all", awz, cawz)
      stats("zebra - wire, all", zw, czw)
      stats("fib - wire, all", afw, cafw)
      stats("watch - wire, all", aww, caww)
    }' "$out/triggers" "$out/events"
}

print_header "; K=$K cycles, spacing ${SPACING}s, reconcile_secs $RECONCILE_SECS"
for n in "${sizes[@]}"; do
  out=$TMP/out-$n
  run_one "$n" "$out"
  normalise "$out"
  report "$out" "$n"
  echo "  (load at the end: $(cat "$out/load"))"
  if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP"; cp -r "$out" "$KEEP/"; fi
  fresh
done
