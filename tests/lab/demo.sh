#!/usr/bin/env bash
# demo.sh: the `make demo` script. It brings up the leaf-spine lab
# (profile A: Linux routers with uacctd sFlow, snmpd+lldpd), runs fabmond
# in the collector namespace c1, starts a light traffic loop between the
# hosts, forwards 127.0.0.1:8008 on this machine to fabmond, and prints a
# live per-agent view until Ctrl-C, which tears everything down.
set -euo pipefail
cd "$(dirname "$0")/../.."
export LAB_PREFIX=${LAB_PREFIX:-fm}
BUILD=${BUILD:-build}
PORT=${DEMO_PORT:-8008}
LAB=tests/lab/lab.sh
run_dir=$(mktemp -d /tmp/fabmon-demo.XXXXXX)
pids=()

cleanup() {
	trap - INT TERM EXIT
	echo
	echo "demo: tearing down"
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	$LAB down >/dev/null 2>&1 || true
	rm -rf "$run_dir"
	echo "demo: done (no namespace or process left behind)"
}
trap cleanup EXIT
trap "cleanup; exit 130" INT TERM

if [ "$(id -u)" != 0 ]; then
	echo "demo: the lab needs root (network namespaces)" >&2
	exit 1
fi
echo "demo: building the lab (2 spines, 4 leaves, 6 hosts, 2 collectors)"
$LAB up
$LAB exec c1 "$BUILD/fabmond" -d --sflow 10.99.0.101:6343 \
	--http 0.0.0.0:8008 --state-dir "$run_dir/state" \
	-o sflow.counters=0 -o snmp.counters_s=5 \
	>"$run_dir/fabmond.log" 2>&1 &
pids+=($!)
$LAB wait
tests/lab/traffic.sh >/dev/null 2>&1 &
pids+=($!)
# The lab touches nothing in the root namespace: a loopback-only socat
# relays this machine's 127.0.0.1:PORT to fabmond inside c1.
socat TCP-LISTEN:"$PORT",bind=127.0.0.1,reuseaddr,fork \
	EXEC:"ip netns exec $LAB_PREFIX-c1 socat STDIO TCP\:127.0.0.1\:8008" \
	2>/dev/null &
pids+=($!)

cat <<TXT

fabmond is running in namespace $LAB_PREFIX-c1 and receiving sFlow from the six
switches of the lab. Open or curl (from this machine):

  curl -s http://127.0.0.1:$PORT/api/v1/health     # per-agent ingest health
  curl -s http://127.0.0.1:$PORT/agents/json       # sFlow-RT's agent list
  curl -s http://127.0.0.1:$PORT/version

  tests/lab/lab.sh exec h1 hping3 -n -c 2000 -i u1000 --udp -p 53 10.2.4.15
  tests/lab/lab.sh status                          # fabric and LLDP health
  fabmond log: $run_dir/fabmond.log

Live view below, every 2 s. Ctrl-C tears everything down.
TXT
while sleep 2; do
	if ! kill -0 "${pids[0]}" 2>/dev/null; then
		echo "demo: fabmond exited; its log:"
		tail -20 "$run_dir/fabmond.log"
		exit 1
	fi
	curl -s "http://127.0.0.1:$PORT/api/v1/health" | python3 -c '
import json, sys, time
h = json.load(sys.stdin)
i = h["ingest"]
print(time.strftime("%H:%M:%S"), "status", h["status"], "datagrams",
      i["datagrams"], "samples", i["samples"], "kernel drops",
      i["kernelDrops"], "errors", sum(i["errors"].values()))
for a in h["agents"]:
    print("   agent %-15s datagrams %6d flow %6d counter %5d lost %d errors %d seen %.1fs ago" % (
        a["agent"] or ("?" + a["source"]), a["datagrams"], a["flowSamples"],
        a["counterSamples"], a["seqLost"], sum(a["errors"].values()),
        a["lastSeenAgoMs"] / 1000))
' || echo "demo: health not answering yet"
done
