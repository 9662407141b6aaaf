#!/usr/bin/env bash
# Cluster-mode benchmark (issue #18): N learned routes of one port, published to ZooKeeper and
# visible to a RouteWatcher in another process, against bgpd alone in the same run; ZooKeeper's
# data size; failover time after kill -9 of the active host.
#
#   sudo bash benches/cluster.sh [N ...]         # default: 1000000
#   MIDONET_BGP=target/release/midonet-bgp      # binary to measure (default: release, else debug)
#   FAILOVER=0                                  # skip the failover part (its columns print "-")
#
# For each N, a BIRD 2 provider (own namespace, on a bridge) exports N IPv4 /24s over eBGP to:
#   1. bgpd alone (-Z: no zebra), in its own namespace -> seconds from bgpd's start until it has
#      received N (`show bgp summary` pfxRcd);
#   2. port p1 of a two-host cluster: a standalone ZooKeeper (started here, temporary data dir,
#      127.0.0.1 only), two `midonet-bgp run --store` controllers "h0" and "h1" in their own
#      host namespaces, p1 with candidates [h0, h1] -> seconds from the controllers' start until
#      `midonet-bgp cluster routes --watch --counts` (another process, a RouteWatcher) holds all N
#      (and when the active controller held them: "ctl holds"); the
#      ZooKeeper `mntr` data size and znode count; then kill -9 of the active host (controller
#      and its bgpd) -> seconds until BIRD has the session Established again (with the standby)
#      and until the watcher holds all N again, published by the standby.
# Prints the machine and load first. Everything lives in namespaces the script creates (removed
# on exit). The routes are generated from 32.0.0.0 upwards (a million /24s do not fit the
# documentation ranges); they exist only in those namespaces. Needs root, bird2, frr, zookeeper.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh
need_root
pid5=$(printf '%05d' $$ | tail -c 5)
# The controllers' port namespaces (PREFIX-PORT) left by a killed controller are removed too.
bench_init /tmp/clusterbench.XXXXXX "b0$pid5" "b1$pid5"
KEEP_TMP=${KEEP:-}
bench_traps
pick_binary
ZKJAR=/usr/share/java/zookeeper.jar
sizes=("$@"); [ ${#sizes[@]} -gt 0 ] || sizes=(1000000)
tag=cb$$

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
    bird_routes "$n"
    for pa in $peers; do
      i=$((i+1))
      printf 'protocol bgp dut%d {\n  local 192.0.2.2 as 65100; neighbor %s as %s;\n' "$i" "${pa%%:*}" "${pa#*:}"
      printf '  hold time 3; keepalive time 1;\n'
      printf '  connect delay time 1; connect retry time 1; error wait time 1, 2;\n'
      printf '  ipv4 { import none; export all; };\n}\n'
    done
  } > "$dir/bird.conf"
  bird_start "$pns" "$dir"
  wait_for "BIRD to load $n routes" bird_has "$dir/bird.ctl" "$n"
}
birdc_() { birdc -s "$TMP/bird-$1/bird.ctl" "${@:2}"; }

# A link from host namespace $1 (interface $2) to the provider bridge in $3.
uplink() {
  local far="v$RANDOM$RANDOM"; far=${far:0:12}
  ip link add "$2" netns "$1" type veth peer name "$far" netns "$3"
  ip -n "$3" link set "$far" master br0; ip -n "$3" link set "$far" up; ip -n "$1" link set "$2" up
}

# 1. bgpd alone.
bgpd_alone() {
  local n=$1 d=$TMP/alone; mkdir -p "$d"; chown frr:frr "$d" 2>/dev/null || true
  mkns "a1$tag"; provider "a2$tag" "$n" "192.0.2.1:65001"
  uplink "a1$tag" up1 "a2$tag"
  ip -n "a1$tag" addr add 192.0.2.1/24 dev up1; ip -n "a1$tag" link set up1 up
  time_bgpd_alone "a1$tag" "$d" "$n" 0.05
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
  port_p1 up1 'candidates = ["h0", "h1"]' 'mac = "02:00:00:00:00:01"' > "$d/ports.toml"
  "$BIN" cluster --store "$store" put-port "$d/ports.toml" >/dev/null
  # The watcher (another process, a `RouteWatcher`): `--counts` prints a line per event with the
  # routes it holds for the port (a line per prefix would be a million lines to format and
  # count on the two cores the measured processes share); awk prints "full T" whenever it holds
  # all N, "partial" when not.
  "$BIN" cluster --store "$store" --session-timeout-ms 30000 routes --watch --counts --port p1 \
      > >(awk -v n="$n" '
          $1 == "=" && $2 == "p1" { c = $3 + 0 }
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
  # Also when the active controller held all N (its zebra server's count in `status`, asked of
  # both hosts every 0.5 s only, a process each): the rest is publication and the watcher's read.
  local full="" held="" k=0 i
  for _ in $(seq 36000); do
    full=$(awk '$1=="full"{print $2; exit}' "$d/watch"); [ -n "$full" ] && break
    if [ -z "$held" ] && [ $(( k++ % 5 )) -eq 0 ]; then
      for i in 0 1; do
        [ "$(ctl_accepted "$d/h$i/control.sock" || echo 0)" -ge "$n" ] 2>/dev/null && held=$(since "$t0")
      done
    fi
    sleep 0.1
  done
  [ -n "$full" ] || { echo "watcher never held $n" >&2; return 1; }
  local visible; visible=$(awk -v a="$t0" -v b="$full" 'BEGIN{printf "%.1f", b-a}')
  local mntr size znodes
  mntr=$(zk_cmd "$zp" mntr)
  size=$(awk '/zk_approximate_data_size/{print $2}' <<<"$mntr")
  znodes=$(awk '/zk_znode_count/{print $2}' <<<"$mntr")
  if [ "${FAILOVER:-1}" = 0 ]; then RES="$visible ${held:-?} $size $znodes - - -"; return; fi
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
  RES="$visible ${held:-?} $size $znodes $leader ${est:-?} ${again:-?}"
}

print_header
printf '%9s | %10s | %14s %6s | %10s | %12s %7s | %12s %14s\n' N "bgpd alone" "watcher holds" ratio "ctl holds" "ZK data" znodes "failover: up" "routes again"
for n in "${sizes[@]}"; do
  bgpd_alone "$n"; a=$ALONE; fresh
  cluster "$n"; read -r v held size zn leader est again <<<"$RES"; fresh
  printf '%9s | %8s s | %12s s %6s | %8s s | %10s B %7s | %10s s %12s s  (killed %s, session 4 s)\n' \
    "$n" "$a" "$v" "$(ratio "$v" "$a")" "$held" "$size" "$zn" "$est" "$again" "$leader"
done
