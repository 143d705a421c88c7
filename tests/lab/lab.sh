#!/usr/bin/env bash
# tests/lab/lab.sh - fabmon leaf-spine lab, profile A (Linux routers + uacctd sFlow).
#
# One network namespace per node: 2 spines, 4 leaves, 6 hosts, 2 collectors and a
# management namespace holding the management bridge. Nothing is configured in the
# root namespace. See tests/lab/README.md for the topology and the commands.
#
# usage: lab.sh up|down|status|wait [SECONDS]|info|exec NODE CMD...|help
set -euo pipefail

PROG=${0##*/}
PREFIX=${LAB_PREFIX:-fm}
if [[ ! $PREFIX =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,19}$ ]]; then
    echo "$PROG: bad LAB_PREFIX '$PREFIX' (1-20 of [A-Za-z0-9_.-])" >&2
    exit 2
fi
LAB_DIR=${LAB_DIR:-/tmp/fabmon-lab-$PREFIX}
LAB_DIR=${LAB_DIR%/}
if [[ $LAB_DIR != /?* ]]; then
    echo "$PROG: LAB_DIR must be an absolute path other than / (got '${LAB_DIR:-/}')" >&2
    exit 2
fi
SFLOW_TARGET=${SFLOW_TARGET:-10.99.0.101:6343}
SFLOW_RATE=${SFLOW_RATE:-10}
WAIT_TIMEOUT=${LAB_WAIT_TIMEOUT:-30}
HOST_LLDP=${LAB_HOST_LLDP:-1}
SNMPV3=${LAB_SNMPV3:-}      # switch(es) whose snmpd speaks SNMPv3 authPriv only
MARKER=.fabmon-lab          # a run dir is only ever removed if it holds this file
SNMP_COMMUNITY=public
# SNMPv3 (LAB_SNMPV3): one USM user, authPriv only, v2c disabled on that switch
SNMPV3_USER=fabmon
SNMPV3_AUTH=SHA
SNMPV3_AUTH_PASS=fabmon-auth-pw
SNMPV3_PRIV=AES
SNMPV3_PRIV_PASS=fabmon-priv-pw
SFLOW_GROUP=5               # NFLOG group (per namespace)

# ------------------------------------------------------------------ topology
SPINES=(s1 s2)
LEAVES=(l1 l2 l3 l4)
HOSTS=(h1 h2 h3 h4 h5 h6)
COLLECTORS=(c1 c2)
SWITCHES=("${SPINES[@]}" "${LEAVES[@]}")
NODES=("${SWITCHES[@]}" "${HOSTS[@]}" "${COLLECTORS[@]}" mgmt)
declare -A HOST_LEAF=([h1]=l1 [h2]=l1 [h3]=l2 [h4]=l3 [h5]=l4 [h6]=l4)
declare -A MGMT_IP=([s1]=10.99.0.11 [s2]=10.99.0.12
                    [l1]=10.99.0.21 [l2]=10.99.0.22 [l3]=10.99.0.23 [l4]=10.99.0.24
                    [c1]=10.99.0.101 [c2]=10.99.0.102 [mgmt]=10.99.0.254)
# one byte per node, used in the deterministic MAC addresses
declare -A NODE_ID=([s1]=11 [s2]=12 [l1]=21 [l2]=22 [l3]=23 [l4]=24
                    [h1]=31 [h2]=32 [h3]=33 [h4]=34 [h5]=35 [h6]=36
                    [c1]=41 [c2]=42 [mgmt]=50)

declare -A PEER=()     # "node:if" -> "node:if"
declare -A ADDR=()     # "node:if" -> "a.b.c.d/len" (empty for bridge ports)
declare -A HOST_IP=()  # host -> address
declare -A HOST_PORT=() # host -> "leaf:swpK"
declare -A PORTS=()    # node -> space separated interface list, creation order
LINKS=()               # "nodeA:ifA nodeB:ifB", creation order

add_link() { # A:ifa addrA B:ifb addrB
    LINKS+=("$1 $3")
    PEER[$1]=$3; PEER[$3]=$1
    ADDR[$1]=$2; ADDR[$3]=$4
    PORTS[${1%%:*}]+="${1#*:} "
    PORTS[${3%%:*}]+="${3#*:} "
}

build_topology() {
    local n m h leaf x port sw c
    declare -A next=()
    # fabric: leaf lN swpM <-> spine sM swpN, 10.1.M.(2N-2)/31 spine side, +1 leaf side
    for n in 1 2 3 4; do
        for m in 1 2; do
            add_link "l$n:swp$m" "10.1.$m.$((2 * n - 1))/31" "s$m:swp$n" "10.1.$m.$((2 * n - 2))/31"
        done
        next[l$n]=3
    done
    # hosts: routed host ports, leaf side 10.2.N.1/32, host 10.2.N.(10+X)/24
    for h in "${HOSTS[@]}"; do
        leaf=${HOST_LEAF[$h]}; n=${leaf#l}; x=${h#h}
        port=swp${next[$leaf]}; next[$leaf]=$((next[$leaf] + 1))
        HOST_IP[$h]=10.2.$n.$((10 + x))
        HOST_PORT[$h]=$leaf:$port
        add_link "$leaf:$port" "10.2.$n.1/32" "$h:eth0" "${HOST_IP[$h]}/24"
    done
    # management LAN: one port per switch / collector on the bridge in <prefix>-mgmt
    for sw in "${SWITCHES[@]}"; do
        add_link "$sw:mgmt0" "${MGMT_IP[$sw]}/24" "mgmt:$sw" ""
    done
    for c in "${COLLECTORS[@]}"; do
        add_link "$c:eth0" "${MGMT_IP[$c]}/24" "mgmt:$c" ""
    done
}
build_topology

ns_of() { printf '%s-%s' "$PREFIX" "$1"; }
is_node() { local x; for x in "${NODES[@]}"; do [[ $x == "$1" ]] && return 0; done; return 1; }
is_spine() { [[ $1 == s[0-9]* ]]; }
is_v3() { [[ ",${SNMPV3// /,}," == *",$1,"* ]]; }

# the snmpwalk/snmpget arguments that authenticate to a switch's snmpd
snmp_auth_args() {
    if is_v3 "$1"; then
        printf '%s\n' -v3 -l authPriv -u "$SNMPV3_USER" -a "$SNMPV3_AUTH" -A "$SNMPV3_AUTH_PASS" \
            -x "$SNMPV3_PRIV" -X "$SNMPV3_PRIV_PASS"
    else
        printf '%s\n' -v2c -c "$SNMP_COMMUNITY"
    fi
}

check_snmpv3_setting() {
    local sw x ok
    for sw in ${SNMPV3//,/ }; do
        ok=0
        for x in "${SWITCHES[@]}"; do [[ $x == "$sw" ]] && ok=1; done
        ((ok)) || die "bad LAB_SNMPV3 '$SNMPV3': '$sw' is not a switch (one of: ${SWITCHES[*]})"
    done
}

mac_of() { # node if
    local id=${NODE_ID[$1]} ifn=$2
    if [[ $1 == mgmt ]]; then
        if [[ $ifn == br0 ]]; then echo "02:fb:01:50:00:00"; else echo "02:fb:01:${NODE_ID[$ifn]}:00:00"; fi
    elif [[ $ifn == swp* ]]; then printf '02:fb:00:%s:00:%02x\n' "$id" "${ifn#swp}"
    elif [[ $ifn == mgmt0 ]]; then echo "02:fb:00:$id:01:00"
    else echo "02:fb:00:$id:00:00"
    fi
}

# expected LLDP neighbours (sysName) of a switch, sorted
expected_neighbours() {
    local sw=$1 p out=()
    for p in ${PORTS[$sw]}; do
        [[ $p == swp* ]] || continue
        local peer=${PEER[$sw:$p]%%:*}
        if [[ $peer == h* && $HOST_LLDP != 1 ]]; then continue; fi
        out+=("$peer")
    done
    printf '%s\n' "${out[@]}" | sort -u | tr '\n' ' ' | sed 's/ $//'
}

# sflow targets: "ip:port" list
sflow_targets() {
    local t out=()
    IFS=',' read -ra _t <<<"$SFLOW_TARGET"
    for t in "${_t[@]}"; do
        t=${t// /}
        [[ -z $t ]] && continue
        [[ $t == *:* ]] || t=$t:6343
        if [[ ! $t =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}:[0-9]{1,5}$ ]]; then
            echo "$PROG: bad SFLOW_TARGET element '$t' (want IPv4[:port])" >&2
            return 2
        fi
        out+=("$t")
    done
    ((${#out[@]})) || { echo "$PROG: empty SFLOW_TARGET" >&2; return 2; }
    printf '%s\n' "${out[@]}"
}

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { log "$*"; exit 1; }
now() { printf '%s' "${EPOCHREALTIME/./}"; }   # microseconds

need_root() { [[ $(id -u) == 0 ]] || die "must run as root"; }

# ------------------------------------------------------------------ processes
proc_start() { # pid -> start time in clock ticks (field 22 of /proc/PID/stat)
    local s rest f
    { read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
    rest=${s##*) }
    read -ra f <<<"$rest"
    printf '%s' "${f[19]}"
}

# spawn NODE NAME CMD... : run CMD in the node's namespace, detached, logging to
# $LAB_DIR/NODE/NAME.out, and record "pid starttime node name" in $LAB_DIR/pids.
spawn() {
    local node=$1 name=$2 pid st
    shift 2
    setsid ip netns exec "$(ns_of "$node")" "$@" </dev/null >>"$LAB_DIR/$node/$name.out" 2>&1 9>&- &
    pid=$!
    st=$(proc_start "$pid" || echo -)
    echo "$pid $st $node $name" >>"$LAB_DIR/pids"
}

# PIDs that belong to this lab: recorded ones (still the same process) and every
# process inside one of the lab's namespaces.
lab_pids() {
    local pid st node name ns p
    {
    if [[ -f $LAB_DIR/pids ]]; then
        while read -r pid st node name; do
            [[ $pid =~ ^[0-9]+$ ]] || continue
            is_alive "$pid" || continue
            [[ $(proc_start "$pid" 2>/dev/null || true) == "$st" ]] || continue
            echo "$pid"
        done <"$LAB_DIR/pids"
    fi
    for node in "${NODES[@]}"; do
        ns=$(ns_of "$node")
        [[ -e /run/netns/$ns ]] || continue
        for p in $(ip netns pids "$ns" 2>/dev/null); do
            echo "$p"
        done
    done
    } | sort -un | { grep -vx -e "$$" -e "$BASHPID" || true; }
}

is_alive() { # running, i.e. exists and is not a zombie waiting to be reaped
    local s
    { read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
    s=${s##*) }
    [[ ${s:0:1} != [ZX] ]]
}
alive_of() { local p out=(); for p in "$@"; do if is_alive "$p"; then out+=("$p"); fi; done; echo "${out[@]}"; }

kill_lab_pids() {
    local pids left i
    pids=$(lab_pids | tr '\n' ' ')
    [[ -n ${pids// /} ]] || return 0
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null || true
    # uacctd ignores SIGTERM for >10 s: short grace, then SIGKILL
    for ((i = 0; i < 5; i++)); do
        # shellcheck disable=SC2086
        left=$(alive_of $pids)
        [[ -z $left ]] && break
        sleep 0.1
    done
    # shellcheck disable=SC2086
    left=$(alive_of $pids)
    if [[ -n $left ]]; then
        # shellcheck disable=SC2086
        kill -KILL $left 2>/dev/null || true
    fi
    # anything that appeared meanwhile (forked children) in the namespaces
    for ((i = 0; i < 50; i++)); do
        pids=$(lab_pids | tr '\n' ' ')
        # shellcheck disable=SC2086
        pids=$(alive_of $pids)
        [[ -z ${pids// /} ]] && return 0
        # shellcheck disable=SC2086
        kill -KILL $pids 2>/dev/null || true
        sleep 0.05
    done
    log "warning: processes still alive: $(lab_pids | tr '\n' ' ')"
}

lab_exists() {
    local node
    [[ -f $LAB_DIR/$MARKER ]] && return 0
    for node in "${NODES[@]}"; do
        [[ -e /run/netns/$(ns_of "$node") ]] && return 0
    done
    return 1
}

lab_is_up() {
    local node
    [[ -f $LAB_DIR/$MARKER ]] || return 1
    for node in "${NODES[@]}"; do
        [[ -e /run/netns/$(ns_of "$node") ]] || return 1
    done
}

# ------------------------------------------------------------------ down
cmd_down() {
    need_root
    local node ns recorded=() pid st rest i
    if [[ -f $LAB_DIR/pids ]]; then
        while read -r pid st rest; do recorded+=("$pid:$st"); done <"$LAB_DIR/pids"
    fi
    kill_lab_pids
    for node in "${NODES[@]}"; do
        ns=$(ns_of "$node")
        if [[ -e /run/netns/$ns ]]; then
            ip netns del "$ns" 2>/dev/null || log "warning: could not delete namespace $ns"
        fi
    done
    if [[ -d $LAB_DIR ]]; then
        if [[ -f $LAB_DIR/$MARKER ]]; then
            rm -rf -- "$LAB_DIR"
        else
            log "warning: $LAB_DIR has no $MARKER marker; not removing it"
        fi
    fi
    # Killed daemons were reparented to PID 1, which reaps them lazily (about 2 s
    # here): wait (bounded) until none of ours lingers as a zombie in 'ps'.
    for ((i = 0; i < 40; i++)); do
        local lingering=0 e
        for e in "${recorded[@]}"; do
            [[ $(proc_start "${e%%:*}" 2>/dev/null || true) == "${e#*:}" ]] && lingering=1 && break
        done
        ((lingering)) || break
        sleep 0.1
    done
}

# ------------------------------------------------------------------ up
sysctl_ns() { # node key=value...
    local node=$1
    shift
    ip netns exec "$(ns_of "$node")" sysctl -q -w "$@" >/dev/null
}

write_configs() { # switch
    local sw=$1 d=$LAB_DIR/$1 ip=${MGMT_IP[$1]} role=leaf
    is_spine "$sw" && role=spine
    mkdir -p "$d/snmp"
    cat >"$d/snmpd.conf" <<EOF
# fabmon lab $PREFIX: snmpd for $sw ($role)
agentAddress udp:$ip:161
$(if is_v3 "$sw"; then
    echo "# SNMPv3 only (LAB_SNMPV3): no community, one authPriv user"
    echo "createUser $SNMPV3_USER $SNMPV3_AUTH $SNMPV3_AUTH_PASS $SNMPV3_PRIV $SNMPV3_PRIV_PASS"
    echo "rouser $SNMPV3_USER priv"
else
    echo "rocommunity $SNMP_COMMUNITY default"
fi)
sysName $sw
sysDescr fabmon-lab $role $sw (Linux router, uacctd sFlow)
sysLocation fabmon-lab $PREFIX
sysContact fabmon-lab
sysServices 6
master agentx
agentXSocket unix:$d/agentx.sock
agentXPerms 0660 0770
dontLogTCPWrappersConnects yes
EOF
    cat >"$d/lldpd.conf" <<EOF
configure system hostname $sw
configure system description "fabmon-lab $role $sw"
configure system ip management pattern $ip
configure lldp portidsubtype ifname
configure lldp tx-interval 2
EOF
    local t i=0 targets plugins=() body=""
    mapfile -t targets < <(sflow_targets)
    for t in "${targets[@]}"; do
        local pname=any
        ((${#targets[@]} > 1)) && pname=t$i
        plugins+=("sfprobe[$pname]")
        body+="sfprobe_receiver[$pname]: $t
sfprobe_agentip[$pname]: $ip
sfprobe_source_ip[$pname]: $ip
sfprobe_agentsubid[$pname]: 0
sfprobe_ifspeed[$pname]: 10000000000
"
        i=$((i + 1))
    done
    local IFS=,
    cat >"$d/uacctd.conf" <<EOF
! fabmon lab $PREFIX: uacctd sFlow agent for $sw ($role)
daemonize: false
pidfile: $d/uacctd.pid
logfile: $d/uacctd.log
uacctd_group: $SFLOW_GROUP
uacctd_ext_sampling_rate: $SFLOW_RATE
snaplen: 128
! the default buffer is too short for a 128-byte snap plus sFlow's
! extensions: the sfprobe plugin then dies ("plugin_buffer_size is too
! short") and the agent goes silent
plugin_buffer_size: 1024
plugin_pipe_size: 1024000
plugins: ${plugins[*]}
$body
EOF
}

write_host_lldpd_conf() { # host
    local h=$1 d=$LAB_DIR/$1
    cat >"$d/lldpd.conf" <<EOF
configure system hostname $h
configure system description "fabmon-lab host $h"
configure system ip management pattern ${HOST_IP[$h]}
configure lldp portidsubtype ifname
configure lldp tx-interval 2
EOF
}

cmd_up() {
    need_root
    local t0 node ns l a b ifa ifb p sw h n m M leaf prob
    t0=$(now)
    [[ $SFLOW_RATE =~ ^[1-9][0-9]*$ ]] || die "bad SFLOW_RATE '$SFLOW_RATE'"
    check_snmpv3_setting
    sflow_targets >/dev/null || exit 2
    for b in ip iptables uacctd snmpd lldpd snmpwalk setsid; do
        command -v "$b" >/dev/null || die "missing program: $b"
    done
    if lab_exists; then
        log "a lab with prefix '$PREFIX' exists: taking it down first"
        cmd_down
    fi
    if [[ -e $LAB_DIR && ! -f $LAB_DIR/$MARKER ]] && [[ -n $(ls -A "$LAB_DIR" 2>/dev/null) ]]; then
        die "$LAB_DIR exists, is not empty and is not a lab run dir; set LAB_DIR"
    fi
    mkdir -p "$LAB_DIR"
    : >"$LAB_DIR/$MARKER"
    : >"$LAB_DIR/pids"
    {
        echo "prefix=$PREFIX"
        echo "sflow_target=$SFLOW_TARGET"
        echo "sflow_rate=$SFLOW_RATE"
        echo "host_lldp=$HOST_LLDP"
        echo "snmpv3=$SNMPV3"
    } >"$LAB_DIR/env"
    for node in "${NODES[@]}"; do mkdir -p "$LAB_DIR/$node"; done
    trap 'log "up failed: logs are in $LAB_DIR/<node>/; run \"$PROG down\" to clean up"' ERR

    # 1. namespaces + sysctls (before any interface exists, so 'default' applies)
    for node in "${NODES[@]}"; do
        ns=$(ns_of "$node")
        ip netns add "$ns"
        echo "$ns" >>"$LAB_DIR/namespaces"
        ip -n "$ns" link set lo up
    done
    local common=(net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
        net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
        net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.default.send_redirects=0)
    local jobs=() j
    for node in "${NODES[@]}"; do
        if [[ " ${SWITCHES[*]} " == *" $node "* ]]; then
            sysctl_ns "$node" net.ipv4.ip_forward=1 net.ipv4.fib_multipath_hash_policy=1 "${common[@]}" &
        else
            sysctl_ns "$node" net.ipv4.ip_forward=0 "${common[@]}" &
        fi
        jobs+=($!)
    done
    for j in "${jobs[@]}"; do wait "$j" || die "sysctl failed in a namespace"; done

    # 2. management bridge
    ns=$(ns_of mgmt)
    ip -n "$ns" link add br0 address "$(mac_of mgmt br0)" type bridge stp_state 0 forward_delay 0
    ip -n "$ns" addr add "${MGMT_IP[mgmt]}/24" dev br0
    ip -n "$ns" link set br0 up

    # 3. veth pairs, created directly between namespaces
    for l in "${LINKS[@]}"; do
        a=${l%% *}; b=${l#* }
        ifa=${a#*:}; ifb=${b#*:}
        ip -n "$(ns_of "${a%%:*}")" link add "$ifa" address "$(mac_of "${a%%:*}" "$ifa")" type veth \
            peer name "$ifb" address "$(mac_of "${b%%:*}" "$ifb")" netns "$(ns_of "${b%%:*}")"
    done

    # 4. links up + addresses, per namespace in one ip batch
    for node in "${NODES[@]}"; do
        {
            for p in ${PORTS[$node]:-}; do
                if [[ $node == mgmt ]]; then
                    echo "link set $p master br0"
                fi
                echo "link set $p up"
                if [[ -n ${ADDR[$node:$p]} ]]; then echo "addr add ${ADDR[$node:$p]} dev $p"; fi
            done
        } | ip -n "$(ns_of "$node")" -batch -
    done

    # 5. routes
    for n in 1 2 3 4; do
        leaf=l$n
        {
            for p in ${PORTS[$leaf]}; do
                if [[ ${PEER[$leaf:$p]} == h*:eth0 ]]; then
                    h=${PEER[$leaf:$p]%%:*}
                    echo "route add ${HOST_IP[$h]}/32 dev $p src 10.2.$n.1"
                fi
            done
            local nh="nexthop via 10.1.1.$((2 * n - 2)) dev swp1 nexthop via 10.1.2.$((2 * n - 2)) dev swp2"
            for M in 1 2 3 4; do
                ((M == n)) && continue
                echo "route add 10.2.$M.0/24 $nh"
            done
            echo "route add default $nh"
        } | ip -n "$(ns_of "$leaf")" -batch -
    done
    for m in 1 2; do
        {
            for n in 1 2 3 4; do
                echo "route add 10.2.$n.0/24 via 10.1.$m.$((2 * n - 1)) dev swp$n"
            done
        } | ip -n "$(ns_of "s$m")" -batch -
    done
    for h in "${HOSTS[@]}"; do
        n=${HOST_LEAF[$h]#l}
        ip -n "$(ns_of "$h")" route add default via "10.2.$n.1" dev eth0
    done

    # 6. per switch: proxy ARP on host ports (intra-rack traffic is routed by the
    #    leaf), and the sFlow sampling rule
    prob=$(awk -v r="$SFLOW_RATE" 'BEGIN { printf "%.6f", 1 / r }')
    jobs=()
    for sw in "${SWITCHES[@]}"; do
        (
            ns=$(ns_of "$sw")
            for p in ${PORTS[$sw]}; do
                if [[ ${PEER[$sw:$p]} == h*:eth0 ]]; then
                    sysctl_ns "$sw" "net.ipv4.conf.$p.proxy_arp=1" "net.ipv4.neigh.$p.proxy_delay=0"
                fi
            done
            ip netns exec "$ns" iptables -w -A FORWARD -m statistic --mode random \
                --probability "$prob" -j NFLOG --nflog-group "$SFLOW_GROUP" --nflog-size 128
        ) &
        jobs+=($!)
    done
    for j in "${jobs[@]}"; do wait "$j" || die "proxy ARP / iptables set-up failed on a switch"; done

    # 7. daemons: snmpd first (lldpd registers with it over AgentX), then lldpd, uacctd
    for sw in "${SWITCHES[@]}"; do
        write_configs "$sw"
        spawn "$sw" snmpd env SNMP_PERSISTENT_DIR="$LAB_DIR/$sw/snmp" MIBS= \
            snmpd -f -C -c "$LAB_DIR/$sw/snmpd.conf" -p "$LAB_DIR/$sw/snmpd.pid" -I -smux \
            -Lf "$LAB_DIR/$sw/snmpd.log"
        spawn "$sw" uacctd uacctd -f "$LAB_DIR/$sw/uacctd.conf"
    done
    if [[ $HOST_LLDP == 1 ]]; then
        for h in "${HOSTS[@]}"; do
            write_host_lldpd_conf "$h"
            spawn "$h" lldpd lldpd -dd -p "$LAB_DIR/$h/lldpd.pid" -u "$LAB_DIR/$h/lldpd.sock" \
                -O "$LAB_DIR/$h/lldpd.conf" -I eth0
        done
    fi
    local deadline=$(($(now) + 5000000)) pending
    while :; do
        pending=()
        for sw in "${SWITCHES[@]}"; do
            [[ -S $LAB_DIR/$sw/agentx.sock ]] || pending+=("$sw")
        done
        ((${#pending[@]} == 0)) && break
        (($(now) > deadline)) && die "snmpd did not create its AgentX socket on: ${pending[*]} (see $LAB_DIR/<node>/snmpd.log)"
        sleep 0.05
    done
    for sw in "${SWITCHES[@]}"; do
        spawn "$sw" lldpd lldpd -dd -x -X "$LAB_DIR/$sw/agentx.sock" -p "$LAB_DIR/$sw/lldpd.pid" \
            -u "$LAB_DIR/$sw/lldpd.sock" -O "$LAB_DIR/$sw/lldpd.conf" -I 'swp*'
    done
    sleep 0.2
    local dead=() pid st name
    while read -r pid st node name; do
        [[ -d /proc/$pid ]] || dead+=("$node/$name")
    done <"$LAB_DIR/pids"
    ((${#dead[@]} == 0)) || die "daemons died at start: ${dead[*]} (see $LAB_DIR/<node>/*.out)"
    # record the daemons' own children too (uacctd plugins, lldpd privsep child), so
    # that 'down' finds them even if a namespace was deleted behind our back
    local known comm
    known=" $(awk '{ printf "%s ", $1 }' "$LAB_DIR/pids")"
    for node in "${NODES[@]}"; do
        for pid in $(ip netns pids "$(ns_of "$node")"); do
            [[ $known == *" $pid "* ]] && continue
            comm=$(cat "/proc/$pid/comm" 2>/dev/null) || continue
            echo "$pid $(proc_start "$pid" || echo -) $node $comm-child" >>"$LAB_DIR/pids"
        done
    done
    log "up: prefix=$PREFIX dir=$LAB_DIR ($(( ($(now) - t0) / 1000 )) ms); run '$PROG wait' to wait for convergence"
}

# ------------------------------------------------------------------ health
# one host on another leaf for every host (covers every leaf and both directions),
# plus two intra-rack pairs (routed by the leaf through proxy ARP)
PING_PAIRS=(h1:h3 h3:h4 h4:h5 h5:h1 h2:h6 h6:h2 h1:h2 h6:h5)

check_fabric() { # quiet; returns 0 if every pair answers
    local pr pids=() rc=0 p
    for pr in "${PING_PAIRS[@]}"; do
        ip netns exec "$(ns_of "${pr%%:*}")" ping -n -q -c 1 -W 1 "${HOST_IP[${pr#*:}]}" >/dev/null 2>&1 &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || rc=1; done
    return $rc
}

# LLDP neighbour sysNames that a switch reports over SNMP (sorted, space separated)
snmp_neighbours() {
    local sw=$1 auth
    mapfile -t auth < <(snmp_auth_args "$sw")
    MIBS='' ip netns exec "$(ns_of mgmt)" snmpwalk "${auth[@]}" -On -Oqv -t 1 -r 0 \
        "${MGMT_IP[$sw]}" 1.0.8802.1.1.2.1.4.1.1.9 2>/dev/null |
        sed -e 's/^"//' -e 's/"$//' | grep -v -e '^No Such' -e '^$' | sort -u | tr '\n' ' ' | sed 's/ $//'
}

check_lldp() { # writes "sw got" lines to $1; returns 0 if every switch sees what it should
    local outf=$1 sw rc=0 got
    local tmp
    tmp=$(mktemp -d)
    for sw in "${SWITCHES[@]}"; do
        snmp_neighbours "$sw" >"$tmp/$sw" &
    done
    wait
    : >"$outf"
    for sw in "${SWITCHES[@]}"; do
        got=$(cat "$tmp/$sw")
        echo "$sw $got" >>"$outf"
        local e
        for e in $(expected_neighbours "$sw"); do
            [[ " $got " == *" $e "* ]] || rc=1
        done
    done
    rm -rf "$tmp"
    return $rc
}

cmd_wait() {
    need_root
    local timeout=${1:-$WAIT_TIMEOUT} t0 deadline fab=no lldp=no tmp
    [[ $timeout =~ ^[0-9]+$ ]] || die "bad timeout '$timeout'"
    lab_is_up || die "lab '$PREFIX' is not up"
    t0=$(now)
    deadline=$((t0 + timeout * 1000000))
    tmp=$(mktemp)
    while :; do
        if [[ $fab != yes ]] && check_fabric; then
            fab=yes
            log "fabric forwards ($(( ($(now) - t0) / 1000 )) ms)"
        fi
        if [[ $lldp != yes ]] && check_lldp "$tmp"; then
            lldp=yes
            log "LLDP/SNMP converged on all switches ($(( ($(now) - t0) / 1000 )) ms)"
        fi
        if [[ $fab == yes && $lldp == yes ]]; then
            rm -f "$tmp"
            return 0
        fi
        if (($(now) > deadline)); then
            log "timeout after ${timeout}s: fabric=$fab lldp=$lldp"
            local sw got
            while read -r sw got; do
                log "  $sw sees [${got}] expects [$(expected_neighbours "$sw")]"
            done <"$tmp"
            rm -f "$tmp"
            return 1
        fi
        sleep 0.3
    done
}

cmd_status() {
    need_root
    local node ns pid st name tmp sw got rc=0
    echo "lab prefix=$PREFIX dir=$LAB_DIR"
    echo "== namespaces"
    for node in "${NODES[@]}"; do
        ns=$(ns_of "$node")
        if [[ -e /run/netns/$ns ]]; then
            printf '  %-10s up   pids: %s\n' "$ns" "$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')"
        else
            printf '  %-10s absent\n' "$ns"
            rc=1
        fi
    done
    echo "== processes (recorded)"
    if [[ -f $LAB_DIR/pids ]]; then
        while read -r pid st node name; do
            if is_alive "$pid" && [[ $(proc_start "$pid" 2>/dev/null || true) == "$st" ]]; then
                printf '  %-5s %-7s pid %-7s running  %s\n' "$node" "$name" "$pid" "$(tr '\0' ' ' <"/proc/$pid/cmdline" | cut -c1-80)"
            else
                printf '  %-5s %-7s pid %-7s DEAD\n' "$node" "$name" "$pid"
                rc=1
            fi
        done <"$LAB_DIR/pids"
    else
        echo "  (none: lab is not up)"
    fi
    lab_is_up || { echo "== health: lab is not up"; return 1; }
    echo "== health"
    if check_fabric; then echo "  fabric: cross-rack ping OK (${PING_PAIRS[*]})"; else echo "  fabric: cross-rack ping FAILED"; rc=1; fi
    tmp=$(mktemp)
    if check_lldp "$tmp"; then echo "  lldp: all switches see their expected neighbours"; else echo "  lldp: NOT converged"; rc=1; fi
    while read -r sw got; do
        printf '    %-3s %-15s neighbours: %s   (expected: %s)\n' "$sw" "${MGMT_IP[$sw]}" "${got:-none}" "$(expected_neighbours "$sw")"
    done <"$tmp"
    rm -f "$tmp"
    return $rc
}

# ------------------------------------------------------------------ info
cmd_info() {
    local node ns p sw h c idx peer
    declare -A IFIDX=()
    local up=0
    lab_is_up && up=1
    if ((up)); then
        for node in "${NODES[@]}"; do
            while read -r idx name; do
                IFIDX[$node:$name]=$idx
            done < <(ip -n "$(ns_of "$node")" -o link show | awk -F': ' '{ split($2, a, "@"); print $1, a[1] }')
        done
    fi
    echo "lab.prefix=$PREFIX"
    echo "lab.dir=$LAB_DIR"
    echo "lab.up=$up"
    echo "lab.profile=A"
    echo "mgmt.subnet=10.99.0.0/24"
    echo "mgmt.ns=$(ns_of mgmt)"
    echo "mgmt.ip=${MGMT_IP[mgmt]}"
    echo "snmp.community=$SNMP_COMMUNITY"
    echo "snmp.v3.switches=${SNMPV3//,/ }"
    echo "snmp.v3.user=$SNMPV3_USER"
    echo "snmp.v3.auth=$SNMPV3_AUTH"
    echo "snmp.v3.auth_pass=$SNMPV3_AUTH_PASS"
    echo "snmp.v3.priv=$SNMPV3_PRIV"
    echo "snmp.v3.priv_pass=$SNMPV3_PRIV_PASS"
    echo "sflow.target=$SFLOW_TARGET"
    echo "sflow.sampling_rate=$SFLOW_RATE"
    echo "sflow.nflog_group=$SFLOW_GROUP"
    echo "host_lldp=$HOST_LLDP"
    echo "spines=${SPINES[*]}"
    echo "leaves=${LEAVES[*]}"
    echo "switches=${SWITCHES[*]}"
    echo "hosts=${HOSTS[*]}"
    echo "collectors=${COLLECTORS[*]}"
    for node in "${NODES[@]}"; do
        echo "node.$node.ns=$(ns_of "$node")"
    done
    for sw in "${SWITCHES[@]}"; do
        local role=leaf
        is_spine "$sw" && role=spine
        echo "switch.$sw.role=$role"
        echo "switch.$sw.mgmt=${MGMT_IP[$sw]}"
        echo "switch.$sw.mgmt.ifindex=${IFIDX[$sw:mgmt0]:-}"
        echo "switch.$sw.mgmt.mac=$(mac_of "$sw" mgmt0)"
        if is_v3 "$sw"; then
            echo "switch.$sw.snmp=v3"
            echo "switch.$sw.snmp.user=$SNMPV3_USER"
            echo "switch.$sw.snmp.auth=$SNMPV3_AUTH"
            echo "switch.$sw.snmp.auth_pass=$SNMPV3_AUTH_PASS"
            echo "switch.$sw.snmp.priv=$SNMPV3_PRIV"
            echo "switch.$sw.snmp.priv_pass=$SNMPV3_PRIV_PASS"
        else
            echo "switch.$sw.snmp=v2c"
            echo "switch.$sw.snmp.community=$SNMP_COMMUNITY"
        fi
        local ports=()
        for p in ${PORTS[$sw]}; do if [[ $p == swp* ]]; then ports+=("$p"); fi; done
        echo "switch.$sw.ports=${ports[*]}"
        echo "switch.$sw.neighbours=$(expected_neighbours "$sw")"
        if [[ $role == leaf ]]; then echo "switch.$sw.rack=10.2.${sw#l}.0/24"; fi
        for p in "${ports[@]}"; do
            peer=${PEER[$sw:$p]}
            echo "port.$sw.$p.ifindex=${IFIDX[$sw:$p]:-}"
            echo "port.$sw.$p.peer=$peer"
            echo "port.$sw.$p.peer_ifindex=${IFIDX[$peer]:-}"
            echo "port.$sw.$p.ip=${ADDR[$sw:$p]}"
            echo "port.$sw.$p.mac=$(mac_of "$sw" "$p")"
            if [[ $peer == h* ]]; then echo "port.$sw.$p.kind=edge"; else echo "port.$sw.$p.kind=fabric"; fi
        done
    done
    for h in "${HOSTS[@]}"; do
        echo "host.$h.ip=${HOST_IP[$h]}"
        echo "host.$h.leaf=${HOST_LEAF[$h]}"
        echo "host.$h.port=${HOST_PORT[$h]}"
        echo "host.$h.gw=10.2.${HOST_LEAF[$h]#l}.1"
        echo "host.$h.ifindex=${IFIDX[$h:eth0]:-}"
        echo "host.$h.mac=$(mac_of "$h" eth0)"
    done
    for c in "${COLLECTORS[@]}"; do
        echo "collector.$c.ip=${MGMT_IP[$c]}"
        echo "collector.$c.if=eth0"
        echo "collector.$c.ns=$(ns_of "$c")"
    done
}

cmd_exec() {
    (($# >= 2)) || die "usage: $PROG exec NODE CMD..."
    local node=$1
    shift
    is_node "$node" || die "unknown node '$node' (one of: ${NODES[*]})"
    [[ -e /run/netns/$(ns_of "$node") ]] || die "namespace $(ns_of "$node") does not exist (lab not up?)"
    exec ip netns exec "$(ns_of "$node")" "$@"
}

usage() {
    cat <<EOF
usage: $PROG up | down | status | wait [TIMEOUT_S] | info | exec NODE CMD...
env: LAB_PREFIX (fm)  LAB_DIR (/tmp/fabmon-lab-\$LAB_PREFIX)  SFLOW_TARGET (10.99.0.101:6343, comma list ok)
     SFLOW_RATE (10)  LAB_WAIT_TIMEOUT (30)  LAB_HOST_LLDP (1)  LAB_SNMPV3 (none; e.g. l4)
nodes: ${NODES[*]}
EOF
}

# serialise up/down (a lock on this script file: no lock file is left behind;
# the daemons never inherit fd 9, see spawn)
with_lock() {
    exec 9<"${BASH_SOURCE[0]}"
    flock -w 120 9 || die "could not lock $PROG"
    "$@"
}

# commands other than 'up' describe the lab as it was built: take its settings
load_lab_env() {
    local k v
    [[ -f $LAB_DIR/env ]] || return 0
    while IFS='=' read -r k v; do
        case $k in
            sflow_target) SFLOW_TARGET=$v ;;
            sflow_rate) SFLOW_RATE=$v ;;
            host_lldp) HOST_LLDP=$v ;;
            snmpv3) SNMPV3=$v ;;
        esac
    done <"$LAB_DIR/env"
}

cmd=${1:-help}
(($#)) && shift
[[ $cmd == up ]] || load_lab_env
case $cmd in
    up) with_lock cmd_up "$@" ;;
    down) with_lock cmd_down "$@" ;;
    status) cmd_status "$@" ;;
    wait) cmd_wait "$@" ;;
    info) cmd_info "$@" ;;
    exec) cmd_exec "$@" ;;
    help | -h | --help) usage ;;
    *) usage >&2; exit 2 ;;
esac
