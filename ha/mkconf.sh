#!/bin/sh
# ha/mkconf.sh: render keepalived.conf (from ha/keepalived.conf.in) and the
# matching [ha] section of fabmond's configuration, for one node of the
# fabmon HA pair. Run it once per node; see ha/README.md.
#
# usage: mkconf.sh --vip ADDR/LEN --iface IF --priority N --self ADDR
#                  --peer ADDR [options] [-o KEEPALIVED.CONF] [-f FABMOND.INI]
#
#   --vip ADDR/LEN        the virtual IP, with its prefix length (10.99.0.100/24)
#   --iface IF            the interface that carries it (eth0)
#   --priority N          1..254: the higher one is MASTER at start (150 / 100)
#   --self ADDR           this node's real address on that network
#   --peer ADDR           the other node's real address
#   --vrid N              virtual_router_id, 1..255, unique on the LAN (51)
#   --advert S            advert interval in seconds, e.g. 1 or 0.1 (1)
#   --unicast             send adverts to --peer only (networks without
#                         multicast; default: multicast 224.0.0.18)
#   --nopreempt           (default) a node that comes back stays BACKUP
#   --preempt             the higher priority takes the VIP back at once
#   --preempt-delay S     ... after S seconds (its windows warm up first)
#   --instance NAME       vrrp_instance name (FABMON)
#   --router-id NAME      (default: the host name)
#   --fifo PATH           notify FIFO (/run/fabmon/keepalived.fifo)
#   --track-file PATH     fabmond's health file (/run/fabmon/track)
#   --http-port N         fabmond's HTTP port on both nodes (8008)
#   --check PATH          the heartbeat script (/usr/local/lib/fabmon/fabmon-ha-check);
#                         "none": no heartbeat check
#   --check-age S         the track file may be this old (5)
#   --process CMD         also track the fabmond process by its command
#                         line (vrrp_track_process; needs the kernel's proc
#                         connector, which works only in the initial network
#                         namespace); default: off
#   --feed dual|vip       how telemetry reaches both (dual)
#   --sflow-port N        the peer's sFlow port, for --feed vip (6343)
#   -o FILE, -f FILE      where to write (default: both to stdout)
set -eu

PROG=${0##*/}
HERE=$(cd "$(dirname "$0")" && pwd)
TEMPLATE=${TEMPLATE:-$HERE/keepalived.conf.in}

die() { echo "$PROG: $*" >&2; exit 2; }

VIP='' IFACE='' PRIORITY='' SELF='' PEER='' VRID=51 ADVERT=1 UNICAST=0 PREEMPT=no
PREEMPT_DELAY='' INSTANCE=FABMON ROUTER_ID=$(hostname) FIFO=/run/fabmon/keepalived.fifo
TRACK_FILE=/run/fabmon/track HTTP_PORT=8008 CHECK=/usr/local/lib/fabmon/fabmon-ha-check
CHECK_AGE=5 PROCESS='' FEED=dual SFLOW_PORT=6343 OUT_K='' OUT_F=

while [ $# -gt 0 ]; do
    a=$1
    shift
    case $a in
        --unicast) UNICAST=1; continue ;;
        --nopreempt) PREEMPT=no; continue ;;
        --preempt) PREEMPT=yes; continue ;;
        -h | --help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    esac
    [ $# -gt 0 ] || die "$a needs a value"
    v=$1
    shift
    case $a in
        --vip) VIP=$v ;;
        --iface) IFACE=$v ;;
        --priority) PRIORITY=$v ;;
        --self) SELF=$v ;;
        --peer) PEER=$v ;;
        --vrid) VRID=$v ;;
        --advert) ADVERT=$v ;;
        --preempt-delay) PREEMPT=delay; PREEMPT_DELAY=$v ;;
        --instance) INSTANCE=$v ;;
        --router-id) ROUTER_ID=$v ;;
        --fifo) FIFO=$v ;;
        --track-file) TRACK_FILE=$v ;;
        --http-port) HTTP_PORT=$v ;;
        --check) CHECK=$v ;;
        --check-age) CHECK_AGE=$v ;;
        --process) PROCESS=$v ;;
        --feed) FEED=$v ;;
        --sflow-port) SFLOW_PORT=$v ;;
        -o) OUT_K=$v ;;
        -f) OUT_F=$v ;;
        *) die "unknown option $a (see --help)" ;;
    esac
done

[ -n "$VIP" ] || die "--vip is required"
[ -n "$IFACE" ] || die "--iface is required"
[ -n "$PRIORITY" ] || die "--priority is required"
[ -n "$SELF" ] || die "--self is required"
[ -n "$PEER" ] || die "--peer is required"
case $VIP in */[0-9]*) ;; *) die "--vip wants ADDR/LEN, e.g. 10.99.0.100/24" ;; esac
case $PRIORITY in [0-9] | [0-9][0-9] | [0-9][0-9][0-9]) ;; *) die "bad --priority" ;; esac
if [ "$PRIORITY" -lt 1 ] || [ "$PRIORITY" -gt 254 ]; then die "--priority must be 1..254"; fi
case $VRID in [0-9] | [0-9][0-9] | [0-9][0-9][0-9]) ;; *) die "bad --vrid" ;; esac
if [ "$VRID" -lt 1 ] || [ "$VRID" -gt 255 ]; then die "--vrid must be 1..255"; fi
case $ADVERT in *[!0-9.]* | '') die "bad --advert '$ADVERT'" ;; esac
case $FEED in dual | vip) ;; *) die "--feed is dual or vip" ;; esac
case $INSTANCE in *[!A-Za-z0-9_.-]* | '') die "bad --instance '$INSTANCE'" ;; esac
[ -f "$TEMPLATE" ] || die "no template $TEMPLATE"

nl='
'
case $PREEMPT in
    no)
        PREEMPT_BLOCK="    nopreempt"
        NOTE="nopreempt: a node that comes back (restarted, healthy${nl}# again) stays BACKUP: the VIP moves only when its holder fails."
        ;;
    yes)
        PREEMPT_BLOCK="    # preempt: the higher priority takes the VIP back as soon as it is up"
        NOTE="preempt: the higher priority takes the VIP back whenever it is up."
        ;;
    delay)
        PREEMPT_BLOCK="    preempt_delay $PREEMPT_DELAY"
        NOTE="preempt_delay $PREEMPT_DELAY: the higher priority takes the VIP${nl}# back $PREEMPT_DELAY s after it is up (its windows warm up first)."
        ;;
esac
UNICAST_BLOCK=
if [ "$UNICAST" = 1 ]; then
    UNICAST_BLOCK="    # adverts to the peer only (no multicast)${nl}    unicast_src_ip $SELF${nl}    unicast_peer {${nl}        $PEER${nl}    }"
fi
HEARTBEAT_BLOCK='' TRACK_BLOCK=
if [ "$CHECK" != none ]; then
    HEARTBEAT_BLOCK="# A hung fabmond (stopped, or its HA thread stuck) stops renewing the${nl}# track file: FAULT once it is older than $CHECK_AGE s, for 2 checks.${nl}vrrp_script fabmond_heartbeat {${nl}    script \"$CHECK $TRACK_FILE $CHECK_AGE\"${nl}    interval 1${nl}    timeout 2${nl}    fall 2${nl}    rise 1${nl}    weight 0${nl}}"
    TRACK_BLOCK="    track_script {${nl}        fabmond_heartbeat${nl}    }"
fi
PROCESS_BLOCK=
if [ -n "$PROCESS" ]; then
    PROCESS_BLOCK="# fabmond's process, by its command line: FAULT as soon as it exits.${nl}vrrp_track_process fabmond_process {${nl}    process $PROCESS${nl}    quorum 1${nl}    weight 0${nl}    delay 0.2${nl}}"
    TRACK_BLOCK="$TRACK_BLOCK${TRACK_BLOCK:+$nl}    track_process {${nl}        fabmond_process${nl}    }"
fi

render() {
    # values through the environment: awk -v would expand backslashes
    K_VIP=$VIP K_IFACE=$IFACE K_PRIO=$PRIORITY K_VRID=$VRID K_ADVERT=$ADVERT \
    K_INST=$INSTANCE K_RID=$ROUTER_ID K_FIFO=$FIFO K_TRACK=$TRACK_FILE K_NOTE=$NOTE \
    K_PRE=$PREEMPT_BLOCK K_UNI=$UNICAST_BLOCK K_HB=$HEARTBEAT_BLOCK K_TP=$PROCESS_BLOCK \
    K_TR=$TRACK_BLOCK awk '
        function block(name) { if (ENVIRON[name] != "") print ENVIRON[name] }
        function sub_all(tok, name,    v, out, i) {
            v = ENVIRON[name]; out = ""
            while ((i = index($0, tok)) > 0) {
                out = out substr($0, 1, i - 1) v
                $0 = substr($0, i + length(tok))
            }
            $0 = out $0
        }
        /^[ \t]*@PREEMPT@[ \t]*$/ { block("K_PRE"); next }
        /^[ \t]*@UNICAST@[ \t]*$/ { block("K_UNI"); next }
        /^[ \t]*@HEARTBEAT@[ \t]*$/ { block("K_HB"); next }
        /^[ \t]*@TRACK_PROCESS@[ \t]*$/ { block("K_TP"); next }
        /^[ \t]*@TRACK@[ \t]*$/ { block("K_TR"); next }
        /^[ \t]*@GLOBAL_EXTRA@[ \t]*$/ { next }
        {
            sub_all("@VIP@", "K_VIP"); sub_all("@IFACE@", "K_IFACE")
            sub_all("@PRIORITY@", "K_PRIO"); sub_all("@VRID@", "K_VRID")
            sub_all("@ADVERT@", "K_ADVERT"); sub_all("@INSTANCE@", "K_INST")
            sub_all("@ROUTER_ID@", "K_RID"); sub_all("@FIFO@", "K_FIFO")
            sub_all("@TRACK_FILE@", "K_TRACK"); sub_all("@PREEMPT_NOTE@", "K_NOTE")
            print
        }' "$TEMPLATE"
}

fabmond_ini() {
    cat <<EOF
# fabmond's [ha] section for this node (ha/mkconf.sh). fabmond listens on
# every address, so that the VIP serves the API, the web page and /ws:
#   [http] listen = 0.0.0.0:$HTTP_PORT     [sflow] listen = 0.0.0.0:$SFLOW_PORT
[ha]
notify_fifo = $FIFO
track_file = $TRACK_FILE
instance = $INSTANCE
vip = ${VIP%/*}
peer = $PEER:$HTTP_PORT
# configuration sync: the same secret on both nodes (openssl rand -hex 32)
# secret =
EOF
    if [ "$FEED" = vip ]; then
        cat <<EOF
# VIP-feed: the switches send to the VIP; while MASTER, this node forwards
# every datagram to the peer (needs the ha.forward_to key: see README.md),
# and NetFlow/IPFIX with their exporters' addresses
forward_to = $PEER:$SFLOW_PORT
forward_netflow_to = $PEER:2055
EOF
    fi
}

if [ -n "$OUT_K" ]; then render >"$OUT_K"; else render; fi
if [ -n "$OUT_F" ]; then fabmond_ini >"$OUT_F"; elif [ -z "$OUT_K" ]; then echo; fabmond_ini; fi
