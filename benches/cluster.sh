#!/usr/bin/env bash
# Cluster-mode benchmark (issue #18): N learned routes of one port, published to ZooKeeper and
# visible to a RouteWatcher in another process, against bgpd alone in the same run; ZooKeeper's
# data size; failover time after kill -9 of the active host.
#
#   sudo bash benches/cluster.sh [N ...]         # default: 1000000
#   MIDONET_BGP=target/release/midonet-bgp      # binary to measure (default: release, else debug)
#
# For each N, a BIRD 2 provider (own namespace, on a bridge) exports N IPv4 /24s over eBGP to:
#   1. bgpd alone (-Z: no zebra), in its own namespace -> seconds from bgpd's start until it has
#      received N (`show bgp summary` pfxRcd);
#   2. port p1 of a two-host cluster: a standalone ZooKeeper (started here, temporary data dir,
#      127.0.0.1 only), two `midonet-bgp run --store` controllers "h0" and "h1" in their own
#      host namespaces, p1 with candidates [h0, h1] -> seconds from the controllers' start until
#      `midonet-bgp cluster routes --watch` (another process, a RouteWatcher) has all N; the
#      ZooKeeper `mntr` data size and znode count; then kill -9 of the active host (controller
#      and its bgpd) -> seconds until BIRD has the session Established again (with the standby)
#      and until the watcher holds all N again, published by the standby.
# Prints the machine and load first. Everything lives in namespaces the script creates (removed
# on exit). The routes are generated from 32.0.0.0 upwards (a million /24s do not fit the
# documentation ranges); they exist only in those namespaces. Needs root, bird2, frr, zookeeper.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
NS=(); PIDS=(); TMP=$(mktemp -d /tmp/clusterbench.XXXXXX)
pid5=$(printf '%05d' $$ | tail -c 5)
cleanup() {
  local p x
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done
  for x in "${NS[@]:-}"; do
    [ -n "$x" ] || continue
    for p in $(ip netns pids "$x" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    ip netns del "$x" 2>/dev/null || true
  done
  # The controllers' port namespaces (PREFIX-PORT) left by a killed controller.
  for x in $(ip netns list | awk -v a="b0$pid5-" -v b="b1$pid5-" 'index($1, a) == 1 || index($1, b) == 1 {print $1}'); do
    for p in $(ip netns pids "$x" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    ip netns del "$x" 2>/dev/null || true
  done
  if [ -n "${KEEP:-}" ]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
BIN=${MIDONET_BGP:-}
if [ -z "$BIN" ]; then
  if [ -x target/release/midonet-bgp ]; then BIN=target/release/midonet-bgp; else BIN=target/debug/midonet-bgp; fi
fi
BGPD=/usr/lib/frr/bgpd ZKJAR=/usr/share/java/zookeeper.jar
sizes=("$@"); [ ${#sizes[@]} -gt 0 ] || sizes=(1000000)
tag=cb$$

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }
mkns() { ip netns add "$1"; NS+=("$1"); ip -n "$1" link set lo up; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
  || shuf -i 20000-60000 -n 1; }

# Provider namespace $1: bridge br0 with 192.0.2.2/24 and BIRD exporting N /24s to every
# neighbor in $3 (space separated "address:asn").
provider() {
  local pns=$1 n=$2 peers=$3 dir=$TMP/bird-$1 i=0 pa
  mkdir -p "$dir"; mkns "$pns"
  ip -n "$pns" link add br0 type bridge; ip -n "$pns" link set br0 up
  ip -n "$pns" addr add 192.0.2.2/24 dev br0
  {
    printf 'router id 192.0.2.2;\nprotocol device {}\nprotocol static s4 {\n  ipv4;\n'
    awk -v n="$n" 'BEGIN{for(i=0;i<n;i++) printf "  route %d.%d.%d.0/24 blackhole;\n", 32+int(i/65536), int(i/256)%256, i%256}'
    printf '}\n'
    for pa in $peers; do
      i=$((i+1))
      printf 'protocol bgp dut%d {\n  local 192.0.2.2 as 65100; neighbor %s as %s;\n' "$i" "${pa%%:*}" "${pa#*:}"
      printf '  hold time 3; keepalive time 1;\n'
      printf '  connect delay time 1; connect retry time 1; error wait time 1, 2;\n'
      printf '  ipv4 { import none; export all; };\n}\n'
    done
  } > "$dir/bird.conf"
  ip netns exec "$pns" bird -c "$dir/bird.conf" -s "$dir/bird.ctl" -P "$dir/bird.pid" >/dev/null
  for _ in $(seq 600); do [ -s "$dir/bird.pid" ] && break; sleep 0.1; done
  PIDS+=("$(cat "$dir/bird.pid")")
  for _ in $(seq 6000); do
    birdc -s "$dir/bird.ctl" show route count 2>/dev/null | grep -q "^$n of $n routes" && return 0
    sleep 0.1
  done
  echo "BIRD did not load $n routes" >&2; return 1
}
birdc_() { birdc -s "$TMP/bird-$1/bird.ctl" "${@:2}"; }

# A link from host namespace $1 (interface $2) to the provider bridge in $3.
uplink() {
  local far="v$RANDOM$RANDOM"; far=${far:0:12}
  ip link add "$2" netns "$1" type veth peer name "$far" netns "$3"
  ip -n "$3" link set "$far" master br0; ip -n "$3" link set "$far" up; ip -n "$1" link set "$2" up
}

pfx_rcvd() { # vty dir
  vtysh --vty_socket "$1" -d bgpd -c "show bgp ipv4 unicast summary json" 2>/dev/null \
    | awk -F: '/"pfxRcd"/{gsub(/[^0-9]/,"",$2); print $2; exit}'
}

# 1. bgpd alone.
bgpd_alone() {
  local n=$1 d=$TMP/alone; mkdir -p "$d"; chown frr:frr "$d" 2>/dev/null || true
  mkns "a1$tag"; provider "a2$tag" "$n" "192.0.2.1:65001"
  uplink "a1$tag" up1 "a2$tag"
  ip -n "a1$tag" addr add 192.0.2.1/24 dev up1; ip -n "a1$tag" link set up1 up
  printf 'hostname dut\npassword x\nrouter bgp 65001\n bgp router-id 192.0.2.1\n no bgp ebgp-requires-policy\n neighbor 192.0.2.2 remote-as 65100\n neighbor 192.0.2.2 timers connect 1\n!\n' > "$d/bgpd.conf"
  local t0; t0=$(now)
  ip netns exec "a1$tag" "$BGPD" -Z -z /nonexistent -f "$d/bgpd.conf" -i "$d/bgpd.pid" --vty_socket "$d" -S -d
  for _ in $(seq 600); do [ -s "$d/bgpd.pid" ] && break; sleep 0.05; done
  PIDS+=("$(cat "$d/bgpd.pid")")
  while [ "$(pfx_rcvd "$d")" != "$n" ]; do sleep 0.05; done
  ALONE=$(since "$t0")
}

zk_start() { # dir -> sets ZP, the client port
  local d=$1 port; port=$(free_port); mkdir -p "$d/data"
  printf 'tickTime=500\ninitLimit=20\nsyncLimit=10\ndataDir=%s\nclientPort=%s\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\nmaxSessionTimeout=60000\nminSessionTimeout=1000\n4lw.commands.whitelist=ruok,srvr,mntr\nforceSync=no\n' \
    "$d/data" "$port" > "$d/zoo.cfg"
  java -Xmx2g -XX:+UseSerialGC -Dzookeeper.jmx.log4j.disable=true -Djute.maxbuffer=4194304 \
    -cp "$ZKJAR" org.apache.zookeeper.server.quorum.QuorumPeerMain "$d/zoo.cfg" > "$d/zk.log" 2>&1 &
  PIDS+=("$!")
  for _ in $(seq 600); do zk_cmd "$port" srvr 2>/dev/null | grep -q Mode: && { ZP=$port; return 0; }; sleep 0.1; done
  echo "ZooKeeper did not start; $(tail -5 "$d/zk.log")" >&2; return 1
}
zk_cmd() { # port cmd
  # Bounded: a server still starting may accept the connection and never answer.
  exec 9<>"/dev/tcp/127.0.0.1/$1"; printf '%s' "$2" >&9; timeout 2 cat <&9; exec 9<&-
}

# 2. the cluster.
cluster() {
  local n=$1 d=$TMP/cluster zp store i
  mkdir -p "$d"
  zk_start "$d/zk"; zp=$ZP; store="zk://127.0.0.1:$zp/bench"
  provider "c9$tag" "$n" "192.0.2.1:65001"
  cat > "$d/ports.toml" <<CONF
[[port]]
name = "p1"
candidates = ["h0", "h1"]
uplink = "up1"
address = "192.0.2.1/24"
mac = "02:00:00:00:00:01"
local_as = 65001
router_id = "192.0.2.1"
[[port.peer]]
address = "192.0.2.2"
remote_as = 65100
connect_retry = 1
CONF
  "$BIN" cluster --store "$store" put-port "$d/ports.toml" >/dev/null
  # The watcher (another process): prints "full T" whenever it holds all N, "partial" when not.
  "$BIN" cluster --store "$store" --session-timeout-ms 30000 routes --watch --port p1 \
      > >(awk -v n="$n" '
          $1 == "+" { if (!($3 in s)) { s[$3] = 1; c++ } }
          $1 == "-" { if ($3 in s) { delete s[$3]; c-- } }
          { if (c >= n && !full) { full = 1; "date +%s.%N" | getline t; close("date +%s.%N"); print "full", t; fflush() }
            if (c < n && full) { full = 0; print "partial"; fflush() } }' > "$d/watch") 2> "$d/watch.log" &
  PIDS+=("$!")
  local t0 prefix cpid=()
  t0=$(now)
  for i in 0 1; do
    mkns "h$i$tag"; uplink "h$i$tag" up1 "c9$tag"
    prefix="b$i$pid5"
    printf '[controller]\nprefix = "%s"\nrun_dir = "%s/h%s"\nhost_namespace = "h%s%s"\nstatus_interval = 1\n' \
      "$prefix" "$d" "$i" "$i" "$tag" > "$d/h$i.toml"
    "$BIN" run --store "$store" --host-id "h$i" --session-timeout-ms 4000 --config "$d/h$i.toml" 2> "$d/h$i.log" &
    cpid+=("$!"); PIDS+=("$!")
    sleep 0.5
  done
  local full=""
  for _ in $(seq 36000); do
    full=$(awk '$1=="full"{print $2; exit}' "$d/watch"); [ -n "$full" ] && break; sleep 0.1
  done
  [ -n "$full" ] || { echo "watcher never held $n" >&2; return 1; }
  local visible; visible=$(awk -v a="$t0" -v b="$full" 'BEGIN{printf "%.1f", b-a}')
  local mntr size znodes
  mntr=$(zk_cmd "$zp" mntr)
  size=$(awk '/zk_approximate_data_size/{print $2}' <<<"$mntr")
  znodes=$(awk '/zk_znode_count/{print $2}' <<<"$mntr")
  # The active host dies: kill -9 of its controller and of everything in its namespaces.
  local leader; leader=$("$BIN" cluster --store "$store" status --json | awk -F'"' '/"leader"/{print $4; exit}')
  [ -n "$leader" ] || leader=h0
  local li=${leader#h}
  # BIRD's line for the session before the kill: the kill takes the uplink away without closing
  # the TCP session, so BIRD shows this (old) session Established until its hold timer; only a
  # line that differs (a new "since") is the standby's session.
  local before; before=$(birdc_ "c9$tag" show protocols dut1 2>/dev/null | awk '$1 == "dut1"')
  local tk; tk=$(now)
  kill -9 "${cpid[$li]}"
  for x in $(ip netns list | awk '{print $1}' | grep "^b$li$pid5-\|^h$li$tag\$"); do
    for p in $(ip netns pids "$x"); do kill -9 "$p" 2>/dev/null || true; done
  done
  ip -n "h$li$tag" link del up1 2>/dev/null || true
  local est="" again="" seen_partial=""
  for _ in $(seq 6000); do
    if [ -z "$est" ]; then
      local line; line=$(birdc_ "c9$tag" show protocols dut1 2>/dev/null | awk '$1 == "dut1"')
      [[ "$line" == *Established* && "$line" != "$before" ]] && est=$(since "$tk")
    fi
    grep -q partial "$d/watch" && seen_partial=1
    if [ -n "$seen_partial" ] && [ "$(grep -c '^full' "$d/watch")" -ge 2 ]; then
      again=$(awk -v a="$tk" '$1=="full"{t=$2} END{printf "%.1f", t-a}' "$d/watch"); break
    fi
    sleep 0.1
  done
  RES="$visible $size $znodes $leader ${est:-?} ${again:-?}"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0 && a != "?") printf "%.2f", a/b; else print "?" }'; }

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "binary: $BIN; bgpd: $("$BGPD" --version 2>/dev/null | head -1); $(bird --version 2>&1 | head -1)"
printf '%9s | %10s | %14s %6s | %12s %7s | %12s %14s\n' N "bgpd alone" "watcher holds" ratio "ZK data" znodes "failover: up" "routes again"
for n in "${sizes[@]}"; do
  bgpd_alone "$n"; a=$ALONE; cleanup; NS=(); PIDS=(); TMP=$(mktemp -d /tmp/clusterbench.XXXXXX)
  cluster "$n"; read -r v size zn leader est again <<<"$RES"; cleanup; NS=(); PIDS=(); TMP=$(mktemp -d /tmp/clusterbench.XXXXXX)
  printf '%9s | %8s s | %12s s %6s | %10s B %7s | %10s s %12s s  (killed %s, session 4 s)\n' \
    "$n" "$a" "$v" "$(ratio "$v" "$a")" "$size" "$zn" "$est" "$again" "$leader"
done
