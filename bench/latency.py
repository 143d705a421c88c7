#!/usr/bin/env python3
"""latency.py: how long a datagram takes to show on fabmond's /ws push
channel, from the moment it is sent to the first frame that shows it.

Method (bench/README.md has the details). A local fabmond (store off, SNMP
off) with blast's fabric (bench/fabric.py) plus one node, "probe", whose
agent 10.98.0.1 has 8 imported ports and no link: edge ports. A websocket
client subscribes to `top`. For each of 200 probes it creates a trace (the
ws op "trace") whose filter is the probe's own source address, 10.201.X.Y,
which nothing else sends, a little before the probe is due; then it sends
the probe: one sFlow v5 datagram from agent 10.98.0.1 with one flow sample
(a UDP packet from that address, sampling rate 1,000,000, entering an edge
port) and notes the time T. The latency is from T to the moment the whole
first frame that shows the probe has arrived:
  - trace: the first `trace/ID` frame whose `hops` is not empty;
  - top: the first `top` frame whose `flows` lists the probe's source.
The probes' send times are a Poisson process (exponential gaps, mean
max(push_ms / 6, 100 ms)), so they fall at random phases of the push period.
Each trace is deleted once its probe has shown: at most 20 are alive at
once (fabmond allows 24 topics a ws client); a probe that must wait for
room is put off by a random part of a push period.

It measures engine.push_ms 1000 (the default) and 100, each without load
and under a background load of blast's realistic datagrams (the 50-agent
profile, 20,000 datagrams/s by default).

What a trace frame's latency is made of: the ingest thread counts the
sample at once, but the API answers from the engine's snapshot, which the
ingest thread takes every push_ms (0 to one period of waiting); the /ws
push runs on its own timer, also every push_ms after the previous push,
at some phase offset F from the snapshots; then the frame is built and
written. Both timers have the same period, so F stays about the same for
a while: the latency is uniform over [F, F + push_ms] plus the build,
half a period plus F on average, at most two periods. When pushes take
long (under load) the push timer drifts and F moves. The top topic comes from
the history thread's top-N, computed once a second whatever push_ms is, so
it waits for that tick too. The trace hop's `lastSeen` (when fabmond got
the sample) and the frame's `ts` (when it was built) split the trace
latency into arrival, waiting, and delivery.

Python 3 standard library only. Prints a table (or --json); asserts
nothing; exits 1 only when fabmond cannot be run.

  python3 bench/latency.py --fabmond build/bench/fabmond \\
      --blast build/bench/blast [--probes 200] [--push 1000,100]
      [--load-rate 20000] [--json] [--keep]
"""

import argparse
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fabric  # noqa: E402
from benchutil import MachineLoad, WSClient  # noqa: E402
from lossless import Fabmond, Fail  # noqa: E402

PROBE_AGENT = "10.98.0.1"
PROBE_NODE = "probe"
PROBE_PORTS = 8
PROBE_RATE = 1000000   # the sampling rate: one probe is a big flow
PROBE_DST = "10.202.0.1"
# Traces alive at once: fabmond allows 64 (trace_api.c) and 24 topics a
# ws client (ws.c); one topic is `top`.
LIVE_MAX = 20
LEAD = 0.4             # a trace is created this long before its probe
SETTLE = 0.25          # and the probe waits this long after its reply


def log(msg):
    print("latency: " + msg, file=sys.stderr, flush=True)


def topology():
    """blast's fabric plus the probe's agent: 8 ports with no link."""
    t = fabric.topology()
    t["nodes"][PROBE_NODE] = {
        "agent": PROBE_AGENT,
        "ports": {"swp%d" % i: {"ifindex": str(i)}
                  for i in range(1, PROBE_PORTS + 1)}}
    return t


def probe_src(k):
    return "10.201.%d.%d" % (k >> 8 & 255, k & 255)


class Prober:
    """The probe agent's datagrams, with gap-free sequence numbers."""

    def __init__(self, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.connect(("127.0.0.1", port))
        self.seq = 0
        self.sample_seq = 0
        self.boot = time.monotonic() - 3600

    def datagram(self, src, sport):
        in_if, out_if = 1 + sport % 4, 5 + sport % 4
        eth = bytes.fromhex("020000000002" "020000000001" "0800")
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 1500, sport & 0xffff,
                         0, 64, 17, 0, socket.inet_aton(src),
                         socket.inet_aton(PROBE_DST))
        udp = struct.pack("!HHHH", sport, 7, 1480, 0)
        hdr = eth + ip + udp
        pad = hdr + b"\0" * (-len(hdr) % 4)
        rec = struct.pack("!IIIIII", 1, 16 + len(pad), 1, 1518, 4,
                          len(hdr)) + pad
        self.seq += 1
        self.sample_seq += 1
        body = struct.pack("!IIIIIIII", self.sample_seq, in_if, PROBE_RATE,
                           self.sample_seq * PROBE_RATE, 0, in_if, out_if,
                           1) + rec
        sample = struct.pack("!II", 1, len(body)) + body
        uptime = int((time.monotonic() - self.boot) * 1000) & 0xffffffff
        return struct.pack("!II4sIIII", 5, 1, socket.inet_aton(PROBE_AGENT),
                           0, self.seq, uptime, 1) + sample

    def send(self, src, sport):
        d = self.datagram(src, sport)
        t, w = time.monotonic(), time.time()
        self.sock.send(d)
        return t, w


class Probe:
    def __init__(self, k, due):
        self.k = k
        self.src = probe_src(k)
        self.due = due
        self.created = None     # when the trace op was sent
        self.replied = None     # when its reply came
        self.trace_id = None
        self.sent = None        # monotonic, wall
        self.trace_at = None    # monotonic arrival of the frame
        self.top_at = None
        self.frame_ts = None    # the trace frame's ts (wall ms, built)
        self.last_seen = None   # the hop's lastSeen (wall ms, arrived)
        self.recv_wall = None
        self.deleted = False
        self.error = None
        self.lost = False       # in flight when the ws was closed


class Receiver(threading.Thread):
    """Reads every /ws message and notes when the probes show."""

    def __init__(self, ws, probes):
        super().__init__(daemon=True)
        self.ws = ws
        self.by_k = {p.k: p for p in probes}
        self.by_src = {p.src: p for p in probes}
        self.by_trace = {}
        self.lock = threading.Lock()
        self.stop = False
        self.hello = None
        self.top_frames = 0
        self.failed = None

    def run(self):
        try:
            while not self.stop:
                m = self.ws.recv(0.5)
                if m is None:
                    continue
                text, at = m
                wall = time.time()
                self.handle(json.loads(text), at, wall)
        except (ConnectionError, OSError, ValueError) as e:
            if not self.stop:
                self.failed = str(e)

    def handle(self, m, at, wall):
        t = m.get("t")
        if t == "hello":
            self.hello = m.get("data")
            return
        if t == "reply":
            p = self.by_k.get(m.get("id"))
            data = m.get("data") or {}
            if p is not None and "trace" in data:
                with self.lock:
                    p.trace_id = data["trace"]["id"]
                    p.replied = at
                    self.by_trace[p.trace_id] = p
            return
        if t == "error":
            p = self.by_k.get(m.get("id"))
            if p is not None:
                p.error = m.get("error")
            return
        if t != "event":
            return
        topic = m.get("topic", "")
        data = m.get("data")
        if topic == "top":
            self.top_frames += 1
            for fl in (data or {}).get("flows", []):
                p = self.by_src.get(fl.get("src"))
                if p is not None and p.sent is not None and \
                        p.top_at is None and not p.lost:
                    p.top_at = at
        elif topic.startswith("trace/") and data:
            with self.lock:
                p = self.by_trace.get(data.get("id"))
            if p is None or p.sent is None or p.trace_at is not None or \
                    p.lost:
                return
            hops = data.get("hops") or []
            if hops:
                p.trace_at = at
                p.recv_wall = wall
                p.frame_ts = m.get("ts")
                p.last_seen = max(h.get("lastSeen") or 0 for h in hops)


def pct(xs, q):
    """The q-th percentile (nearest rank) of xs, or None."""
    if not xs:
        return None
    s = sorted(xs)
    i = max(0, min(len(s) - 1, int(round(q / 100.0 * len(s) + 0.5)) - 1))
    return s[i]


def run_probes(fab, n, push_ms, seed, base):
    """Sends n probes, numbered from base + 1 (so that a probe of an
    earlier row, still decaying in the flow tables, is never taken for
    one of this row); returns ([Probe], the receiver)."""
    rnd = random.Random(seed)
    gap = max(push_ms / 6.0, 100.0) / 1000.0
    t0 = time.monotonic() + LEAD + 0.2
    probes, t = [], t0
    for k in range(n):
        probes.append(Probe(base + k + 1, t))
        t += rnd.expovariate(1.0 / gap)

    def connect():
        ws = WSClient("127.0.0.1", fab.hport)
        rx = Receiver(ws, probes)
        rx.start()
        ws.send({"op": "subscribe", "id": 0, "topics": ["top"]})
        return ws, rx

    ws, rx = connect()
    closes = []
    prober = Prober(fab.sport)
    # Long enough for the top topic under load (its history tick can take
    # seconds); a probe the kernel dropped never shows and waits it out.
    timeout = 2.5 * push_ms / 1000.0 + 8
    live = 0
    pending = list(probes)       # not sent yet
    waiting = []                 # sent, not done
    try:
        while pending or waiting:
            if rx.failed:
                # fabmond closed the connection: what was in flight on it
                # is lost (left out of the numbers, and counted); start
                # again on a new one.
                log("  /ws closed by fabmond (%s): %d probes in flight "
                    "lost, reconnecting" % (rx.failed, len(waiting)))
                closes.append(rx.failed)
                rx.stop = True
                ws.close()
                for p in waiting + [p for p in pending
                                    if p.created is not None]:
                    if p.trace_id is not None:
                        try:
                            fab.request("DELETE", "/api/v1/trace/%d" %
                                        p.trace_id)
                        except (Fail, OSError):
                            pass
                for p in waiting:
                    p.lost = True
                waiting = []
                for p in pending:
                    p.created = p.replied = p.trace_id = p.error = None
                live = 0
                ws, rx = connect()
                continue
            now = time.monotonic()
            # Create the traces that are due, within fabmond's limits. A
            # probe whose trace must wait for room is put off by a random
            # part of a push period, so that it does not go just after the
            # push that freed the room.
            for p in pending:
                if p.created is not None or p.due - LEAD > now:
                    continue
                if live >= LIVE_MAX:
                    p.due = now + LEAD + rnd.uniform(0, push_ms / 1000.0)
                    continue
                ws.send({"op": "trace", "id": p.k,
                         "filter": "ipsource=%s" % p.src})
                p.created = now
                live += 1
            pending.sort(key=lambda x: x.due)
            # Send the probes that are due and whose trace is in place
            # (its reply came, and the ingest thread has had time to
            # apply the definition: it does at its next turn, within
            # 100 ms even when idle).
            for p in list(pending):
                if p.due > now:
                    break
                if p.error is not None:
                    pending.remove(p)
                    live -= 1
                    continue
                if p.replied is None or now - p.replied < SETTLE:
                    break
                p.sent = prober.send(p.src, 20000 + p.k)
                pending.remove(p)
                waiting.append(p)
            # Done: seen in both, or timed out. Delete the trace once its
            # frame has shown (the top does not need it).
            for p in list(waiting):
                if (p.trace_at is not None or
                        now - p.sent[0] > timeout) and not p.deleted:
                    p.deleted = True
                    live -= 1
                    if p.trace_id is not None:
                        ws.send({"op": "untrace", "id": 100000 + p.k,
                                 "trace": p.trace_id})
                        try:
                            fab.request("DELETE", "/api/v1/trace/%d" %
                                        p.trace_id)
                        except (Fail, OSError):
                            pass
                if (p.trace_at is not None and p.top_at is not None) or \
                        now - p.sent[0] > timeout:
                    waiting.remove(p)
            nxt = [p.due for p in pending[:1]] + [now + 0.005]
            time.sleep(max(0.001, min(nxt) - time.monotonic()))
    finally:
        rx.stop = True
        rx.join(2)
        ws.close()
        prober.sock.close()
    rx.closes = closes
    return probes, rx


def summarize(probes, push_ms, load, blast_res, health0, health1):
    sent = [p for p in probes if p.sent is not None and not p.lost]
    tr = [(p.trace_at - p.sent[0]) * 1000 for p in sent
          if p.trace_at is not None]
    tp = [(p.top_at - p.sent[0]) * 1000 for p in sent
          if p.top_at is not None]
    arrive = [p.last_seen - p.sent[1] * 1000 for p in sent
              if p.trace_at is not None and p.last_seen]
    wait = [p.frame_ts - p.last_seen for p in sent
            if p.trace_at is not None and p.last_seen and p.frame_ts]
    deliver = [p.recv_wall * 1000 - p.frame_ts for p in sent
               if p.trace_at is not None and p.frame_ts]

    def stats(xs):
        return {"n": len(xs), "p50": pct(xs, 50), "p99": pct(xs, 99),
                "max": max(xs) if xs else None,
                "mean": sum(xs) / len(xs) if xs else None}

    i0, i1 = health0["ingest"], health1["ingest"]
    return {
        "pushMs": push_ms, "load": load, "probes": len(probes),
        "sent": len(sent),
        "trace": stats(tr), "top": stats(tp),
        "traceMissed": len(sent) - len(tr), "topMissed": len(sent) - len(tp),
        "errors": sorted({p.error for p in probes if p.error}),
        "lost": sum(1 for p in probes if p.lost),
        "arrivalMs": stats(arrive), "waitMs": stats(wait),
        "deliveryMs": stats(deliver),
        "blast": blast_res,
        "kernelDrops": i1["kernelDrops"] - i0["kernelDrops"],
        "datagrams": i1["datagrams"] - i0["datagrams"],
    }


def one_config(args, workdir, push_ms, seed, base):
    """Both load conditions at one push period, on one fabmond; probes
    numbered from base."""
    fab = Fabmond(args.fabmond, os.path.join(workdir, "p%d" % push_ms),
                  ["store.enable=0", "engine.push_ms=%d" % push_ms])
    rows = []
    try:
        fab.wait_ready()
        fab.request("PUT", "/topology/json", topology())
        deadline = time.monotonic() + 10
        while fab.health()["topology"]["nodes"] < 51:
            if time.monotonic() > deadline:
                raise Fail("the topology PUT did not show in 10 s")
            time.sleep(0.2)
        for load in ([0, args.load_rate] if args.load_rate else [0]):
            bl = None
            res = None
            if load:
                bl = subprocess.Popen(
                    [args.blast, "--to", "127.0.0.1:%d" % fab.sport,
                     "--rate", str(load), "--count", str(load * 3600)],
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                    text=True)
                time.sleep(2)  # the flow tables fill, the rates settle
                if bl.poll() is not None:
                    raise Fail("blast exited: %s" % bl.stderr.read())
            h0 = fab.health()
            log("push_ms %d, %s: %d probes" % (
                push_ms, "load %d datagrams/s" % load if load else "no load",
                args.probes))
            t = time.monotonic()
            try:
                probes, rx = run_probes(fab, args.probes, push_ms,
                                        seed + load, base)
                base += args.probes
            finally:
                if bl is not None:
                    bl.send_signal(signal.SIGTERM)
                    out, err = bl.communicate(10)
                    try:
                        res = json.loads(out.strip().splitlines()[-1])
                    except (ValueError, IndexError):
                        res = {"error": err.strip()}
            time.sleep(0.3)
            h1 = fab.health()
            row = summarize(probes, push_ms, load, res, h0, h1)
            row["seconds"] = round(time.monotonic() - t, 1)
            row["helloPushMs"] = (rx.hello or {}).get("pushMs")
            row["topFrames"] = rx.top_frames
            row["wsCloses"] = rx.closes
            rows.append(row)
            log("  trace p50 %s ms, p99 %s, max %s; top p50 %s ms; %.0f s" % (
                fmt(row["trace"]["p50"]), fmt(row["trace"]["p99"]),
                fmt(row["trace"]["max"]), fmt(row["top"]["p50"]),
                row["seconds"]))
    finally:
        fab.stop()
    return rows


def fmt(v, nd=0):
    if v is None:
        return "-"
    return "%.*f" % (nd, v)


def print_table(rows, out, machine=None):
    w = out.write
    w("push latency: probe datagram sent -> first /ws frame that shows it "
      "(ms, measured by the client; %d probes per row)\n" %
      (rows[0]["probes"] if rows else 0))
    hdr = ("engine.push_ms | load                | trace p50 |  p99 |  max "
           "| top p50 |  p99 |  max | missed trace/top | trace = arrival + "
           "wait + delivery (p50) | notes\n")
    w(hdr)
    for r in rows:
        load = ("%d datagrams/s" % r["load"]) if r["load"] else "none"
        notes = []
        if r["load"]:
            b = r["blast"] or {}
            if "rate" in b:
                notes.append("blast sent %d at %.0f/s" % (b["sent"],
                                                          b["rate"]))
            notes.append("kernel drops %d" % r["kernelDrops"])
        if r["errors"]:
            notes.append("errors: %s" % "; ".join(r["errors"]))
        if r.get("wsCloses"):
            notes.append("fabmond closed the ws %d times (%s): %d probes "
                         "in flight left out" % (
                             len(r["wsCloses"]), r["wsCloses"][0],
                             r["lost"]))
        if r["helloPushMs"] not in (None, r["pushMs"]):
            notes.append("hello says pushMs %s" % r["helloPushMs"])
        w("%14d | %-19s | %9s | %4s | %4s | %7s | %4s | %4s | %16s | "
          "%5s + %5s + %5s            | %s\n" % (
              r["pushMs"], load, fmt(r["trace"]["p50"]),
              fmt(r["trace"]["p99"]), fmt(r["trace"]["max"]),
              fmt(r["top"]["p50"]), fmt(r["top"]["p99"]),
              fmt(r["top"]["max"]),
              "%d/%d" % (r["traceMissed"], r["topMissed"]),
              fmt(r["arrivalMs"]["p50"]), fmt(r["waitMs"]["p50"]),
              fmt(r["deliveryMs"]["p50"]), "; ".join(notes)))
    w("trace: the probe's own trace (ws op \"trace\", filter ipsource=its "
      "address), first frame with a hop; top: the first `top` frame that "
      "lists it\n")
    w("what it is made of: the engine answers from its snapshot, taken "
      "every engine.push_ms by the ingest thread (0..1 period of waiting); "
      "the /ws push runs on its own timer, every push_ms after the last "
      "push, at a phase offset F after the snapshots (0..1 more period, "
      "about constant while pushes are quick), then builds and writes the "
      "frame: half a period + F on average, at most two periods, plus the "
      "build; the top topic also waits for the history thread's top-N, "
      "computed once a second whatever push_ms is\n")
    w("arrival: hop lastSeen - send time (fabmond's clock, ms resolution); "
      "wait: frame ts - lastSeen (snapshot and push timers, frame build); "
      "delivery: receive time - frame ts\n")
    w("missed: no frame showed the probe within 2.5 periods + 8 s (a "
      "probe the kernel dropped, under load, never shows)\n")
    for r in rows:
        if r["trace"]["mean"] is not None:
            w("push_ms %d, %s: trace mean %.0f ms = %.2f periods; top mean "
              "%s ms\n" % (r["pushMs"], "load" if r["load"] else "no load",
                           r["trace"]["mean"],
                           r["trace"]["mean"] / r["pushMs"],
                           fmt(r["top"]["mean"])))
    if machine:
        m = machine
        w("machine: %d CPUs, %.0f%% busy during the run, %.0f%% of it by "
          "other processes (load average %.1f at the end)%s\n" % (
              m["cpus"], 100 * m["busy"], 100 * m["others"], m["loadavg"],
              "; the numbers above are disturbed" if m["others"] > 0.1
              else ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fabmond", required=True)
    ap.add_argument("--blast", required=True)
    ap.add_argument("--probes", type=int, default=200)
    ap.add_argument("--push", default="1000,100",
                    help="engine.push_ms values, comma-separated")
    ap.add_argument("--load-rate", type=int, default=20000,
                    help="background datagrams/s (0: no loaded rows)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--keep", action="store_true",
                    help="keep the work directory")
    args = ap.parse_args()
    for exe in (args.fabmond, args.blast):
        if not os.access(exe, os.X_OK):
            print("latency: %s: not an executable" % exe, file=sys.stderr)
            return 1
    workdir = tempfile.mkdtemp(prefix="fabmon-latency.")
    rows = []
    t0 = time.monotonic()
    machine = MachineLoad()
    try:
        pushes = [int(x) for x in args.push.split(",") if x]
        if args.probes * 2 * len(pushes) > 60000:
            print("latency: too many probes for 10.201.0.0/16",
                  file=sys.stderr)
            return 2
        for i, push in enumerate(pushes):
            rows += one_config(args, workdir, push, args.seed,
                               i * 2 * args.probes)
    except Fail as e:
        print("latency: %s" % e, file=sys.stderr)
        if rows:
            print_table(rows, sys.stdout)
        return 1
    finally:
        if args.keep:
            log("work directory kept: %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    load = machine.result()
    if args.json:
        print(json.dumps({"rows": rows, "machine": load,
                          "seconds": round(time.monotonic() - t0, 1)}))
    else:
        print_table(rows, sys.stdout, load)
        print("%d rows in %.0f s" % (len(rows), time.monotonic() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
