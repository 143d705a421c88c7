#!/usr/bin/env python3
"""tshark_compare.py: compare `fabmond --decode` with tshark, field by field.

Usage:
    tshark_compare.py --fabmond PATH/TO/fabmond [--port N]... PCAP...

For each pcap, it runs the oracle (tshark_oracle.py, next to this file) and
`fabmond --decode PCAP`. It maps fabmond's sflowtool-style JSON (docs/decode-json.md)
onto the oracle's normalized schema and compares:
- per datagram: agent, subAgentId, seq, uptime;
- per sample: type, seq, sourceIdType, sourceIdIndex, samplingRate, samplePool, drops,
  input/output format and value (a format-1 value is the discard reason), srcIP, dstIP,
  IPProtocol, srcPort, dstPort;
- the generic interface counters, where both sides have them.

It prints `ok FILE (N datagrams, M samples, K fields compared)`, or one
`FAIL FILE: <field path>: tshark=X fabmond=Y` line per difference.

The rules:
- A field that tshark gives and fabmond lacks is a failure. A field that only fabmond
  gives is not compared.
- A missing or extra datagram or sample is a failure, with two exceptions when tshark
  could not dissect the datagram ("malformed"): extra fabmond samples after the point
  where tshark stopped, and a missing last (partial) sample when fabmond reports a
  decodeError for that datagram.
- A decodeError in a datagram that tshark dissected cleanly is a failure.
- If fabmond exits non-zero, or zero fields were compared, that pcap fails.

fabmond's output may be one object per line or any stream of concatenated JSON objects.
Datagrams are paired by fabmond's "pcapFrame" (docs/decode-json.md E5) when it is
present, and by order otherwise. The exit status is 0 only if every pcap is ok.
"""

import argparse
import ipaddress
import json
import pathlib
import re
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import tshark_oracle  # noqa: E402

TAG_TYPES = {"0:1": "flow", "0:2": "counter", "0:3": "flow_expanded",
             "0:4": "counter_expanded", "0:5": "discard"}
SAMPLE_SCALARS = ["seq", "sourceIdType", "sourceIdIndex", "samplingRate", "samplePool",
                  "drops", "srcIP", "dstIP", "IPProtocol", "srcPort", "dstPort"]
COUNTER_KEYS = [name for _, name in tshark_oracle.GENERIC_FIELDS] + ["ifStatus"]
PORT_RE = [(re.compile(r"^(\d+)$"), 0), (re.compile(r"^dropCode (\d+)$"), 1),
           (re.compile(r"^multiple (\d+)$"), 2), (re.compile(r"^format==(\d+) (\d+)$"), None)]


def parse_stream(text):
    """Parse newline-delimited or concatenated JSON objects."""
    dec = json.JSONDecoder()
    objs, i, n = [], 0, len(text)
    while True:
        while i < n and text[i] in " \t\r\n":
            i += 1
        if i >= n:
            return objs
        obj, i = dec.raw_decode(text, i)
        objs.append(obj)


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


def parse_port(s):
    if s is None:
        return None
    s = str(s).strip()
    for rx, fmt in PORT_RE:
        m = rx.match(s)
        if m:
            if fmt is None:
                return {"format": int(m.group(1)), "value": int(m.group(2))}
            return {"format": fmt, "value": int(m.group(1))}
    return {"format": None, "value": s}


def strip_prefix(el, prefix):
    if not prefix:
        return el
    return {(k[len(prefix):] if k.startswith(prefix) else k): v for k, v in el.items()}


def fab_l3l4(el):
    out = {"srcIP": norm_ip(el.get("srcIP", el.get("srcIP6"))),
           "dstIP": norm_ip(el.get("dstIP", el.get("dstIP6"))),
           "IPProtocol": as_int(el.get("IPProtocol"))}
    if "TCPSrcPort" in el:
        out["srcPort"], out["dstPort"] = as_int(el.get("TCPSrcPort")), as_int(el.get("TCPDstPort"))
    elif "UDPSrcPort" in el:
        out["srcPort"], out["dstPort"] = as_int(el.get("UDPSrcPort")), as_int(el.get("UDPDstPort"))
    return {k: v for k, v in out.items() if v is not None}


def normalize_fab_sample(s):
    n = {}
    tag = s.get("sampleType_tag")
    n["type"] = TAG_TYPES.get(tag, "other")
    if n["type"] == "other":
        return n
    if "sampleSequenceNo" in s:
        n["seq"] = as_int(s["sampleSequenceNo"])
    if "sourceId" in s and ":" in str(s["sourceId"]):
        c, i = str(s["sourceId"]).split(":", 1)
        n["sourceIdType"], n["sourceIdIndex"] = as_int(c), as_int(i)
    for src, dst in (("meanSkipCount", "samplingRate"), ("samplePool", "samplePool"),
                     ("dropEvents", "drops")):
        if src in s:
            n[dst] = as_int(s[src])
    for src, dst in (("inputPort", "input"), ("outputPort", "output")):
        if src in s:
            n[dst] = parse_port(s[src])
    elements = s.get("elements") or []
    prefix = "discarded_" if n["type"] == "discard" else ""
    elements = [strip_prefix(e, prefix) for e in elements if isinstance(e, dict)]
    if n["type"] in ("flow", "flow_expanded", "discard"):
        hdr = next((e for e in elements if e.get("flowSampleType") == "HEADER"), None)
        if hdr is None:
            hdr = next((e for e in elements if e.get("flowSampleType") in ("IPV4", "IPV6")), None)
        if hdr is not None:
            n.update(fab_l3l4(hdr))
    else:
        counters = []
        for e in elements:
            if e.get("counterBlock_tag") == "0:1":
                counters.append({k: as_int(e[k]) for k in COUNTER_KEYS if k in e})
        if counters:
            n["counters"] = counters
    if "decodeError" in s:
        n["decodeError"] = s["decodeError"]
    return n


def normalize_fab(d):
    n = {}
    if "pcapFrame" in d:
        n["frame"] = as_int(d["pcapFrame"])
    if "agent" in d:
        n["agent"] = norm_ip(d["agent"])
    for src, dst in (("agentSubId", "subAgentId"), ("packetSequenceNo", "seq"),
                     ("sysUpTime", "uptime")):
        if src in d:
            n[dst] = as_int(d[src])
    n["samples"] = [normalize_fab_sample(s) for s in d.get("samples") or []
                    if isinstance(s, dict)]
    if "decodeError" in d:
        n["decodeError"] = d["decodeError"]
    return n


class Comparison:
    def __init__(self, name):
        self.name = name
        self.fails = []
        self.fields = 0
        self.samples = 0

    def fail(self, path, t, f):
        self.fails.append("FAIL %s: %s: tshark=%s fabmond=%s" % (
            self.name, path, json.dumps(t), json.dumps(f)))

    def field(self, path, t, f):
        if t is None:
            return
        self.fields += 1
        if f is None:
            self.fail(path, t, "(missing)")
        elif t != f:
            self.fail(path, t, f)

    def sample(self, path, ts, fs):
        self.field(path + ".type", ts["type"], fs.get("type"))
        if ts["type"] != fs.get("type"):
            return
        for k in SAMPLE_SCALARS:
            self.field(path + "." + k, ts.get(k), fs.get(k))
        for k in ("input", "output"):
            if k in ts:
                fp = fs.get(k) or {}
                self.field(path + "." + k + ".format", ts[k]["format"], fp.get("format"))
                self.field(path + "." + k + ".value", ts[k]["value"], fp.get("value"))
        tc, fc = ts.get("counters") or [], fs.get("counters") or []
        if len(fc) < len(tc):
            self.fail(path + ".counters", "%d records" % len(tc), "%d records" % len(fc))
        for i, (a, b) in enumerate(zip(tc, fc)):
            for k in COUNTER_KEYS:
                if k in a and k in b:
                    self.field("%s.counters[%d].%s" % (path, i, k), a[k], b[k])
        if "decodeError" in fs and not ts.get("malformed"):
            self.fail(path + ".decodeError", None, fs["decodeError"])

    def datagram(self, path, td, fd):
        for k in ("agent", "subAgentId", "seq", "uptime"):
            self.field(path + "." + k, td.get(k), fd.get(k))
        if "decodeError" in fd and not td.get("malformed"):
            self.fail(path + ".decodeError", None, fd["decodeError"])
        tsam, fsam = td["samples"], fd["samples"]
        if (len(fsam) == len(tsam) - 1 and td.get("malformed") and "decodeError" in fd
                and tsam[-1].get("malformed")):
            # tshark shows the partial sample where dissection broke; fabmond may
            # drop a sample whose length overruns the datagram (decode-json.md §8).
            tsam = tsam[:-1]
        if len(fsam) < len(tsam):
            self.fail(path + ".samples", "%d samples" % len(tsam), "%d samples" % len(fsam))
        elif len(fsam) > len(tsam) and not td.get("malformed"):
            self.fail(path + ".samples", "%d samples" % len(tsam), "%d samples" % len(fsam))
        for j, (ts, fs) in enumerate(zip(tsam, fsam)):
            self.samples += 1
            self.sample("%s.samples[%d]" % (path, j), ts, fs)


def pair(tdg, fdg):
    """Pair datagrams by frame number if fabmond gives one, else by order."""
    if fdg and all("frame" in d for d in fdg) and all("frame" in d for d in tdg):
        fmap = {d["frame"]: d for d in fdg}
        pairs = [(t, fmap.get(t["frame"])) for t in tdg]
        extra = [d["frame"] for d in fdg if d["frame"] not in {t["frame"] for t in tdg}]
        return pairs, extra
    pairs = [(t, fdg[i] if i < len(fdg) else None) for i, t in enumerate(tdg)]
    extra = list(range(len(tdg), len(fdg)))
    return pairs, extra


def compare_file(fabmond, pcap, ports):
    name = pathlib.Path(pcap).name
    cmp = Comparison(name)
    try:
        tdg = tshark_oracle.run_tshark(pcap, ports)
    except tshark_oracle.OracleError as e:
        return ["FAIL %s: tshark: %s" % (name, e)]
    try:
        res = subprocess.run([fabmond, "--decode", str(pcap)], capture_output=True, text=True,
                             timeout=300)
    except (OSError, subprocess.TimeoutExpired) as e:
        return ["FAIL %s: cannot run fabmond: %s" % (name, e)]
    if res.returncode != 0:
        cmp.fail("fabmond exit status", 0, res.returncode)
    try:
        fdg = [normalize_fab(d) for d in parse_stream(res.stdout) if isinstance(d, dict)]
    except json.JSONDecodeError as e:
        return cmp.fails + ["FAIL %s: fabmond output is not JSON: %s" % (name, e)]
    if not tdg:
        cmp.fail("datagrams", "0 (tshark found no sFlow)", len(fdg))
    pairs, extra = pair(tdg, fdg)
    for i, (t, f) in enumerate(pairs):
        path = "datagram[%d]" % i if "frame" not in t else "frame %d" % t["frame"]
        if f is None:
            cmp.fail(path, "datagram", "(missing)")
            continue
        cmp.datagram(path, t, f)
    for x in extra:
        cmp.fail("datagram %s" % x, "(none)", "extra datagram")
    if cmp.fields == 0:
        cmp.fail("fields compared", ">0", 0)
    if cmp.fails:
        return cmp.fails
    return ["ok %s (%d datagrams, %d samples, %d fields compared)" % (
        name, len(tdg), cmp.samples, cmp.fields)]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fabmond", required=True, help="path to the fabmond binary")
    ap.add_argument("--port", type=int, action="append",
                    help="also decode this UDP port as sFlow in tshark (6343 always)")
    ap.add_argument("pcap", nargs="+")
    a = ap.parse_args(argv)
    ports = [6343] + [p for p in (a.port or []) if p != 6343]
    bad = 0
    for p in a.pcap:
        lines = compare_file(a.fabmond, p, ports)
        for l in lines:
            print(l)
        if lines and lines[0].startswith("FAIL"):
            bad += 1
    if len(a.pcap) > 1:
        print("%d passed, %d failed" % (len(a.pcap) - bad, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
