#!/usr/bin/env bash
# tests/lab/selftest.sh - end-to-end check of the lab itself (needs root).
#
# up -> wait -> sFlow from all 6 agents reaches c1 while traffic.sh runs -> an hping3
# UDP flow h1 -> h3 is sampled with the real input/output ifIndex at every hop ->
# exec/status/info work -> up again over a running lab -> down twice -> nothing left.
# Uses its own prefix (LAB_PREFIX, default fmst) so it does not touch a demo lab.
# Ends with "N passed, N failed"; exit status 1 if anything failed.
set -euo pipefail

export LAB_PREFIX=${LAB_PREFIX:-fmst}
unset LAB_DIR SFLOW_TARGET SFLOW_RATE
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lab=$here/lab.sh
work=$(mktemp -d /tmp/fabmon-lab-selftest.XXXXXX)
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   - $*"; }
ko() { fail=$((fail + 1)); echo "FAIL - $*"; }
check() { # description command...
    local d=$1
    shift
    if "$@"; then ok "$d"; else ko "$d"; fi
}
ms_since() { echo $(( (${EPOCHREALTIME/./} - $1) / 1000 )); }
cleanup() {
    "$lab" down >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

[[ $(id -u) == 0 ]] || { echo "selftest: needs root"; echo "0 passed, 1 failed"; exit 1; }

# ---- up / wait
t=${EPOCHREALTIME/./}
check "up" "$lab" up
echo "#   up took $(ms_since "$t") ms"
t=${EPOCHREALTIME/./}
check "wait (fabric forwards, LLDP over SNMP converged)" "$lab" wait 30
echo "#   wait took $(ms_since "$t") ms"

declare -A I=()
while IFS='=' read -r k v; do I[$k]=$v; done < <("$lab" info)
check "info: lab.up=1" test "${I[lab.up]}" = 1
check "info: port.l1.swp1.ifindex is set" test -n "${I[port.l1.swp1.ifindex]}"
check "info: port.l1.swp3.peer=h1:eth0" test "${I[port.l1.swp3.peer]}" = h1:eth0
check "exec: c1 has 10.99.0.101" bash -c "'$lab' exec c1 ip -o -4 addr show dev eth0 | grep -q '10.99.0.101/24'"
check "hping3 UDP h1 -> h5 crosses the fabric (ICMP port unreachable from h5)" \
    bash -c "'$lab' exec h1 hping3 -n -c 3 -i u100000 --udp -p 9 '${I[host.h5.ip]}' 2>&1 | grep -q 'Port Unreachable from ip=${I[host.h5.ip]}'"
check "status exits 0" bash -c "'$lab' status >'$work/status.txt' 2>&1"

# ---- sFlow: capture in c1 while traffic runs, plus a known UDP flow h1 -> h3
"$lab" exec c1 tshark -q -i eth0 -f 'udp port 6343' -a duration:7 -w "$work/sflow.pcap" >/dev/null 2>&1 &
cap=$!
sleep 1.5
"$here/traffic.sh" 4 >/dev/null 2>&1 &
trf=$!
"$lab" exec h1 hping3 -n -q -c 1000 -i u1000 --udp -p 7777 "${I[host.h3.ip]}" >/dev/null 2>&1 || true
wait "$trf" || true
wait "$cap" || true
"$here/sflow_samples.sh" "$work/sflow.pcap" >"$work/samples.txt" || true
nagents=$(awk '{ print $1 }' "$work/samples.txt" | sort -u | wc -l)
echo "#   $(wc -l <"$work/samples.txt") flow samples from $nagents agents"
want_agents=$(for s in ${I[switches]}; do echo "${I[switch.$s.mgmt]}"; done | sort | tr '\n' ' ')
got_agents=$(awk '{ print $1 }' "$work/samples.txt" | sort -u | tr '\n' ' ')
check "sFlow from all 6 switch agents reaches c1 ($got_agents)" test "$got_agents" = "$want_agents"
check "sampling rate 10 in every flow sample" bash -c "awk '\$3 != 10 { bad = 1 } END { exit bad }' '$work/samples.txt'"

# the h1 -> h3 flow: every sample must carry the ifIndexes of the ports on its path
src=${I[host.h1.ip]} dst=${I[host.h3.ip]}
ifx() { echo "${I[port.$1.ifindex]}"; }
l1in=$(ifx l1.swp3) l1up="$(ifx l1.swp1) $(ifx l1.swp2)"
s1in=$(ifx s1.swp1) s1out=$(ifx s1.swp2) s2in=$(ifx s2.swp1) s2out=$(ifx s2.swp2)
l2in="$(ifx l2.swp1) $(ifx l2.swp2)" l2out=$(ifx l2.swp3)
awk -v s="$src" -v d="$dst" '$6 == s && $7 == d && $8 == "udp" && $9 == 7777' "$work/samples.txt" >"$work/flow.txt"
declare -A per=()
bad=0
while read -r agent _ _ in out _; do
    per[$agent]=$(( ${per[$agent]:-0} + 1 ))
    case $agent in
        "${I[switch.l1.mgmt]}") [[ $in == "$l1in" && " $l1up " == *" $out "* ]] || bad=1 ;;
        "${I[switch.s1.mgmt]}") [[ $in == "$s1in" && $out == "$s1out" ]] || bad=1 ;;
        "${I[switch.s2.mgmt]}") [[ $in == "$s2in" && $out == "$s2out" ]] || bad=1 ;;
        "${I[switch.l2.mgmt]}") [[ " $l2in " == *" $in "* && $out == "$l2out" ]] || bad=1 ;;
        *) bad=1 ;;
    esac
    if [[ $bad == 1 ]]; then
        echo "#   unexpected sample: $agent in=$in out=$out"
        bad=2
    fi
done <"$work/flow.txt"
for s in l1 s1 s2 l2; do
    echo "#   h1->h3 samples at $s: ${per[${I[switch.$s.mgmt]}]:-0}"
done
check "h1->h3 samples carry the real in/out ifIndex at every hop" test "$bad" = 0
check "h1->h3 sampled at l1, l2 and both spines (ECMP)" \
    test "${per[${I[switch.l1.mgmt]}]:-0}" -gt 0 -a "${per[${I[switch.l2.mgmt]}]:-0}" -gt 0 \
    -a "${per[${I[switch.s1.mgmt]}]:-0}" -gt 0 -a "${per[${I[switch.s2.mgmt]}]:-0}" -gt 0

# ---- up over a running lab, then down twice
cp "${I[lab.dir]}/pids" "$work/pids1"
t=${EPOCHREALTIME/./}
check "up again over a running lab" "$lab" up
echo "#   second up took $(ms_since "$t") ms"
check "wait after second up" "$lab" wait 30
cp "${I[lab.dir]}/pids" "$work/pids2"
t=${EPOCHREALTIME/./}
check "down" "$lab" down
echo "#   down took $(ms_since "$t") ms"
check "down again (idempotent)" "$lab" down
left_ns=$(ip netns list | awk '{ print $1 }' | grep -c "^$LAB_PREFIX-" || true)
check "no namespace left" test "$left_ns" = 0
alive=0
while read -r pid _; do
    if [[ -e /proc/$pid/ns/net ]] && ! grep -q '^[^)]*) [ZX]' "/proc/$pid/stat" 2>/dev/null; then
        # a PID may have been reused: only count it if it is still one of ours
        case $(cat "/proc/$pid/comm" 2>/dev/null) in uacctd | snmpd | lldpd) alive=$((alive + 1)) ;; esac
    fi
done < <(cat "$work/pids1" "$work/pids2")
check "no lab process left" test "$alive" = 0
check "run dir removed" test ! -e "${I[lab.dir]}"

echo "$pass passed, $fail failed"
((fail == 0))
