#!/usr/bin/env bash
# tests/lab/ha.sh - the fabmon HA pair in the lab: fabmond + keepalived in
# the collectors c1 (10.99.0.101, priority 150) and c2 (10.99.0.102, 100),
# sharing the VIP 10.99.0.100/24 on eth0. The lab must be up
# (tests/lab/lab.sh up; SFLOW_TARGET=10.99.0.101:6343,10.99.0.102:6343 for
# dual-feed, SFLOW_TARGET=10.99.0.100:6343 for VIP-feed).
#
# The keepalived.conf and fabmond's [ha] section come from ha/mkconf.sh, the
# same renderer an operator uses (ha/README.md). fabmond runs under a
# small shell that writes 1 into the track file when fabmond exits, as
# fabmond.service's ExecStopPost does (ha/fabmon-ha-down): a fabmond killed
# with SIGKILL hands the VIP over at once.
#
# usage: ha.sh start [NODE]         fabmond, then keepalived (c1 c2 by default)
#        ha.sh stop [NODE]          keepalived (SIGTERM), then fabmond
#        ha.sh fabmond-start NODE   (then a keepalived reload, so that the new
#                                   fabmond hears its state on the FIFO)
#        ha.sh fabmond-kill NODE [SIG]      (SIGKILL by default)
#        ha.sh keepalived-start NODE
#        ha.sh keepalived-kill NODE [SIG]   (SIGTERM by default)
#        ha.sh link NODE up|down    the collector's eth0
#        ha.sh pid NODE fabmond|keepalived
#        (fabmond's exit status lands in <lab dir>/ha/NODE/fabmond.rc)
#        ha.sh status               each node's role, health and the VIP
#        ha.sh conf NODE            print the generated configs
# env:   LAB_PREFIX (fm), LAB_DIR, BUILD (build), HA_VIP (10.99.0.100/24),
#        HA_ADVERT (0.1), HA_UNICAST (0), HA_PREEMPT (no | yes | DELAY_S),
#        HA_FEED (dual | vip), HA_FABMOND_ARGS (more fabmond arguments)
# Every process is started in its collector's namespace and recorded in
# <lab dir>/pids, so `lab.sh down` stops them too; this script stops them
# by PID only (never by name: PIDs are shared between namespaces).
set -euo pipefail

PROG=${0##*/}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PREFIX=${LAB_PREFIX:-fm}
LAB_DIR=${LAB_DIR:-/tmp/fabmon-lab-$PREFIX}
LAB_DIR=${LAB_DIR%/}
BUILD=${BUILD:-build}
FABMOND=${FABMOND:-$ROOT/$BUILD/fabmond}
HA_VIP=${HA_VIP:-10.99.0.100/24}
HA_ADVERT=${HA_ADVERT:-0.1}
HA_UNICAST=${HA_UNICAST:-0}
HA_PREEMPT=${HA_PREEMPT:-no}
HA_FEED=${HA_FEED:-dual}
HA_FABMOND_ARGS=${HA_FABMOND_ARGS:-}
declare -A IP=([c1]=10.99.0.101 [c2]=10.99.0.102)
declare -A PEER=([c1]=c2 [c2]=c1)
declare -A PRIO=([c1]=150 [c2]=100)

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { log "$*"; exit 1; }
ns() { printf '%s-%s' "$PREFIX" "$1"; }
dir() { printf '%s/ha/%s' "$LAB_DIR" "$1"; }
node_ok() { [[ $1 == c1 || $1 == c2 ]] || die "NODE is c1 or c2, not '$1'"; }

[[ $(id -u) == 0 ]] || die "must run as root"
[[ -f $LAB_DIR/.fabmon-lab ]] || die "lab '$PREFIX' is not up ($LAB_DIR)"

proc_start() { # pid -> start time (field 22 of /proc/PID/stat)
    local s rest f
    { read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
    rest=${s##*) }
    read -ra f <<<"$rest"
    printf '%s' "${f[19]}"
}
alive() { # pidfile: running, and still the process we started
    local pid st
    [[ -f $1 ]] || return 1
    read -r pid st <"$1" || return 1
    [[ -n $pid && $(proc_start "$pid" 2>/dev/null || true) == "$st" ]] || return 1
    local s
    { read -r s <"/proc/$pid/stat"; } 2>/dev/null || return 1
    s=${s##*) }
    [[ ${s:0:1} != [ZX] ]]
}
pid_of() { local pid st; read -r pid st <"$1"; echo "$pid"; }
record() { # pid node name
    echo "$1 $(proc_start "$1" || echo -) $2 $3" >>"$LAB_DIR/pids"
    echo "$1 $(proc_start "$1" || echo -)" >"$(dir "$2")/$3.pid"
}

write_conf() {
    local n=$1 d peer=${PEER[$1]} preempt=()
    d=$(dir "$n")
    mkdir -p "$d/state"
    case $HA_PREEMPT in
        no) preempt=(--nopreempt) ;;
        yes) preempt=(--preempt) ;;
        *) preempt=(--preempt-delay "$HA_PREEMPT") ;;
    esac
    local uni=()
    [[ $HA_UNICAST == 1 ]] && uni=(--unicast)
    "$ROOT/ha/mkconf.sh" --vip "$HA_VIP" --iface eth0 --priority "${PRIO[$n]}" \
        --self "${IP[$n]}" --peer "${IP[$peer]}" --advert "$HA_ADVERT" "${uni[@]}" \
        "${preempt[@]}" --router-id "$PREFIX-$n" --fifo "$d/notify.fifo" \
        --track-file "$d/track" --check "$ROOT/ha/fabmon-ha-check" --feed "$HA_FEED" \
        -o "$d/keepalived.conf" -f "$d/ha.ini"
    {
        echo "# fabmond in the lab's $n (tests/lab/ha.sh)"
        echo "[sflow]"
        echo "listen = 0.0.0.0:6343"
        echo "[http]"
        echo "listen = 0.0.0.0:8008"
        echo "[store]"
        echo "state_dir = $d/state"
        echo "[snmp]"
        echo "seed = 10.99.0.21"
        echo "poll_s = 10"
        cat "$d/ha.ini"
        echo "secret = lab-$PREFIX-pair"
    } >"$d/fabmond.ini"
}

wait_http() { # node timeout_s
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        if ip netns exec "$(ns "$1")" curl -s -o /dev/null --max-time 1 \
            "http://127.0.0.1:8008/version"; then
            return 0
        fi
        alive "$(dir "$1")/fabmond.pid" || return 1
        sleep 0.1
    done
    return 1
}

fabmond_start() {
    local n=$1 d pid i
    d=$(dir "$n")
    alive "$d/fabmond.pid" && { log "$n: fabmond already runs"; return 0; }
    [[ -x $FABMOND ]] || die "no $FABMOND (make $BUILD/fabmond)"
    write_conf "$n"
    rm -f "$d/fabmond.pid" "$d/fabmond.rc"
    # The shell is fabmond.service's ExecStopPost: when fabmond exits,
    # for whatever reason, the track file says 1 (step down). Its $1..$7
    # are the arguments after it; HA_FABMOND_ARGS is spliced in unquoted.
    # shellcheck disable=SC2016
    setsid ip netns exec "$(ns "$n")" sh -c '
        "$1" -d -f "$2" '"$HA_FABMOND_ARGS"' >>"$3" 2>&1 &
        echo $! >"$4.tmp"; mv "$4.tmp" "$4"
        wait $!; rc=$?
        "$5" "$6"
        echo $rc >"$7"
        exit $rc' fabmond-ha "$FABMOND" "$d/fabmond.ini" "$d/fabmond.log" \
        "$d/fabmond.pid.raw" "$ROOT/ha/fabmon-ha-down" "$d/track" "$d/fabmond.rc" \
        </dev/null >>"$d/wrapper.log" 2>&1 9>&- &
    pid=$!
    echo "$pid $(proc_start "$pid" || echo -) $n fabmond-wrapper" >>"$LAB_DIR/pids"
    for ((i = 0; i < 50; i++)); do
        [[ -f $d/fabmond.pid.raw ]] && break
        sleep 0.05
    done
    [[ -f $d/fabmond.pid.raw ]] || die "$n: fabmond did not start (see $d/fabmond.log)"
    record "$(cat "$d/fabmond.pid.raw")" "$n" fabmond
    rm -f "$d/fabmond.pid.raw"
    wait_http "$n" 15 || die "$n: fabmond does not answer (see $d/fabmond.log)"
    # A keepalived already running writes only on changes: a reload
    # makes it write its state again (fifo_write_vrrp_states_on_reload).
    if alive "$d/keepalived.pid"; then
        kill -HUP "$(pid_of "$d/keepalived.pid")"
    fi
    log "$n: fabmond pid $(pid_of "$d/fabmond.pid")"
}

keepalived_start() {
    local n=$1 d pid
    d=$(dir "$n")
    alive "$d/keepalived.pid" && { log "$n: keepalived already runs"; return 0; }
    [[ -f $d/keepalived.conf ]] || write_conf "$n"
    keepalived -t -f "$d/keepalived.conf" 2>>"$d/keepalived.log" ||
        die "$n: keepalived -t refuses $d/keepalived.conf"
    # Its own pid files (-p -r -c -b), or it refuses to start ("daemon is
    # already running"); -n foreground, -l -D -G: detailed log to stderr.
    setsid ip netns exec "$(ns "$n")" keepalived -n -l -D -G -P \
        -f "$d/keepalived.conf" -p "$d/kd.pid" -r "$d/kd-vrrp.pid" \
        -c "$d/kd-check.pid" -b "$d/kd-bfd.pid" \
        </dev/null >>"$d/keepalived.log" 2>&1 9>&- &
    pid=$!
    record "$pid" "$n" keepalived
    sleep 0.2
    alive "$d/keepalived.pid" || die "$n: keepalived died (see $d/keepalived.log)"
    log "$n: keepalived pid $pid"
}

kill_wait() { # pidfile signal what
    local pid i
    alive "$1" || return 0
    pid=$(pid_of "$1")
    kill "-$2" "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        alive "$1" || return 0
        sleep 0.05
    done
    log "$3 pid $pid still alive after SIG$2: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
}

status() {
    local n d vip=${HA_VIP%/*}
    for n in c1 c2; do
        d=$(dir "$n")
        printf '%s: fabmond %s, keepalived %s, VIP %s, track %s\n' "$n" \
            "$(alive "$d/fabmond.pid" && echo "pid $(pid_of "$d/fabmond.pid")" || echo down)" \
            "$(alive "$d/keepalived.pid" && echo "pid $(pid_of "$d/keepalived.pid")" || echo down)" \
            "$(ip -n "$(ns "$n")" -o addr show 2>/dev/null | grep -q " $vip/" && echo here || echo -)" \
            "$(cat "$d/track" 2>/dev/null || echo -)"
        ip netns exec "$(ns "$n")" curl -s --max-time 1 http://127.0.0.1:8008/api/v1/ha |
            python3 -c 'import json, sys
d = json.load(sys.stdin)
p, h = d.get("peer") or {}, d.get("health") or {}
print("    role %s (%s), health %s, peer %s, split brain %s" % (d["role"],
      d.get("roleSource"), "ok" if h.get("ok") else ",".join(h.get("reasons", [])),
      p.get("role"), d.get("splitBrain")))' 2>/dev/null ||
            echo "    (no answer)"
    done
}

cmd=${1:-help}
(($#)) && shift
case $cmd in
    start)
        nodes=("${@:-c1}")
        (($#)) || nodes=(c1 c2)
        for n in "${nodes[@]}"; do node_ok "$n"; fabmond_start "$n"; done
        for n in "${nodes[@]}"; do keepalived_start "$n"; done
        ;;
    stop)
        nodes=("$@")
        (($#)) || nodes=(c1 c2)
        for n in "${nodes[@]}"; do
            node_ok "$n"
            kill_wait "$(dir "$n")/keepalived.pid" TERM "$n keepalived"
            kill_wait "$(dir "$n")/fabmond.pid" TERM "$n fabmond"
        done
        ;;
    fabmond-start) node_ok "${1:-}"; fabmond_start "$1" ;;
    keepalived-start) node_ok "${1:-}"; keepalived_start "$1" ;;
    fabmond-kill)
        node_ok "${1:-}"
        alive "$(dir "$1")/fabmond.pid" || die "$1: fabmond is not running"
        kill "-${2:-KILL}" "$(pid_of "$(dir "$1")/fabmond.pid")"
        ;;
    keepalived-kill)
        node_ok "${1:-}"
        alive "$(dir "$1")/keepalived.pid" || die "$1: keepalived is not running"
        kill "-${2:-TERM}" "$(pid_of "$(dir "$1")/keepalived.pid")"
        ;;
    link)
        node_ok "${1:-}"
        [[ ${2:-} == up || ${2:-} == down ]] || die "link NODE up|down"
        ip -n "$(ns "$1")" link set eth0 "$2"
        ;;
    pid)
        node_ok "${1:-}"
        [[ ${2:-} == fabmond || ${2:-} == keepalived ]] || die "pid NODE fabmond|keepalived"
        alive "$(dir "$1")/$2.pid" || exit 1
        pid_of "$(dir "$1")/$2.pid"
        ;;
    status) status ;;
    conf)
        node_ok "${1:-}"
        write_conf "$1"
        cat "$(dir "$1")/keepalived.conf" "$(dir "$1")/fabmond.ini"
        ;;
    help | -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' ;;
    *) die "unknown command '$cmd' (see $PROG help)" ;;
esac
