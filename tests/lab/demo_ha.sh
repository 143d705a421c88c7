#!/usr/bin/env bash
# demo_ha.sh: the `make demo-ha` script. It brings up the leaf-spine lab
# with its two collectors, runs the HA pair in them (tests/lab/ha.sh:
# fabmond + keepalived in c1 and c2, VRRPv3, the VIP 10.99.0.100), starts
# light traffic, relays this machine's 127.0.0.1:PORT to the VIP (so the
# web page and fabtop follow the VIP through a failover), prints how to
# kill the master, and shows both nodes' roles every second until Ctrl-C,
# which tears everything down.
#
# env: LAB_PREFIX (fm), BUILD (build), DEMO_PORT (8008), HA_ADVERT (0.1),
#      DEMO_FEED (dual | vip: vip needs the ha.forward_to key, see
#      ha/README.md), HA_PREEMPT (no)
set -euo pipefail
cd "$(dirname "$0")/../.."
export LAB_PREFIX=${LAB_PREFIX:-fm}
export BUILD=${BUILD:-build}
export HA_ADVERT=${HA_ADVERT:-0.1}
export HA_FEED=${DEMO_FEED:-dual}
PORT=${DEMO_PORT:-8008}
VIP=10.99.0.100
LAB=tests/lab/lab.sh
HA=tests/lab/ha.sh
pids=()

cleanup() {
	trap - INT TERM EXIT
	echo
	echo "demo-ha: tearing down"
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	$HA stop >/dev/null 2>&1 || true
	$LAB down >/dev/null 2>&1 || true
	echo "demo-ha: done (no namespace or process left behind)"
}
trap cleanup EXIT
trap "cleanup; exit 130" INT TERM

if [ "$(id -u)" != 0 ]; then
	echo "demo-ha: the lab needs root (network namespaces)" >&2
	exit 1
fi
if [ ! -x "$BUILD/fabmond" ]; then
	echo "demo-ha: no $BUILD/fabmond: run make first" >&2
	exit 1
fi
case $HA_FEED in
dual) target=10.99.0.101:6343,10.99.0.102:6343 ;;
vip) target=$VIP:6343 ;;
*)
	echo "demo-ha: DEMO_FEED is dual or vip" >&2
	exit 1
	;;
esac
echo "demo-ha: building the lab (2 spines, 4 leaves, 6 hosts, 2 collectors)," \
	"sFlow to $target"
SFLOW_TARGET=$target $LAB up
$LAB wait
echo "demo-ha: fabmond + keepalived in c1 (priority 150) and c2 (100)"
$HA start
tests/lab/traffic.sh >/dev/null 2>&1 &
pids+=($!)
# The lab touches nothing in the root namespace: a loopback-only socat
# relays this machine's 127.0.0.1:PORT to the VIP, from the management
# namespace (on the collectors' LAN, like a NOC client).
socat TCP-LISTEN:"$PORT",bind=127.0.0.1,reuseaddr,fork \
	EXEC:"ip netns exec $LAB_PREFIX-mgmt socat STDIO TCP\:$VIP\:8008" \
	2>/dev/null &
pids+=($!)

p="LAB_PREFIX=$LAB_PREFIX BUILD=$BUILD"
cat <<TXT

The HA pair runs in namespaces $LAB_PREFIX-c1 (10.99.0.101) and $LAB_PREFIX-c2
(10.99.0.102); the MASTER holds the VIP $VIP. This machine's
127.0.0.1:$PORT goes to the VIP: open http://127.0.0.1:$PORT/ in a browser, or run
  $BUILD/fabtop --host 127.0.0.1:$PORT
and watch the role in the header while you kill the master (M is c1 or c2,
whichever the view below calls MASTER):

  $p $HA fabmond-kill M          # fabmond SIGKILL (restart: fabmond-start M)
  $p $HA keepalived-kill M       # keepalived SIGTERM (restart: keepalived-start M)
  $p $HA link M down             # the collector's link (back: link M up)
  $p $HA status                  # roles, health, VIP, track files

  curl -s http://127.0.0.1:$PORT/api/v1/ha           # the VIP's answer
  curl -s 'http://127.0.0.1:$PORT/api/v1/events?type=ha&from=-600'
  logs: /tmp/fabmon-lab-$LAB_PREFIX/ha/c1/ (fabmond.log, keepalived.log), same for c2

With nopreempt, a node that comes back stays BACKUP. Ctrl-C tears everything down.
TXT
while sleep 1; do
	line=$(date +%H:%M:%S)
	for n in c1 c2; do
		s=$(ip netns exec "$LAB_PREFIX-$n" curl -s --max-time 0.5 \
			http://127.0.0.1:8008/api/v1/ha 2>/dev/null | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except ValueError:
    print("down"); sys.exit()
h = d.get("health") or {}
print("%s%s%s" % (d["role"], " +VIP" if d.get("holdsVip") else "",
      "" if h.get("ok") else " sick:" + ",".join(h.get("reasons", []))))
' 2>/dev/null || true)
		line+="  $n: ${s:-down}"
	done
	echo "$line"
done
