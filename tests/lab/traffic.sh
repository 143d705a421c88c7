#!/usr/bin/env bash
# tests/lab/traffic.sh [SECONDS] - light traffic between lab hosts on different leaves.
#
# Runs low-rate hping3 UDP, hping3 TCP SYN and ping among several host pairs of the
# lab (LAB_PREFIX, default fm) until SECONDS have passed (default TRAFFIC_MAX, 3600)
# or it is killed (INT/TERM); its children are stopped on exit. Every child has its
# own packet count, so even a SIGKILLed traffic.sh stops generating traffic by itself.
# Only the lab's own host addresses are ever targeted.
#
# env: LAB_PREFIX (fm), TRAFFIC_PPS (20: packets/s per flow), TRAFFIC_MAX (3600)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROG=${0##*/}
dur=${1:-${TRAFFIC_MAX:-3600}}
pps=${TRAFFIC_PPS:-20}
[[ $dur =~ ^[0-9]+$ && $dur -gt 0 ]] || { echo "$PROG: bad SECONDS '$dur'" >&2; exit 2; }
[[ $pps =~ ^[0-9]+$ && $pps -ge 1 && $pps -le 1000 ]] || { echo "$PROG: bad TRAFFIC_PPS '$pps' (1..1000)" >&2; exit 2; }

declare -A INFO=()
while IFS='=' read -r k v; do INFO[$k]=$v; done < <("$here/lab.sh" info)
[[ ${INFO[lab.up]:-0} == 1 ]] || { echo "$PROG: lab '${INFO[lab.prefix]:-?}' is not up" >&2; exit 1; }

ns() { printf '%s' "${INFO[node.$1.ns]}"; }
ip_of() { printf '%s' "${INFO[host.$1.ip]}"; }

count=$((dur * pps))
interval_us=$((1000000 / pps))
children=()

cleanup() {
    trap - EXIT INT TERM
    local p
    for p in "${children[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    sleep 0.2
    for p in "${children[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

udp() { # src dst port
    ip netns exec "$(ns "$1")" hping3 -n -q --udp -p "$3" -i "u$interval_us" -c "$count" "$(ip_of "$2")" >/dev/null 2>&1 &
    children+=($!)
}
tcp() { # src dst port
    ip netns exec "$(ns "$1")" hping3 -n -q -S -p "$3" -i "u$interval_us" -c "$count" "$(ip_of "$2")" >/dev/null 2>&1 &
    children+=($!)
}
icmp() { # src dst
    local iv
    iv=$(awk -v p="$pps" 'BEGIN { i = 1 / p; if (i < 0.2) i = 0.2; printf "%.3f", i }')
    ip netns exec "$(ns "$1")" ping -q -n -i "$iv" -w "$dur" "$(ip_of "$2")" >/dev/null 2>&1 &
    children+=($!)
}

# cross-leaf pairs: every leaf sends and receives; hping3 increments the source
# port per packet, so the flows spread over both spines (L4 ECMP hash)
udp h1 h3 5001
udp h3 h5 5002
udp h4 h6 5003
udp h6 h2 5004
tcp h2 h4 80
tcp h5 h1 443
icmp h1 h4
icmp h3 h6

echo "$PROG: ${#children[@]} flows at ${pps} pps each for ${dur}s (pids ${children[*]})" >&2
sleep "$dur" &
children+=($!)
wait "$!" || true
