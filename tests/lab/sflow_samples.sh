#!/usr/bin/env bash
# tests/lab/sflow_samples.sh PCAP [UDP_PORT] - list the sFlow v5 flow samples in a capture.
#
# One line per flow sample, decoded by tshark (the oracle):
#   AGENT SEQ RATE IN OUT SRC DST PROTO DPORT
# AGENT = sFlow agent address, SEQ = flow sample sequence number, RATE = sampling
# rate, IN/OUT = input/output ifIndex (decimal), SRC/DST/PROTO/DPORT = first IPv4
# header of the sampled packet ("-" when absent; PROTO is udp, tcp, icmp or the
# IP protocol number). Capture with e.g.
#   lab.sh exec c1 tshark -q -i eth0 -f 'udp port 6343' -a duration:5 -w /tmp/x.pcap
set -euo pipefail
pcap=${1:?usage: sflow_samples.sh PCAP [UDP_PORT]}
port=${2:-6343}
tshark -n -r "$pcap" -d "udp.port==$port,sflow" -V 2>/dev/null | awk '
function flush() {
    if (insample && proto == "" && ipproto != "") proto = ipproto
    if (insample)
        print agent, seq, rate, inif, outif, (src == "" ? "-" : src), (dst == "" ? "-" : dst),
              (proto == "" ? "-" : proto), (dport == "" ? "-" : dport)
    insample = 0
}
/^Frame [0-9]+:/ { flush(); agent = "-" }
/^InMon sFlow/ { flush(); agent = "-" }
/^    Agent address: / { agent = $3 }
/^    (Flow sample|Expanded flow sample), seq/ {
    flush(); insample = 1; seq = $NF; rate = "-"; inif = "-"; outif = "-"
    src = ""; dst = ""; proto = ""; dport = ""; ipproto = ""
}
/^    Counters sample/ { flush() }
insample && /^        Sampling rate: 1 out of/ { rate = $6 }
insample && /^        Input interface \(ifIndex\): / { inif = $NF }
insample && /= Output interface value: / && outif == "-" { outif = $NF }
insample && /Internet Protocol Version 4, Src: / && src == "" {
    s = $0; sub(/.*Src: /, "", s); split(s, a, ", Dst: "); src = a[1]; dst = a[2]
}
insample && src != "" && ipproto == "" && /^ *Protocol: / {
    ipproto = $0; sub(/.*\(/, "", ipproto); sub(/\).*/, "", ipproto)
}
insample && /User Datagram Protocol, Src Port: / && proto == "" {
    proto = "udp"; d = $0; sub(/.*Dst Port: /, "", d); sub(/[^0-9].*/, "", d); dport = d
}
insample && /Transmission Control Protocol, Src Port: / && proto == "" {
    proto = "tcp"; d = $0; sub(/.*Dst Port: /, "", d); sub(/[^0-9].*/, "", d); dport = d
}
insample && /Internet Control Message Protocol/ && proto == "" { proto = "icmp" }
END {
    flush()
}
'
