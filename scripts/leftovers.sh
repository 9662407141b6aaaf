#!/usr/bin/env bash
# What the test suite may leave on the host, as one sorted list: network namespaces, veth and
# bridge links, tc filters and qdiscs on host links, bgpd/bird/gobgpd/zookeeper processes, and
# files in the run directories tests and the controller use. CI saves it before the tests
# (`snapshot FILE`) and compares after (`compare FILE`), so anything a test creates under any
# name shows up, not only names matching a pattern.
set -euo pipefail
inventory() {
  ip netns list 2>/dev/null | awk '{print "netns " $1}'
  ip -o link show type veth 2>/dev/null | awk -F': ' '{sub(/@.*/, "", $2); print "veth " $2}'
  ip -o link show type bridge 2>/dev/null | awk -F': ' '{print "bridge " $2}'
  for dev in $(ip -o link show 2>/dev/null | awk -F': ' '{sub(/@.*/, "", $2); print $2}'); do
    tc filter show dev "$dev" ingress 2>/dev/null | grep -q . && echo "tc-filter ingress $dev"
    tc filter show dev "$dev" egress 2>/dev/null | grep -q . && echo "tc-filter egress $dev"
    tc qdisc show dev "$dev" 2>/dev/null | grep -qE 'qdisc (ingress|clsact)' && echo "tc-qdisc $dev"
  done
  # Processes by executable name; zookeeper runs as java with its main class on the command line.
  pgrep -a -x 'bgpd|bird|gobgpd|zebra' 2>/dev/null | awk '{print "process " $2}' || true
  pgrep -a -f 'org.apache.zookeeper.server' 2>/dev/null | awk '{print "process zookeeper"}' || true
  # Files in the run directories (their contents) and per-test run directories (themselves).
  find /run/midonet-bgp /run/lock/midonet-bgp -mindepth 1 -maxdepth 2 2>/dev/null | sed 's/^/file /' || true
  find /tmp -maxdepth 1 \( -name 'mbgp-*' -o -name 'testbgpd-*' -o -name 'mnb*' \) 2>/dev/null | sed 's/^/file /' || true
  true
}
case "${1:-}" in
  snapshot) inventory | sort -u > "$2" ;;
  compare)
    now=$(mktemp)
    inventory | sort -u > "$now"
    new=$(comm -13 "$2" "$now")
    rm -f "$now"
    if [ -n "$new" ]; then
      echo "leftovers after the test suite:"
      echo "$new"
      exit 1
    fi
    echo "no leftovers"
    ;;
  *) echo "usage: $0 snapshot FILE | compare FILE" >&2; exit 2 ;;
esac
