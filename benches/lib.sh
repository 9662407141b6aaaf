# Shared by the benchmark scripts (fullfeed.sh, cluster.sh, latency.sh, run-all.sh): sourced by
# each once it has changed to the repository's root (`. benches/lib.sh`). It only defines
# functions and the defaults BGPD and TIMEOUT; a script opts into the rest (need_root,
# bench_init, bench_traps, pick_binary).

BGPD=/usr/lib/frr/bgpd
TIMEOUT=${TIMEOUT:-900}

need_root() { [ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }; }

# --- The run's state and its removal -------------------------------------------------------------
# bench_init TEMPLATE [CTL_PREFIX ...]: NS (namespaces made here), PIDS (processes started here),
# TMP (a new directory, `mktemp -d TEMPLATE`). A controller names its port namespaces
# `PREFIX-PORT`; those of the CTL_PREFIXes are removed too, if a killed controller left them.
# KEEP_TMP (non-empty): cleanup keeps TMP and says so.
bench_init() {
  TMP_TEMPLATE=$1; shift
  CTL_PREFIXES=("$@")
  NS=(); PIDS=(); TMP=$(mktemp -d "$TMP_TEMPLATE")
}
# The namespaces, existing now, of the controllers' prefixes.
ctl_namespaces() {
  ip netns list 2>/dev/null | awk -v ps="${CTL_PREFIXES[*]:-}" \
    'BEGIN { n = split(ps, p, " ") } { for (i = 1; i <= n; i++) if (index($1, p[i] "-") == 1) { print $1; next } }'
}
cleanup() {
  local p x
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done
  for x in $(ctl_namespaces) "${NS[@]:-}"; do
    [ -n "$x" ] || continue
    for p in $(ip netns pids "$x" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    ip netns del "$x" 2>/dev/null || true
  done
  if [ -n "${KEEP_TMP:-}" ]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
}
# fresh: everything of the last run removed, a new TMP for the next.
fresh() { cleanup; NS=(); PIDS=(); TMP=$(mktemp -d "$TMP_TEMPLATE"); }
# bench_traps [CMD]: cleanup (then CMD) on exit; Ctrl-C exits 130, SIGTERM 143.
bench_traps() {
  # shellcheck disable=SC2064  # CMD is expanded now, on purpose
  trap "cleanup${1:+; $1}" EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# pick_binary: BIN, the binary to measure: $MIDONET_BGP, else the release build, else the debug one.
pick_binary() {
  BIN=${MIDONET_BGP:-}
  if [ -z "$BIN" ]; then
    if [ -x target/release/midonet-bgp ]; then BIN=target/release/midonet-bgp; else BIN=target/debug/midonet-bgp; fi
  fi
}

# --- What a run prints first ----------------------------------------------------------------------
machine() { echo "$(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r)"; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
# print_header [SUFFIX]: the machine and its load, the binary, bgpd's and BIRD's versions.
print_header() {
  echo "machine: $(machine); load $(loadavg)"
  echo "binary: $BIN; bgpd: $("$BGPD" --version 2>/dev/null | head -1); $(bird --version 2>&1 | head -1)${1:-}"
}

# --- Time, waits, processes ------------------------------------------------------------------------
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }
# Peak RSS (VmHWM) of a process, in kB.
peak_kb() { awk '/VmHWM/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# wait_for WHAT CMD...: runs CMD every 0.1 s until it succeeds; fails the run after $TIMEOUT s.
wait_for() { wait_every 0.1 "$@"; }
# wait_every STEP WHAT CMD...: the same, every STEP seconds.
wait_every() {
  local step=$1 what=$2 deadline=$(( $(date +%s) + TIMEOUT )); shift 2
  until "$@"; do
    if [ "$(date +%s)" -ge "$deadline" ]; then echo "timed out after ${TIMEOUT}s waiting for $what" >&2; exit 1; fi
    sleep "$step"
  done
}
# settle STEP CMD...: runs CMD every STEP seconds until it succeeds, 600 tries at most (a daemon's
# pid file or socket appearing; what needs it next fails if it never does).
settle() {
  local step=$1; shift
  for _ in $(seq 600); do "$@" && return 0; sleep "$step"; done
  return 0
}
# adopt_pid FILE STEP: waits for a daemon's pid FILE (polled every STEP s); its pid joins PIDS.
adopt_pid() { settle "$2" test -s "$1"; PIDS+=("$(cat "$1")"); }
mkns() { ip netns add "$1"; NS+=("$1"); ip -n "$1" link set lo up; }

# --- The BIRD 2 provider ---------------------------------------------------------------------------
# bird_routes N: BIRD's router id (192.0.2.2), device protocol and static protocol s4 with N IPv4
# /24s from 32.0.0.0 upwards (a million /24s do not fit the documentation ranges).
bird_routes() {
  printf 'router id 192.0.2.2;\nprotocol device {}\nprotocol static s4 {\n  ipv4;\n'
  awk -v n="$1" 'BEGIN{for(i=0;i<n;i++) printf "  route %d.%d.%d.0/24 blackhole;\n", 32+int(i/65536), int(i/256)%256, i%256}'
  printf '}\n'
}
# bird_dut: the eBGP session exporting everything to 192.0.2.1 (AS 65001) from AS 65100.
bird_dut() {
  cat <<CONF
protocol bgp dut {
  local 192.0.2.2 as 65100; neighbor 192.0.2.1 as 65001;
  connect delay time 1; connect retry time 1; error wait time 1, 2;
  ipv4 { import none; export all; };
}
CONF
}
# bird_start NS DIR: BIRD in NS with DIR/bird.conf, control socket DIR/bird.ctl; its pid joins PIDS.
bird_start() {
  ip netns exec "$1" bird -c "$2/bird.conf" -s "$2/bird.ctl" -P "$2/bird.pid" >/dev/null
  adopt_pid "$2/bird.pid" 0.1
}
# bird_has CTL N: BIRD (control socket CTL) has its N static routes.
bird_has() { birdc -s "$1" show route count 2>/dev/null | grep -q "^$2 of $2 routes"; }
# provider_link PNS PIF PEER_NS PEER_IF: a veth PIF (192.0.2.2/24, in PNS) -- PEER_IF (in PEER_NS).
provider_link() {
  ip link add "$2" netns "$1" type veth peer name "$4" netns "$3"
  ip -n "$1" addr add 192.0.2.2/24 dev "$2"; ip -n "$1" link set "$2" up
  ip -n "$3" link set "$4" up
}

# --- FRR's bgpd -----------------------------------------------------------------------------------
# bgpd_conf: AS 65001, router id 192.0.2.1, BIRD (192.0.2.2, AS 65100) as its one neighbor.
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
# bgpd_start NS DIR ARGS...: bgpd in NS (ARGS first) with DIR/bgpd.conf, its pid file and Vty
# socket in DIR; its pid joins PIDS.
bgpd_start() {
  local ns=$1 d=$2; shift 2
  ip netns exec "$ns" "$BGPD" "$@" -f "$d/bgpd.conf" -i "$d/bgpd.pid" --vty_socket "$d" -S -d
  adopt_pid "$d/bgpd.pid" 0.05
}
pfx_rcvd() { # vty dir
  vtysh --vty_socket "$1" -d bgpd -c "show bgp ipv4 unicast summary json" 2>/dev/null \
    | awk -F: '/"pfxRcd"/{gsub(/[^0-9]/,"",$2); print $2; exit}'
}
rcvd_is() { [ "$(pfx_rcvd "$1")" = "$2" ]; }
# time_bgpd_alone NS DIR N [STEP]: bgpd alone (-Z: no zebra) in NS, whose link to the provider
# is up; sets ALONE, the seconds from its start until it has received N (polled every STEP s,
# default 0.1).
time_bgpd_alone() {
  local ns=$1 d=$2 n=$3 step=${4:-0.1} t0
  bgpd_conf > "$d/bgpd.conf"
  t0=$(now)
  bgpd_start "$ns" "$d" -Z -z /nonexistent
  wait_every "$step" "bgpd to receive $n" rcvd_is "$d" "$n"
  ALONE=$(since "$t0")
}

# --- The controller -------------------------------------------------------------------------------
# ctl_config RUN_DIR HOST_NS UPLINK [SINK_LINE ...]: a `midonet-bgp run` config: prefix $CPFX, the
# kernel sink on table 200 (or CTL_SINK=none: no FIB) plus the SINK_LINEs, port p1 on UPLINK (port_p1).
ctl_config() {
  local run=$1 hns=$2 up=$3; shift 3
  printf '[controller]\nprefix = "%s"\nrun_dir = "%s"\nhost_namespace = "%s"\n' "$CPFX" "$run" "$hns"
  if [ "${CTL_SINK:-kernel}" = kernel ]; then printf '[sink]\nkind = "kernel"\ntable = 200\n'
  else printf '[sink]\nkind = "%s"\n' "$CTL_SINK"; fi
  [ $# -eq 0 ] || printf '%s\n' "$@"
  port_p1 "$up"
}
# port_p1 UPLINK [LINE ...]: port p1 on UPLINK, 192.0.2.1/24, AS 65001, router id 192.0.2.1 (the
# LINEs added to its keys), with BIRD (192.0.2.2, AS 65100) as its peer.
port_p1() {
  local up=$1; shift
  printf '[[port]]\nname = "p1"\n'
  [ $# -eq 0 ] || printf '%s\n' "$@"
  cat <<CONF
uplink = "$up"
address = "192.0.2.1/24"
local_as = 65001
router_id = "192.0.2.1"
[[port.peer]]
address = "192.0.2.2"
remote_as = 65100
connect_retry = 1
CONF
}
# ctl_accepted SOCK: the routes the controller holds, its zebra server's accepted count in `status`.
ctl_accepted() { ctl_counts "$1" | cut -d' ' -f1; }
# ctl_counts SOCK: "ACCEPTED INSTALLED" from one `status`: the zebra server's accepted count and
# the routes the kernel acknowledged in the kernel sink's first table (0 when unknown).
ctl_counts() {
  "$BIN" status --json --socket "$1" 2>/dev/null | tr -d ' \n' | awk '{
    a = 0; i = 0
    if (match($0, /"accepted":[0-9]+/)) a = substr($0, RSTART + 11, RLENGTH - 11)
    f = index($0, "\"fib\":[")
    if (f > 0 && match(substr($0, f), /"installed":[0-9]+/)) i = substr(substr($0, f), RSTART + 12, RLENGTH - 12)
    print a + 0, i + 0 }'
}

# --- The FIB --------------------------------------------------------------------------------------
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

# ratio A B: A/B to two places, "?" when either is unknown or B is 0.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a != "?" && b != "?" && b + 0 > 0) printf "%.2f", a/b; else print "?" }'; }
