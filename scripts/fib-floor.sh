#!/usr/bin/env bash
# The kernel's own floor for the FIB writer (issue #16): N IPv4 /24s from 16.0.0.0 up created and
# then deleted in table 200 of a fresh namespace with `ip -batch` (one netlink request per route,
# each acknowledged), with the attributes the kernel sink writes: proto bgp, metric 20, via
# 192.0.2.1 onlink on a veth. Prints seconds and µs per route for each phase.
#
# Usage (root): bash scripts/fib-floor.sh [N ...]            (default N = 100000)
#   ORDER=asc|desc|shuffle   order of the deletes (default asc: the order of the creates)
#   DELETE=full|key          full: the delete names dev, via and onlink too; key (default):
#                            only prefix, table, proto and metric, as the sink's deletes do
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "fib-floor.sh: needs root" >&2; exit 1; }
ORDER=${ORDER:-asc}
DELETE=${DELETE:-key}
NS="mnbfloor$$"
TMP=$(mktemp -d)
cleanup() { ip netns del "$NS" 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT

for N in "${@:-100000}"; do
	ip netns add "$NS"
	ip -n "$NS" link set lo up
	ip -n "$NS" link add up1 type veth peer name up1p
	ip -n "$NS" link set up1 up
	ip -n "$NS" link set up1p up
	ip -n "$NS" addr add 192.0.2.10/24 dev up1
	awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) {
		a = 16 + int(i / 65536); b = int(i / 256) % 256; c = i % 256
		printf "route add %d.%d.%d.0/24 via 192.0.2.1 dev up1 onlink table 200 proto bgp metric 20\n", a, b, c } }' \
		>"$TMP/add"
	sed 's/^route add/route del/' "$TMP/add" >"$TMP/del.full"
	sed 's/^route add \([^ ]*\) .*$/route del \1 table 200 proto bgp metric 20/' "$TMP/add" >"$TMP/del.key"
	case "$ORDER" in
	asc) cp "$TMP/del.$DELETE" "$TMP/del" ;;
	desc) tac "$TMP/del.$DELETE" >"$TMP/del" ;;
	shuffle) shuf --random-source=<(yes) "$TMP/del.$DELETE" >"$TMP/del" ;;
	*) echo "ORDER=$ORDER?" >&2; exit 2 ;;
	esac
	# Wall time, and the CPU time of `ip` (user + system: the kernel's work is the system part).
	TIMEFORMAT='%R %U %S'
	{ time ip -n "$NS" -batch "$TMP/add"; } 2>"$TMP/t.add"
	have=$(ip -n "$NS" -4 route show table 200 proto bgp | wc -l)
	{ time ip -n "$NS" -batch "$TMP/del"; } 2>"$TMP/t.del"
	left=$(ip -n "$NS" -4 route show table 200 proto bgp | wc -l)
	read -r cr cu cs <"$TMP/t.add"
	read -r dr du ds <"$TMP/t.del"
	awk -v n="$N" -v cr="$cr" -v cu="$cu" -v cs="$cs" -v dr="$dr" -v du="$du" -v ds="$ds" \
		-v have="$have" -v left="$left" -v order="$ORDER" -v del="$DELETE" -v la="$(cut -d' ' -f1-3 /proc/loadavg)" \
		'BEGIN { printf "N=%d create %.2f s wall, %.1f us/route (user %.2f s, sys %.2f s; table %d)\n", n, cr, cr * 1e6 / n, cu, cs, have
			printf "N=%d delete (%s, %s) %.2f s wall, %.1f us/route (user %.2f s, sys %.2f s; left %d); load %s\n",
			n, del, order, dr, dr * 1e6 / n, du, ds, left, la }'
	ip netns del "$NS"
done
