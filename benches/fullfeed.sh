#!/usr/bin/env bash
# Full-table benchmark (issue #16): a BIRD 2 provider, in its own namespace, exports N IPv4 /24s
# over eBGP to, in turn,
#   1. bgpd alone (-Z: no zebra)            -> seconds until bgpd has received N
#   2. FRR's zebra + bgpd                  -> seconds until N are in the namespace's FIB,
#                                             zebra's peak RSS
#   3. `midonet-bgp run` with the kernel    -> seconds until the controller holds N (counted on
#      sink                                    its route stream), until N are in the FIB,
#                                             the controller's peak RSS
#   4. bgpd feeding the `zebra_server` example (the library's zebra server, routes printed to a
#      pipe): seconds until the example has printed N -> the cost bgpd pays to feed any zebra, the
#      floor under "ctl holds"
# and prints them side by side with the ratios to bgpd alone.
#
#   sudo bash benches/fullfeed.sh [N ...]      # default: 10000 100000 1000000
#   MIDONET_BGP=target/release/midonet-bgp     # binary to measure (default: release, else debug)
#   SCENARIOS="controller"                      # which of: alone example zebra controller
#                                               # (default all)
#   EXAMPLE=target/release/examples/zebra_server   # the floor scenario's server (built if absent)
#   TIMEOUT=900                                 # seconds any one wait may take before failing
#
# Everything lives in namespaces the script creates (removed on exit). The routes are generated
# from 32.0.0.0 upwards (a million /24s do not fit the documentation ranges); they exist only in
# those namespaces' tables. Root, bird2 and frr are needed (scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
NS=(); PIDS=(); TMP=$(mktemp -d /tmp/fullfeed.XXXXXX)
# The controller's own name prefix (1-7 lowercase letters or digits), unique to this run: its
# namespaces are `$CPFX-p1`, removed here too if the controller is killed before it can.
CPFX=f$(( $$ % 1000000 ))
cleanup() {
  local p x
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done
  for x in $(ip netns list 2>/dev/null | awk -v p="$CPFX-" 'index($1, p) == 1 {print $1}') "${NS[@]:-}"; do
    [ -n "$x" ] || continue
    for p in $(ip netns pids "$x" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    ip netns del "$x" 2>/dev/null || true
  done
  rm -rf "$TMP"
}
RES=$(mktemp /tmp/fullfeed-result.XXXXXX)
trap 'cleanup; rm -f "$RES"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
TIMEOUT=${TIMEOUT:-900}
SCENARIOS=${SCENARIOS:-alone example zebra controller}
# wait_for WHAT CMD...: runs CMD every 0.1 s until it succeeds; fails the run after $TIMEOUT s.
wait_for() {
  local what=$1 deadline=$(( $(date +%s) + TIMEOUT )); shift
  until "$@"; do
    if [ "$(date +%s)" -ge "$deadline" ]; then echo "timed out after ${TIMEOUT}s waiting for $what" >&2; exit 1; fi
    sleep 0.1
  done
}
BIN=${MIDONET_BGP:-}
if [ -z "$BIN" ]; then
  if [ -x target/release/midonet-bgp ]; then BIN=target/release/midonet-bgp; else BIN=target/debug/midonet-bgp; fi
fi
BGPD=/usr/lib/frr/bgpd ZEBRA=/usr/lib/frr/zebra
EXAMPLE=${EXAMPLE:-target/release/examples/zebra_server}
if [[ " ${SCENARIOS} " == *" example "* ]] && [ ! -x "$EXAMPLE" ]; then
  cargo build --release -q -p midonet-bgp-examples --example zebra_server
fi
sizes=("$@"); [ ${#sizes[@]} -gt 0 ] || sizes=(10000 100000 1000000)
tag=ff$$

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }
peak_kb() { awk '/VmHWM/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
mkns() { ip netns add "$1"; NS+=("$1"); ip -n "$1" link set lo up; }

# The provider namespace $1 with BIRD exporting N /24s to 192.0.2.1, linked by veth to $2/$3.
provider() {
  local pns=$1 peer_ns=$2 peer_if=$3 n=$4 dir=$TMP/bird-$1
  mkdir -p "$dir"
  mkns "$pns"
  ip link add "p$tag" netns "$pns" type veth peer name "$peer_if" netns "$peer_ns"
  ip -n "$pns" addr add 192.0.2.2/24 dev "p$tag"; ip -n "$pns" link set "p$tag" up
  ip -n "$peer_ns" link set "$peer_if" up
  {
    printf 'router id 192.0.2.2;\nprotocol device {}\nprotocol static s4 {\n  ipv4;\n'
    awk -v n="$n" 'BEGIN{for(i=0;i<n;i++) printf "  route %d.%d.%d.0/24 blackhole;\n", 32+int(i/65536), int(i/256)%256, i%256}'
    printf '}\n'
  } > "$dir/bird.conf"
  cat >> "$dir/bird.conf" <<CONF
protocol bgp dut {
  local 192.0.2.2 as 65100; neighbor 192.0.2.1 as 65001;
  connect delay time 1; connect retry time 1; error wait time 1, 2;
  ipv4 { import none; export all; };
}
CONF
  ip netns exec "$pns" bird -c "$dir/bird.conf" -s "$dir/bird.ctl" -P "$dir/bird.pid" >/dev/null
  for _ in $(seq 600); do [ -s "$dir/bird.pid" ] && break; sleep 0.1; done
  PIDS+=("$(cat "$dir/bird.pid")")
  # Wait until BIRD has its N static routes.
  wait_for "BIRD to load $n routes" bird_has "$dir/bird.ctl" "$n"
}
bird_has() { birdc -s "$1" show route count 2>/dev/null | grep -q "^$2 of $2 routes"; }

bgpd_conf() {
  cat <<CONF
hostname dut
password x
router bgp 65001
 bgp router-id 192.0.2.1
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor 192.0.2.2 remote-as 65100
 neighbor 192.0.2.2 timers connect 1
!
CONF
}

pfx_rcvd() { # vty dir
  vtysh --vty_socket "$1" -d bgpd -c "show bgp ipv4 unicast summary json" 2>/dev/null \
    | awk -F: '/"pfxRcd"/{gsub(/[^0-9]/,"",$2); print $2; exit}'
}

rcvd_is() { [ "$(pfx_rcvd "$1")" = "$2" ]; }
# Counting a million routes with `ip route | wc -l` costs over a second of CPU per poll (most of
# it formatting), which the polling would steal from the processes measured. The kernel's trie
# statistics count a table's prefixes without formatting anything (a few ms for 1M routes); the
# exact count of our protocol's routes runs only once that count says they can all be there.
fib_count() { ip -n "$1" -4 route show table "${2:-main}" proto bgp 2>/dev/null | wc -l; }
trie_prefixes() { # ns table: the prefixes of table (any protocol) in /proc/net/fib_triestat
  local label="Id $2:"; [ "$2" = main ] && label="Main:"
  ip netns exec "$1" cat /proc/net/fib_triestat 2>/dev/null \
    | awk -v t="$label" '$0 == t {f = 1; next} f && /Prefixes:/ {print $2; exit}'
}
fib_has() { # ns table n [base]: base = the table's prefixes before any route of ours
  [ "$(trie_prefixes "$1" "$2" || echo 0)" -ge $(( $3 + ${4:-0} )) ] 2>/dev/null \
    && [ "$(fib_count "$1" "$2")" -ge "$3" ]
}

# 1. bgpd alone.
bgpd_alone() {
  local n=$1 d=$TMP/alone; mkdir -p "$d"; chown frr:frr "$d" 2>/dev/null || true
  mkns "a1$tag"; provider "a2$tag" "a1$tag" "d$tag" "$n"
  ip -n "a1$tag" addr add 192.0.2.1/24 dev "d$tag"
  bgpd_conf > "$d/bgpd.conf"
  local t0; t0=$(now)
  ip netns exec "a1$tag" "$BGPD" -Z -z /nonexistent -f "$d/bgpd.conf" -i "$d/bgpd.pid" --vty_socket "$d" -S -d
  for _ in $(seq 600); do [ -s "$d/bgpd.pid" ] && break; sleep 0.05; done
  PIDS+=("$(cat "$d/bgpd.pid")")
  wait_for "bgpd to receive $n" rcvd_is "$d" "$n"
  echo "$(since "$t0")"
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
  for _ in $(seq 600); do [ -S "$d/zserv.api" ] && break; sleep 0.05; done
  PIDS+=("$(pgrep -f -n "^$EXAMPLE $d/zserv.api" || true)")
  ip netns exec "e1$tag" "$BGPD" -z "$d/zserv.api" -f "$d/bgpd.conf" -i "$d/bgpd.pid" --vty_socket "$d" -S -d
  for _ in $(seq 600); do [ -s "$d/bgpd.pid" ] && break; sleep 0.05; done
  PIDS+=("$(cat "$d/bgpd.pid")")
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
  for _ in $(seq 600); do [ -S "$d/zserv.api" ] && break; sleep 0.05; done
  local zpid; zpid=$(cat "$d/zebra.pid"); PIDS+=("$zpid")
  ip netns exec "z1$tag" "$BGPD" -z "$d/zserv.api" -f "$d/bgpd.conf" -i "$d/bgpd.pid" --vty_socket "$d" -S -d
  for _ in $(seq 600); do [ -s "$d/bgpd.pid" ] && break; sleep 0.05; done
  PIDS+=("$(cat "$d/bgpd.pid")")
  wait_for "$n routes in zebra's FIB" fib_has "z1$tag" main "$n" "$zbase"
  echo "$(since "$t0") $(( $(peak_kb "$zpid") / 1024 ))"
}

# 3. midonet-bgp run with the kernel sink.
controller() {
  local n=$1 d=$TMP/ctl; mkdir -p "$d"
  mkns "c1$tag"; provider "c2$tag" "c1$tag" "u$tag" "$n"
  cat > "$d/config.toml" <<CONF
[controller]
prefix = "$CPFX"
run_dir = "$d/run"
host_namespace = "c1$tag"
[sink]
kind = "kernel"
table = 200
[[port]]
name = "p1"
uplink = "u$tag"
address = "192.0.2.1/24"
local_as = 65001
router_id = "192.0.2.1"
[[port.peer]]
address = "192.0.2.2"
remote_as = 65100
connect_retry = 1
CONF
  local t0; t0=$(now)
  "$BIN" run --config "$d/config.toml" >/dev/null 2> "$d/controller.log" & local cpid=$!; PIDS+=("$cpid")
  for _ in $(seq 600); do [ -S "$d/run/control.sock" ] && break; sleep 0.05; done
  # The routes the controller holds: its zebra server's accepted count in `status` (a
  # `routes --watch` reader piped through awk falls more than the stream's 65,536 changes behind
  # a full table arriving at once and is dropped, by design: it reconnects for a snapshot).
  held_count() {
    "$BIN" status --json --socket "$d/run/control.sock" 2>/dev/null \
      | tr -d ' \n' | grep -o '"accepted":[0-9]*' | head -1 | cut -d: -f2
  }
  local held="" fib="" deadline=$(( $(date +%s) + TIMEOUT ))
  while [ -z "$fib" ]; do
    [ -z "$held" ] && [ "$(held_count || echo 0)" -ge "$n" ] 2>/dev/null && held=$(since "$t0")
    fib_has "c1$tag" 200 "$n" && fib=$(since "$t0")
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "timed out after ${TIMEOUT}s: $(fib_count "c1$tag" 200) of $n in the FIB; controller log:" >&2
      tail -20 "$d/controller.log" >&2; exit 1
    fi
    sleep 0.2
  done
  [ -z "$held" ] && [ "$(held_count || echo 0)" -ge "$n" ] 2>/dev/null && held=$(since "$t0")
  echo "${held:-?} $fib $(( $(peak_kb "$cpid") / 1024 ))"
  kill -TERM "$cpid"; wait "$cpid" 2>/dev/null || true
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a != "?" && b != "?" && b + 0 > 0) printf "%.2f", a/b; else print "?" }'; }

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "binary: $BIN; bgpd: $("$BGPD" --version 2>/dev/null | head -1); $(bird --version 2>&1 | head -1)"
printf '%9s | %11s | %12s | %14s %10s | %12s %12s %10s %10s | %s\n' N "bgpd alone" "example" "zebra FIB" "zebra RSS" "ctl holds" "ctl FIB" "ctl RSS" "FIB rate" "ratios example, holds/FIB (zebra FIB)"
fresh() { cleanup; NS=(); PIDS=(); TMP=$(mktemp -d /tmp/fullfeed.XXXXXX); }
want() { [[ " $SCENARIOS " == *" $1 "* ]]; }
for n in "${sizes[@]}"; do
  a="?" ex="?" zf="?" zr="?" ch="?" cf="?" cr="?"
  # Each scenario runs in this shell (not a subshell), so its processes and namespaces are
  # known to the traps; it writes its figures to $RES.
  if want alone; then bgpd_alone "$n" >"$RES"; read -r a <"$RES"; fresh; fi
  if want example; then example_floor "$n" >"$RES"; read -r ex <"$RES"; fresh; fi
  if want zebra; then frr_zebra "$n" >"$RES"; read -r zf zr <"$RES"; fresh; fi
  if want controller; then controller "$n" >"$RES"; read -r ch cf cr <"$RES"; fresh; fi
  rate=$(awk -v n="$n" -v t="$cf" 'BEGIN{ if (t != "?" && t + 0 > 0) printf "%d/s", n/t; else print "?" }')
  printf '%9s | %9s s | %10s s | %12s s %7s MB | %10s s %10s s %7s MB %10s | %s, %s / %s (%s)\n' "$n" "$a" "$ex" "$zf" "$zr" "$ch" "$cf" "$cr" "$rate" \
    "$(ratio "$ex" "$a")" "$(ratio "$ch" "$a")" "$(ratio "$cf" "$a")" "$(ratio "$zf" "$a")"
done
