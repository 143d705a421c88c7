#!/usr/bin/env python3
"""tshark_oracle.py: an independent sFlow oracle built on Wireshark's dissector.

Usage:
    tshark_oracle.py [--port N]... FILE.pcap...   print one normalized JSON object per
                                                  sFlow datagram, one per line
    tshark_oracle.py --selftest [--fixtures DIR]  run on every sflow-*.pcap fixture

It runs `tshark -n -r FILE -d udp.port==6343,sflow -Y sflow -T json` and reduces each
datagram to the fixed normalized schema that tshark_compare.py also derives from
`fabmond --decode` (see docs/decode-json.md §11):

  {"frame": N, "agent": "1.2.3.4", "subAgentId": 0, "seq": 123, "uptime": 456,
   "samples": [{"type": "flow"|"counter"|"flow_expanded"|"counter_expanded"|"discard"|"other",
                "seq", "sourceIdType", "sourceIdIndex", "samplingRate", "samplePool", "drops",
                "input": {"format", "value"}, "output": {"format", "value"},
                "srcIP", "dstIP", "IPProtocol", "srcPort", "dstPort",
                "counters": [{generic interface counters, sflowtool key names}],
                "malformed": true}],
   "malformed": true}

A key is left out when tshark does not give it. "frame" (the pcap frame number) and
"malformed" are additions to the schema.

tshark 4.0 quirks that this handles (stdlib only, so it runs anywhere tshark does):
- The JSON has duplicate keys ("ip.addr" twice, and two samples with the same label
  text), so it is parsed into lists of (key, value) pairs, never into dicts.
- The sampled packet header is dissected under "sflow_245.header_tree" inside each
  flow record. The outer eth/ip/udp of the datagram itself are separate top-level
  layers, so they are never mistaken for the sample. Inside header_tree the layers
  are siblings in order (eth, vlan, ip, tcp, and for VXLAN udp, vxlan, eth, ip...),
  so the first IP layer and the L4 layer right after it are the outer header.
- tshark does not skip an unknown flow or counter record by its length. It shows
  "Unknown sample format" and then reads the record's body as the next record, which
  gives garbage such as a fake "Generic interface counters". This hits every OVS
  counter sample (record 0:1004). Records after the first unknown one are therefore
  ignored, and the sample is marked "malformed" when any followed. Samples themselves
  are skipped by length correctly.
- An exception (truncated datagram, or garbage reading past the end) adds a top-level
  "_ws.malformed" layer and stops dissection. The datagram and its last sample are
  marked "malformed", and the samples that follow are absent.
- tshark 4.0 does not dissect discarded-packet samples (0:5). They come out as
  {"type": "discard"} only.
- Field-name inconsistencies: compact flow samples use source_id_class/index and a raw
  input_interface (format bits not split: split here), while expanded ones use
  source_id_type/source_id_index; the expanded output format is
  "sflow.flow_sample.output_interface.format" (dot) but the input format is
  "..._interface_format" (underscore).
"""

import argparse
import ipaddress
import json
import os
import pathlib
import subprocess
import sys

SAMPLE_TYPES = {1: "flow", 2: "counter", 3: "flow_expanded", 4: "counter_expanded", 5: "discard"}

# tshark generic-interface-counter fields -> sflowtool -j key names.
GENERIC_FIELDS = [
    ("sflow_245.ifindex", "ifIndex"),
    ("sflow_245.iftype", "networkType"),
    ("sflow_245.ifspeed", "ifSpeed"),
    ("sflow_245.ifdirection", "ifDirection"),
    ("sflow_245.ifinoct", "ifInOctets"),
    ("sflow_245.ifinpkt", "ifInUcastPkts"),
    ("sflow_245.ifinmcast", "ifInMulticastPkts"),
    ("sflow_245.ifinbcast", "ifInBroadcastPkts"),
    ("sflow_245.ifindisc", "ifInDiscards"),
    ("sflow_245.ifinerr", "ifInErrors"),
    ("sflow_245.ifinunk", "ifInUnknownProtos"),
    ("sflow_245.ifoutoct", "ifOutOctets"),
    ("sflow_245.ifoutpkt", "ifOutUcastPkts"),
    ("sflow_245.ifoutmcast", "ifOutMulticastPkts"),
    ("sflow_245.ifoutbcast", "ifOutBroadcastPkts"),
    ("sflow_245.ifoutdisc", "ifOutDiscards"),
    ("sflow_245.ifouterr", "ifOutErrors"),
    ("sflow_245.ifpromisc", "ifPromiscuousMode"),
]

# Layers that may sit between the start of the sampled header and the IP layer for
# sflowtool to still decode IP (Ethernet, 802.1Q/QinQ, 802.2 LLC/SNAP). Anything else
# (mpls, pppoe, ...) stops sflowtool, so the oracle must not report IP either.
L2_LAYERS = {"eth", "vlan", "ieee8021ad", "llc", "snap"}

# header_protocol values for which sflowtool decodes IP (Ethernet, IPv4, IPv6).
IP_HEADER_PROTOCOLS = {1, 11, 12}


class OracleError(Exception):
    pass


def is_node(v):
    """A JSON object parsed with object_pairs_hook=list: a list of (key, value) tuples."""
    return isinstance(v, list) and all(isinstance(p, tuple) for p in v) and len(v) > 0


def first(node, *keys):
    for k, v in node:
        if k in keys and not is_node(v):
            return v
    return None


def as_int(v):
    if v is None:
        return None
    for base in (10, 0):
        try:
            return int(str(v), base)
        except ValueError:
            pass
    return None


def norm_ip(v):
    if v is None:
        return None
    try:
        return str(ipaddress.ip_address(v))
    except ValueError:
        return v


def split_iface(raw):
    """A compact (32-bit) interface value: top 2 bits format, low 30 bits value."""
    return {"format": raw >> 30, "value": raw & 0x3FFFFFFF}


def find_key(node, key, skip=()):
    """Depth-first search for key below node, not descending into keys in skip."""
    for k, v in node:
        if k == key:
            return v
        if is_node(v) and k not in skip:
            r = find_key(v, key, skip)
            if r is not None:
                return r
    return None


def last_ipv6_nxt(node):
    """The final next-header of an IPv6 layer: tshark nests extension headers
    (ipv6.hopopts, ipv6.routing, ...) inside the ipv6 tree, each with its own .nxt."""
    found = None
    for k, v in node:
        if is_node(v):
            r = last_ipv6_nxt(v)
            if r is not None:
                found = r
        elif k.startswith("ipv6.") and k.endswith(".nxt"):
            found = v
    return found


def header_l3l4(htree, header_protocol):
    """srcIP/dstIP/IPProtocol/ports from a dissected sampled header, as sflowtool
    would see it: the first IP layer if only L2 layers precede it, and ports only from
    the L4 layer that directly follows it."""
    out = {}
    if header_protocol not in IP_HEADER_PROTOCOLS:
        return out
    layers = [(k, v) for k, v in htree if is_node(v)]
    for i, (k, v) in enumerate(layers):
        if k in ("ip", "ipv6"):
            break
        if k not in L2_LAYERS:
            return out
    else:
        return out
    if k == "ip":
        out["srcIP"] = norm_ip(first(v, "ip.src"))
        out["dstIP"] = norm_ip(first(v, "ip.dst"))
        proto = as_int(first(v, "ip.proto"))
        if as_int(first(v, "ip.frag_offset")):
            # sflowtool stops at a non-first fragment: no L4 keys.
            out["IPProtocol"] = proto
            return {x: y for x, y in out.items() if y is not None}
    else:
        out["srcIP"] = norm_ip(first(v, "ipv6.src"))
        out["dstIP"] = norm_ip(first(v, "ipv6.dst"))
        proto = as_int(last_ipv6_nxt(v))
    out["IPProtocol"] = proto
    if i + 1 < len(layers):
        l4name, l4 = layers[i + 1]
        if (l4name, proto) in (("tcp", 6), ("udp", 17)):
            out["srcPort"] = as_int(first(l4, l4name + ".srcport"))
            out["dstPort"] = as_int(first(l4, l4name + ".dstport"))
    return {x: y for x, y in out.items() if y is not None}


def sampled_ip_record(rec, v6):
    """srcIP... from a sampled IPv4 (0:3) or IPv6 (0:4) record."""
    out = {
        "srcIP": norm_ip(first(rec, "sflow_245.ipv6_src" if v6 else "sflow_245.ipv4_src")),
        "dstIP": norm_ip(first(rec, "sflow_245.ipv6_dst" if v6 else "sflow_245.ipv4_dst")),
        "IPProtocol": as_int(first(rec, "sflow.ip_protocol")),
    }
    if out["IPProtocol"] in (6, 17):
        out["srcPort"] = as_int(first(rec, "sflow_245.ip.source_port"))
        out["dstPort"] = as_int(first(rec, "sflow.ip.destination_port"))
    return {x: y for x, y in out.items() if y is not None}


def record_format(rec):
    f = first(rec, "sflow_245.flow_record_format", "sflow_245.counters_record_format")
    return as_int(f)


def is_record(v):
    return is_node(v) and record_format(v) is not None


def generic_counters(rec):
    c = {}
    for field, name in GENERIC_FIELDS:
        x = as_int(first(rec, field))
        if x is not None:
            c[name] = x
    admin = as_int(first(rec, "sflow_245.ifadmin_status"))
    oper = as_int(first(rec, "sflow_245.ifoper_status"))
    if admin is not None and oper is not None:
        c["ifStatus"] = (1 if admin else 0) | (2 if oper else 0)
    return c


def normalize_sample(label, node):
    s = {}
    ent = as_int(first(node, "sflow.enterprise")) or 0
    st = as_int(first(node, "sflow_245.sampletype"))
    s["type"] = SAMPLE_TYPES.get(st, "other") if ent == 0 else "other"
    t = s["type"]

    def put(key, val):
        if val is not None:
            s[key] = val

    if t in ("flow", "flow_expanded"):
        put("seq", as_int(first(node, "sflow.flow_sample.sequence_number")))
        if t == "flow":
            put("sourceIdType", as_int(first(node, "sflow.flow_sample.source_id_class")))
            put("sourceIdIndex", as_int(first(node, "sflow.flow_sample.index")))
        else:
            put("sourceIdType", as_int(first(node, "sflow.flow_sample.source_id_type")))
            put("sourceIdIndex", as_int(first(node, "sflow.flow_sample.source_id_index")))
        put("samplingRate", as_int(first(node, "sflow.flow_sample.sampling_rate")))
        put("samplePool", as_int(first(node, "sflow.flow_sample.sample_pool")))
        put("drops", as_int(first(node, "sflow.flow_sample.dropped_packets")))
        if t == "flow":
            raw_in = as_int(first(node, "sflow.flow_sample.input_interface"))
            raw_out = as_int(first(node, "sflow.flow_sample.output_interface"))
            if raw_in is not None:
                s["input"] = split_iface(raw_in)
            if raw_out is not None:
                s["output"] = split_iface(raw_out)
        else:
            inf = as_int(first(node, "sflow.flow_sample.input_interface_format"))
            inv = as_int(first(node, "sflow.flow_sample.input_interface_value"))
            outf = as_int(first(node, "sflow.flow_sample.output_interface.format",
                                "sflow.flow_sample.output_interface_format"))
            outv = as_int(first(node, "sflow.flow_sample.output_interface_value"))
            if inf is not None and inv is not None:
                s["input"] = {"format": inf, "value": inv}
            if outf is not None and outv is not None:
                s["output"] = {"format": outf, "value": outv}
    elif t in ("counter", "counter_expanded"):
        put("seq", as_int(first(node, "sflow.counters_sample.sequence_number")))
        put("sourceIdType", as_int(first(node, "sflow.counters_sample.source_id_type",
                                         "sflow.counters_sample.source_id_class")))
        put("sourceIdIndex", as_int(first(node, "sflow.counters_sample.source_id_index",
                                          "sflow.counters_sample.index")))

    if t in ("flow", "flow_expanded", "counter", "counter_expanded"):
        records = [(k, v) for k, v in node if is_record(v)]
        trusted = []
        for i, (k, v) in enumerate(records):
            trusted.append((k, v))
            if k == "Unknown sample format":
                if i + 1 < len(records):
                    s["malformed"] = True
                break
        if t.startswith("flow"):
            l3 = None
            header = next((v for k, v in trusted
                           if record_format(v) == 1
                           and (as_int(first(v, "sflow.enterprise")) or 0) == 0), None)
            if header is not None:
                htree = first_node(header, "sflow_245.header_tree")
                hp = as_int(first(header, "sflow_245.header_protocol"))
                l3 = header_l3l4(htree, hp) if htree else {}
            else:
                for k, v in trusted:
                    if (as_int(first(v, "sflow.enterprise")) or 0) != 0:
                        continue
                    if record_format(v) in (3, 4):
                        l3 = sampled_ip_record(v, record_format(v) == 4)
                        break
            if l3:
                s.update(l3)
        else:
            counters = [generic_counters(v) for k, v in trusted
                        if record_format(v) == 1
                        and (as_int(first(v, "sflow.enterprise")) or 0) == 0]
            if counters:
                s["counters"] = counters
    return s


def first_node(node, key):
    for k, v in node:
        if k == key and is_node(v):
            return v
    return None


def normalize_packet(pkt):
    source = first_node(pkt, "_source") if is_node(pkt) else None
    layers = first_node(source, "layers") if source else None
    if not layers:
        return None
    sflow = first_node(layers, "sflow")
    if sflow is None:
        return None
    d = {}
    frame = first_node(layers, "frame")
    if frame:
        d["frame"] = as_int(first(frame, "frame.number"))
    agent = first(sflow, "sflow_245.agent", "sflow_245.agent.v6")
    if agent is not None:
        d["agent"] = norm_ip(agent)
    for field, name in (("sflow_245.sub_agent_id", "subAgentId"),
                        ("sflow_245.sequence_number", "seq"),
                        ("sflow_245.sysuptime", "uptime")):
        x = as_int(first(sflow, field))
        if x is not None:
            d[name] = x
    d["samples"] = [normalize_sample(k, v) for k, v in sflow
                    if is_node(v) and first(v, "sflow_245.sampletype") is not None]
    # "_ws.malformed" (an exception) or "_ws.short" (the capture's snaplen cut the
    # datagram) as a layer means that sFlow dissection stopped there. A malformed
    # *sampled header* is different: tshark catches the exception inside
    # sflow_245.header_tree and goes on with the next record, so it is ignored.
    malformed = any(k in ("_ws.malformed", "_ws.short") for k, _ in layers) or \
        find_key(sflow, "_ws.malformed", skip=("sflow_245.header_tree",)) is not None
    if malformed:
        d["malformed"] = True
        if d["samples"]:
            d["samples"][-1]["malformed"] = True
    return d


def run_tshark(path, ports=(6343,)):
    """Return the list of normalized datagrams of one pcap. Raise OracleError if
    tshark fails."""
    cmd = ["tshark", "-n", "-r", str(path)]
    for p in ports:
        cmd += ["-d", "udp.port==%d,sflow" % p]
    cmd += ["-Y", "sflow", "-T", "json"]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True)
    except FileNotFoundError:
        raise OracleError("tshark not found in PATH")
    err = " ".join(l for l in res.stderr.splitlines() if "Running as user" not in l).strip()
    if res.returncode != 0:
        # A capture whose writer was killed ends mid-packet. tshark then exits 2 but
        # has printed every whole packet, so keep those, and say so on stderr.
        if "cut short in the middle of a packet" in err and res.stdout.strip():
            print("warning: %s: %s" % (path, err[:300]), file=sys.stderr)
        else:
            raise OracleError("tshark exited %d: %s" % (res.returncode, err[:300]))
    text = res.stdout.strip()
    if not text:
        return []
    try:
        packets = json.loads(text, object_pairs_hook=lambda pairs: pairs)
    except json.JSONDecodeError as e:
        raise OracleError("cannot parse tshark JSON: %s" % e)
    out = []
    for pkt in packets:
        d = normalize_packet(pkt)
        if d is not None:
            out.append(d)
    return out


def fixtures_dir(arg=None):
    if arg:
        return pathlib.Path(arg)
    if os.environ.get("FIXTURES"):
        return pathlib.Path(os.environ["FIXTURES"])
    repo = pathlib.Path(__file__).resolve().parents[2]
    return repo.parent / "shared" / "fixtures" / "pcap"


def selftest(fdir, ports):
    files = sorted(fdir.glob("sflow-*.pcap"))
    if not files:
        print("FAIL no sflow-*.pcap in %s" % fdir)
        return 1
    failed = 0
    total_d = total_s = 0
    for f in files:
        try:
            dgrams = run_tshark(f, ports)
        except OracleError as e:
            print("FAIL %s: %s" % (f.name, e))
            failed += 1
            continue
        if not dgrams:
            print("FAIL %s: tshark found no sFlow datagram" % f.name)
            failed += 1
            continue
        bad = [i for i, d in enumerate(dgrams) if "agent" not in d or "seq" not in d]
        if bad:
            print("FAIL %s: datagram(s) %s lack agent/seq" % (f.name, bad))
            failed += 1
            continue
        types = {}
        nsamp = 0
        for d in dgrams:
            for s in d["samples"]:
                types[s["type"]] = types.get(s["type"], 0) + 1
                nsamp += 1
        mal = sum(1 for d in dgrams if d.get("malformed"))
        total_d += len(dgrams)
        total_s += nsamp
        print("ok %s (%d datagrams, %d samples: %s%s)" % (
            f.name, len(dgrams), nsamp,
            ", ".join("%s %d" % kv for kv in sorted(types.items())) or "none",
            ", %d malformed" % mal if mal else ""))
    print("%d files, %d datagrams, %d samples; %d passed, %d failed" % (
        len(files), total_d, total_s, len(files) - failed, failed))
    return 1 if failed else 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("pcap", nargs="*")
    ap.add_argument("--port", type=int, action="append",
                    help="also decode this UDP port as sFlow (6343 always)")
    ap.add_argument("--selftest", action="store_true",
                    help="run on every sflow-*.pcap fixture and print a summary")
    ap.add_argument("--fixtures", help="fixture directory (default: $FIXTURES or "
                    "<repo>/../shared/fixtures/pcap)")
    a = ap.parse_args(argv)
    ports = [6343] + [p for p in (a.port or []) if p != 6343]
    if a.selftest:
        return selftest(fixtures_dir(a.fixtures), ports)
    if not a.pcap:
        ap.error("give a pcap file, or --selftest")
    rc = 0
    for p in a.pcap:
        try:
            for d in run_tshark(p, ports):
                print(json.dumps(d, separators=(",", ":")))
        except OracleError as e:
            print("%s: %s" % (p, e), file=sys.stderr)
            rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
