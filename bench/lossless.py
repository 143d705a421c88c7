#!/usr/bin/env python3
"""lossless.py: the maximum lossless sFlow ingest rate of fabmond and of
its peers, on the same datagrams, end to end.

Rows (bench/README.md has the details):
  fabmond decode only; 10 flows (engine_bench.c's definitions);
  as shipped (the store on, its built-in flow definitions, no others);
  decode only with the store off (-o store.enable=0); 10 flows while a
  thread queries the history API (on a database pre-filled with a week of
  history, bench/fabric.py); and the peers (bench/peers.py): a bare
  recvmmsg counter (bench/recvcount.c), nfdump's sfcapd, pmacct's sfacctd
  with the memory and the sqlite3 plugins.

For each row it searches for the highest rate at which everything blast
sent is stored: an exponential ramp from --start, a bisection to within 5%
(10% with --quick), and the result repeated to confirm it. A trial sends
2.5 s' worth of datagrams (at least 50k unless that takes over 5 s). The
collector has the last CPU to itself; blast and this script the others
(--no-pin: all share all).
For fabmond a trial is lossless when, between a health reading before and
one after (once its counters stop moving):
  - ingest.datagrams went up by exactly what blast sent,
  - ingest.samples by the flow + counter samples blast sent,
  - ingest.kernelDrops, recvErrors, errors.* and agentsOverflow did not move,
  - the agents' seqLost and samplesLost did not move (blast's sequences have
    no gaps, so any gap is a datagram lost),
  - with flow definitions: "pairs" (no filter) matched every flow sample
    sent; as shipped, so did each built-in definition without a filter
    (all of them today).
For a peer, started afresh for each trial, what it stored must equal what
was sent: peers.py says what that is for each one.
/proc/net/udp's drops for the socket and /proc/net/snmp's Udp
RcvbufErrors are read before and after as well and reported.

cpu25k: fabmond's CPU at a fixed 25,000 datagrams/s, as shipped and with
10 flows: one trial of 10 s (3 s with --quick) at that rate, and the
utime+stime that /proc/PID/stat (the whole process) and
/proc/PID/task/TID/stat (the ingest thread) add up over the send window,
over its wall time; with the same loss checks, and the process's CPU
while no datagram comes, just before.

Python 3 standard library only. It prints a table (or --json) and exits 0;
it asserts nothing about the numbers. It exits 1 when fabmond does not
start, a trial cannot run, or a row could not be measured at all.

  python3 bench/lossless.py --fabmond build/bench/fabmond \\
      --blast build/bench/blast [--quick] [--json] [--no-peers] [--no-pin]
      [--only ROW,...]   (ROW: a row's key, or cpu25k)
"""

import argparse
import json
import math
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fabric  # noqa: E402
import peers  # noqa: E402
from benchutil import (busiest, free_port, group_mem,  # noqa: E402
                       log, proc_mem, rcvbuf_errors, set_subreaper,
                       thread_names, thread_times, udp_socket_stats)

# The same definitions as engine_bench.c's defs[].
DEFS = [
    ("pairs", {"keys": "ipsource,ipdestination"}),
    ("udp5", {"keys": "ipsource,ipdestination,udpsourceport,"
                      "udpdestinationport", "filter": "ipprotocol=17"}),
    ("tcp5", {"keys": "ipsource,ipdestination,tcpsourceport,"
                      "tcpdestinationport", "filter": "ipprotocol=6"}),
    ("macs", {"keys": "macsource,macdestination"}),
    ("dst", {"keys": "ipdestination", "value": "frames"}),
    ("stack", {"keys": "stack"}),
    ("ports", {"keys": "agent,inputifindex,outputifindex"}),
    ("net10", {"keys": "ipsource", "filter": "ipsource=10.0.0.0/9"}),
    ("dscp", {"keys": "ipdscp", "value": "frames"}),
    ("dns", {"keys": "ipsource",
             "filter": "udpdestinationport=53|tcpdestinationport=53"}),
]

# Row keys, in the table's order (--only takes them).
FABMOND_ROWS = ["decode", "flows", "shipped", "storeoff", "queries"]
PEER_ROWS = ["recvcount", "sfcapd", "sfacctd-memory", "sfacctd-sqlite3"]
# Not a row of the table: the CPU trials at a fixed rate (--only takes it).
CPU_KEY = "cpu25k"
CPU_RATE = 25000
ROW_NAMES = {
    "decode": "fabmond decode only",
    "flows": "fabmond 10 flows",
    "shipped": "fabmond as shipped",
    "storeoff": "fabmond decode only, store off",
    "queries": "fabmond 10 flows + history queries",
}
RCVBUF = 16 << 20
RMEM_MAX = "/proc/sys/net/core/rmem_max"
HISTORY_FROM = -604800


def stat_ticks(path):
    """utime + stime, in clock ticks, from a /proc/.../stat file; None
    when it is gone."""
    try:
        with open(path) as f:
            st = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command may hold spaces and parentheses: fields follow the
    # last ')'. utime and stime are the 14th and 15th fields, the 12th
    # and 13th after it.
    rest = st[st.rfind(")") + 2:].split()
    return int(rest[11]) + int(rest[12])


class Fail(Exception):
    """The benchmark cannot go on: fabmond died, an API call failed."""


class Fabmond:
    def __init__(self, path, workdir, opts, store=True, preexec=None):
        self.workdir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.sport = free_port(socket.SOCK_DGRAM)
        self.hport = free_port(socket.SOCK_STREAM)
        self.base = "http://127.0.0.1:%d" % self.hport
        self.db = os.path.join(workdir, "x.db") if store else None
        self.logpath = os.path.join(workdir, "fabmond.log")
        self.logf = open(self.logpath, "a")
        self.idle_tids = set()
        self.ingest_tid = None
        # Whether its last trial, of any row, was lossless: a datagram
        # lost at the end of a trial shows as a sequence gap only in the
        # next one, which may be another row's first.
        self.last_lossless = True
        cmd = [path, "-d", "--sflow", "127.0.0.1:%d" % self.sport,
               "--http", "127.0.0.1:%d" % self.hport,
               "--state-dir", workdir, "-o", "snmp.enable=0"]
        cmd += ["--db", self.db] if store else ["-o", "store.enable=0"]
        for o in opts:
            cmd += ["-o", o]
        self.proc = subprocess.Popen(cmd, stdout=self.logf,
                                     stderr=subprocess.STDOUT,
                                     preexec_fn=preexec)

    def wait_ready(self):
        deadline = time.monotonic() + 15
        while True:
            self.alive()
            try:
                h = self.health()
                if h.get("ingest", {}).get("alive"):
                    break
            except (OSError, Fail):
                pass
            if time.monotonic() > deadline:
                raise Fail("fabmond did not answer /api/v1/health in 15 s"
                           + self.log_tail())
            time.sleep(0.1)

    def log_tail(self):
        self.logf.flush()
        with open(self.logpath) as f:
            tail = f.read()[-2000:]
        return "\n--- fabmond log ---\n" + tail if tail else ""

    def alive(self):
        if self.proc.poll() is not None:
            raise Fail("fabmond exited with %d" % self.proc.returncode
                       + self.log_tail())

    def request(self, method, path, body=None, timeout=10):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data,
                                     method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            raise Fail("%s %s: %d %s" % (method, path, e.code,
                                         e.read().decode(errors="replace")))

    def health(self):
        t = time.monotonic()
        _, body = self.request("GET", "/api/v1/health")
        h = json.loads(body)
        # When the ingest thread took this snapshot, on our clock (both
        # are CLOCK_MONOTONIC).
        h["_taken"] = t - h.get("ingest", {}).get("snapshotAgeMs", 0) / 1e3
        return h

    def settled(self, done=lambda c: False):
        """Health once done(its counters) holds, or once a reading was
        taken a publish period after the socket was last seen empty (the
        engine's snapshot is published right after the ingest one: one
        more period covers a reading between the two), or after 30 s."""
        deadline = time.monotonic() + 30
        drained = None
        while True:
            self.alive()
            st = udp_socket_stats(self.sport)
            now = time.monotonic()
            if st is not None and st[0] == 0:
                drained = drained or now
            else:
                drained = None
            h = self.health()
            if done(counters(h)) or (drained and h["_taken"] >
                                     drained + 1.1) or now > deadline:
                return h
            time.sleep(0.2)

    def busy_while_idle(self, seconds=1.0):
        """[(tid, share of a core)] of the threads that burn CPU while no
        datagram comes: they compete with blast and the ingest thread."""
        t0 = thread_times(self.proc.pid)
        time.sleep(seconds)
        t1 = thread_times(self.proc.pid)
        busy = [(t, (t1[t][0] - t0.get(t, (0, 0))[0]) / seconds)
                for t in t1]
        return [(t, c) for t, c in busy if c >= 0.2]

    def wait_flows(self, n):
        """Until health shows n flow definitions: the engine applies a
        change before its next batch and publishes every push period."""
        deadline = time.monotonic() + 5
        while len(self.health().get("flows", [])) != n:
            if time.monotonic() > deadline:
                raise Fail("/api/v1/health does not show %d flow "
                           "definitions" % n)
            time.sleep(0.2)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()


def counters(h):
    """The numbers a trial compares, from one health reading."""
    ing = h["ingest"]
    c = {
        "datagrams": ing["datagrams"],
        "samples": ing["samples"],
        "kernelDrops": ing["kernelDrops"],
        "recvErrors": ing["recvErrors"],
        "agentsOverflow": ing["agentsOverflow"],
        "errors": sum(ing["errors"].values()),
    }
    for k in ("flowSamples", "counterSamples", "seqLost", "seqReordered",
              "seqResets", "samplesLost"):
        c[k] = sum(a[k] for a in h["agents"])
    for f in h.get("flows", []):
        for k in ("matched", "keyless", "evictions"):
            c["flow.%s.%s" % (f["name"], k)] = f[k]
        c["flow.%s.entries" % f["name"]] = f["entries"]
    return c


class Hammer(threading.Thread):
    """Queries fabmond's history API back to back, one request at a
    time, until stopped: a link's week of minutes and the week's top flows
    fabric-wide, in turn."""

    def __init__(self, base, paths):
        super().__init__(daemon=True)
        self.base = base
        self.paths = paths
        self.halt = threading.Event()
        self.done = {}      # path kind -> [latency seconds]
        self.bad = {}       # "kind status" -> n
        self.t0 = self.t1 = None

    def run(self):
        self.t0 = time.monotonic()
        i = 0
        while not self.halt.is_set():
            kind, path = self.paths[i % len(self.paths)]
            i += 1
            t = time.monotonic()
            try:
                with urllib.request.urlopen(self.base + path,
                                            timeout=30) as r:
                    r.read()
                    status = r.status
            except urllib.error.HTTPError as e:
                status = e.code
            except OSError:
                status = "error"
            if status == 200:
                self.done.setdefault(kind, []).append(time.monotonic() - t)
            else:
                k = "%s %s" % (kind, status)
                self.bad[k] = self.bad.get(k, 0) + 1
        self.t1 = time.monotonic()

    def stop(self):
        self.halt.set()
        self.join(60)


class FabmondTarget:
    """One fabmond row: a running fabmond, with or without flow
    definitions, with or without history queries during each trial.
    match: the definitions without a filter, which must each match every
    flow sample sent ("pairs"; as shipped, the built-in ones)."""

    def __init__(self, key, fab, match, state, queries=None,
                 notes=()):
        self.key = key
        self.name = ROW_NAMES[key]
        self.fab = fab
        self.match = list(match)
        self.state = state
        self.queries = queries       # [(kind, path)] or None
        self.seconds = None
        self.port = fab.sport
        self.skip = fab.idle_tids
        self.main_tid = fab.ingest_tid
        self.setup_notes = list(notes)
        self.hammer = None
        self.quiet = False
        self.query_stats = []        # per trial: (seconds, done, bad)

    def begin(self):
        if not self.quiet:
            # The first trial's baseline: what fabmond received before
            # (the datagrams that found its ingest thread) must have
            # reached the engine's counters too, or a built-in
            # definition's matched count grows by them in this trial.
            self.fab.settled()
            self.quiet = True
        self.hb = self.fab.health()
        self.before = counters(self.hb)
        self.rcvbuf = self.hb["ingest"]["listen"][0]["rcvbuf"]
        if self.queries:
            self.hammer = Hammer(self.fab.base, self.queries)
            self.hammer.start()

    def threads(self):
        return thread_times(self.fab.proc.pid)

    def memory(self):
        """(VmRSS, VmHWM) of fabmond, in bytes: its peak since it
        started, so over this row's trials and any row before on the same
        fabmond."""
        return proc_mem(self.fab.proc.pid)

    def cpu_ticks(self):
        """(the process's utime+stime, the ingest thread's) in clock
        ticks."""
        pid = self.fab.proc.pid
        tid = self.main_tid
        return (stat_ticks("/proc/%d/stat" % pid),
                stat_ticks("/proc/%d/task/%d/stat" % (pid, tid))
                if tid else None)

    def alive(self):
        self.fab.alive()

    def wait(self, sent, flow_samples):
        """Health once fabmond has counted what was sent, or once its
        socket has been empty for a whole publish period (what is missing
        then is lost)."""
        want = self.before["datagrams"] + sent
        want_matched = {n: self.before.get("flow.%s.matched" % n, 0) +
                        flow_samples for n in self.match}
        return self.fab.settled(lambda c: c["datagrams"] >= want and all(
            c.get("flow.%s.matched" % n, 0) >= w
            for n, w in want_matched.items()))

    def settle(self, res, bench):
        self.wait(res["sent"], res["flowSamples"])
        # One more datagram: fabmond learns the kernel's drop count
        # (SO_RXQ_OVFL) only with the next datagram it receives, so drops
        # at the end of this trial would otherwise show in the next one.
        self.flush, _, _ = bench.blast("127.0.0.1:%d" % self.port, 0, 1,
                                       self.state, pool=1)
        self.sent = res["sent"] + self.flush["sent"]
        self.fs = res["flowSamples"] + self.flush["flowSamples"]
        self.cs = res["counterSamples"] + self.flush["counterSamples"]
        self.after = counters(self.wait(self.sent, self.fs))

    def count(self, res):
        d = {k: self.after.get(k, 0) - self.before.get(k, 0)
             for k in self.after}
        checks = {
            "datagrams": d["datagrams"] == self.sent,
            "samples": d["samples"] == self.fs + self.cs,
            "kernelDrops": d["kernelDrops"] == 0,
            "errors": d["errors"] == 0 and d["recvErrors"] == 0 and
            d["agentsOverflow"] == 0,
        }
        # A datagram lost at the end of a trial shows as a sequence gap
        # only when its agent's next datagram arrives, in the next trial.
        if self.fab.last_lossless:
            checks["sequence"] = d["seqLost"] == 0 and d["samplesLost"] == 0
        for n in self.match:
            got = d.get("flow.%s.matched" % n)
            # The name says by how much it missed when it fails.
            checks["%s matched %s of %d" % (n, got, self.fs)] = \
                got == self.fs
        self.fab.last_lossless = all(checks.values())
        return {"checks": checks, "delta": d, "sent": self.sent,
                "flowSamples": self.fs, "counterSamples": self.cs,
                "lost": self.sent - d["datagrams"],
                "retries": self.flush["retries"]}

    def end(self):
        if self.hammer is not None:
            self.hammer.stop()
            h = self.hammer
            self.query_stats.append((h.t1 - h.t0, h.done, h.bad))
            self.hammer = None

    def notes(self, t):
        """Notes for the row, given the trial that counts."""
        out = list(self.setup_notes)
        if self.queries and self.query_stats:
            # Over every trial of the row.
            secs = sum(s for s, _, _ in self.query_stats)
            lat = {}
            bad = {}
            for _, done, b in self.query_stats:
                for k, v in done.items():
                    lat.setdefault(k, []).extend(v)
                for k, v in b.items():
                    bad[k] = bad.get(k, 0) + v
            n = sum(len(v) for v in lat.values())
            parts = []
            for k in sorted(lat):
                v = sorted(lat[k])
                parts.append("%s median %.0f ms" % (k, 1e3 * v[len(v) // 2]))
            out.append("history queries during the trials: %.1f/s (%s)%s" % (
                n / secs if secs else 0, ", ".join(parts),
                "; failed: " + ", ".join("%s x%d" % kv for kv in
                                         sorted(bad.items())) if bad else ""))
        return out


class PeerTarget:
    """A peers.Peer, as a row: started for each trial."""

    def __init__(self, peer):
        self.peer = peer
        self.key = peer.key
        self.name = peer.name
        self.state = peer.state
        self.seconds = peer.trial_seconds
        self.skip = set()
        self.main_tid = None
        self.dup_trials = 0

    @property
    def port(self):
        return self.peer.port

    def begin(self):
        self.peer.begin()
        rb = self.peer.kernel_rcvbuf
        self.rcvbuf = rb // 2 if rb else RCVBUF

    def threads(self):
        return self.peer.threads()

    def memory(self):
        """The sums of VmRSS and VmHWM over the peer's processes (it is
        started afresh for each trial), in bytes."""
        p = self.peer.proc
        return group_mem(p.pid) if p is not None else (0, 0)

    def cpu_ticks(self):
        return None

    def alive(self):
        self.peer.alive()

    def settle(self, res, bench):
        self.peer.settle(res)

    def count(self, res):
        out = self.peer.count(res)
        out.setdefault("sent", res["sent"])
        out.setdefault("flowSamples", res["flowSamples"])
        out.setdefault("counterSamples", res["counterSamples"])
        if any(k.endswith("duplicated") and not ok
               for k, ok in out["checks"].items()):
            self.dup_trials += 1
        return out

    def end(self):
        self.peer.end()

    def notes(self, t):
        out = [self.peer.setup]
        rb = t.get("rcvbuf")
        if rb and rb != RCVBUF:
            out.append("SO_RCVBUF %d (asked %d)" % (rb, RCVBUF))
        if self.dup_trials:
            out.append("stored MORE than was sent in %d trial(s)" %
                       self.dup_trials)
        return out + t.get("peerNotes", [])


class Bench:
    def __init__(self, args, workdir):
        self.args = args
        self.workdir = workdir
        self.trials = []
        self.cap = 0

    def blast(self, to, rate, count, state, pool=None, sample_port=None):
        """Runs blast; returns its JSON, peak rx_queue and CPU seconds."""
        cmd = [self.args.blast, "--to", to, "--rate", str(int(rate)),
               "--count", str(count), "--state", state]
        if pool is not None:
            cmd += ["--pool", str(pool)]
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        peak = 0
        while p.poll() is None:
            if sample_port is not None:
                st = udp_socket_stats(sample_port)
                if st is not None:
                    peak = max(peak, st[0])
            time.sleep(0.05)
        out, err = p.communicate()
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if p.returncode != 0:
            raise Fail("blast exited with %d: %s" % (p.returncode,
                                                      err.strip()))
        try:
            res = json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise Fail("blast printed no JSON: %r" % out)
        cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        return res, peak, cpu

    def blast_max(self):
        """blast's own rate, to a socket that nobody reads."""
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        try:
            # Its own sequence state: this is no collector's stream.
            res, _, _ = self.blast(
                "127.0.0.1:%d" % port, 0, self.args.min_count * 2,
                os.path.join(self.workdir, "blast.max.state"))
        finally:
            s.close()
        return res["rate"]

    def wait_drained(self, tg):
        """(when, thread times) as the socket is first seen empty: the
        collector's busy time ends there."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            tg.alive()
            st = udp_socket_stats(tg.port)
            if st is None or st[0] == 0:
                break
            time.sleep(0.01)
        return time.monotonic(), tg.threads()

    def trial(self, tg, rate, count=None):
        """One trial at rate (0: as fast as blast goes) of count
        datagrams (by default: at least min_count, but not more than 5 s'
        worth)."""
        a = self.args
        r = rate or self.cap
        secs = tg.seconds or a.seconds
        if count is None:
            count = int(max(r * secs, min(a.min_count, r * 5)))
        tg.begin()
        try:
            port = tg.port
            udp0 = udp_socket_stats(port)
            rbe0 = rcvbuf_errors()
            tk0 = tg.threads()
            ct0 = tg.cpu_ticks()
            t0 = time.monotonic()
            res, peak, bcpu = self.blast("127.0.0.1:%d" % port, rate,
                                         count, tg.state, sample_port=port)
            t_send = time.monotonic() - t0
            ct1 = tg.cpu_ticks()
            t_drained, tk1 = self.wait_drained(tg)
            t_busy = max(t_drained - t0, t_send)
            # Read before settle(): it stops some peers' plugins.
            mem = tg.memory()
            tg.settle(res, self)
            udp1 = udp_socket_stats(port)
            rbe1 = rcvbuf_errors()
            out = tg.count(res)
        finally:
            tg.end()
        checks = out["checks"]
        # fabmond's ingest thread, else the collector's busiest thread,
        # bar those busy while idle; and the busiest of the others.
        if tg.main_tid in tk1:
            m = tg.main_tid
            run = tk1[m][0] - tk0.get(m, (0, 0))[0]
            wait = tk1[m][1] - tk0.get(m, (0, 0))[1]
            other, _ = busiest(tk0, tk1, set(tg.skip) | {m})
        else:
            run, wait = busiest(tk0, tk1, tg.skip)
            other = None
        t = {
            "mode": tg.name,
            "row": tg.key,
            # A trial as fast as blast goes counts as asking for what it
            # reached, so that the search can bisect below it.
            "requested": rate or res["rate"],
            "atCap": rate == 0,
            "rate": res["rate"],
            "sent": out["sent"],
            "flowSamples": out["flowSamples"],
            "counterSamples": out["counterSamples"],
            "flowSamplesPerS": res["flowSamples"] / res["seconds"]
            if res["seconds"] > 0 else 0,
            "seconds": res["seconds"],
            "blastRetries": res["retries"] + out.get("retries", 0),
            "lossless": all(checks.values()),
            "failed": [k for k, ok in checks.items() if not ok],
            "lost": out["lost"],
            "stored": out.get("stored"),
            "peerNotes": out.get("notes", []),
            "delta": out.get("delta", {}),
            "udpDrops": udp1[1] - udp0[1] if udp0 and udp1 else None,
            "rcvbufErrors": rbe1 - rbe0,
            "peakQueueBytes": peak,
            "rcvbuf": tg.rcvbuf,
            "ingestThreadCpu": run / t_busy,
            "ingestThreadWait": wait / t_busy,
            "otherThreadCpu": None if other is None else other / t_busy,
            "blastCpu": bcpu / max(t_send, 1e-9),
            "blastKeptUp": rate == 0 or res["rate"] >= 0.97 * rate,
            "vmRSS": mem[0],
            "vmHWM": mem[1],
        }
        if ct0 is not None and ct1 is not None:
            # /proc's utime+stime over the send window (blast's start to
            # its exit), as a share of one core: coarser than schedstat
            # (clock ticks), but what top and ps show.
            hz = os.sysconf("SC_CLK_TCK")

            def share(i):
                if ct0[i] is None or ct1[i] is None:
                    return None
                return (ct1[i] - ct0[i]) / hz / t_send
            t["statCpu"] = {"window": t_send, "process": share(0),
                            "ingestThread": share(1)}
        self.trials.append(t)
        log("  %8s/s -> sent %7d at %7.0f/s, queue peak %3.0f%%, %s "
            "thread %3.0f%% CPU %3.0f%% waiting: %s%s" % (
                "max" if rate == 0 else "%.0f" % rate, t["sent"],
                res["rate"], 100.0 * peak / (2 * t["rcvbuf"]),
                "ingest" if tg.main_tid else "busiest",
                100 * t["ingestThreadCpu"], 100 * t["ingestThreadWait"],
                "lossless" if t["lossless"] else
                "LOSS (%s; %d lost, udp drops %s)" % (
                    ", ".join(t["failed"]), t["lost"], t["udpDrops"]),
                "" if t["blastKeptUp"] else " [blast could not keep up]"))
        return t

    def cpu_trial(self, tg, rate, seconds):
        """fabmond's CPU at a fixed rate: its whole process's CPU with
        no traffic (for seconds / 5, at least 1 s), then one trial of
        rate x seconds datagrams. Returns the result for the cpu25k
        table."""
        pid = tg.fab.proc.pid
        hz = os.sysconf("SC_CLK_TCK")
        idle_s = max(1.0, seconds / 5)
        i0, w0 = stat_ticks("/proc/%d/stat" % pid), time.monotonic()
        time.sleep(idle_s)
        i1, w1 = stat_ticks("/proc/%d/stat" % pid), time.monotonic()
        tg.alive()
        log("%s: CPU at %d datagrams/s for %.0f s (idle: %.0f%% of a "
            "core)" % (tg.name, rate, seconds,
                       100.0 * (i1 - i0) / hz / (w1 - w0)))
        t = self.trial(tg, rate, count=int(rate * seconds))
        t["cpuTrial"] = True
        sc = t.get("statCpu", {})
        return {"row": tg.key, "mode": tg.name, "requested": rate,
                "rate": round(t["rate"]), "sent": t["sent"],
                "seconds": round(sc.get("window", 0), 2),
                "processCpu": sc.get("process"),
                "ingestThreadCpu": sc.get("ingestThread"),
                "ingestThreadSchedCpu": t["ingestThreadCpu"],
                "idleProcessCpu": (i1 - i0) / hz / (w1 - w0),
                "lossless": t["lossless"], "failed": t["failed"],
                "blastKeptUp": t["blastKeptUp"],
                "peakQueueBytes": t["peakQueueBytes"],
                "flows": [f["name"] for f in tg.fab.health().get("flows",
                                                                 [])]}

    def search(self, tg, cap):
        a = self.args
        log("%s: searching from %.0f/s (blast's limit %.0f/s)" % (
            tg.name, a.start, cap))
        mine = []

        def run(rate):
            t = self.trial(tg, rate)
            mine.append(t)
            return t

        best = None    # the fastest lossless trial
        bad = None     # the lowest requested rate that lost
        limited = False
        rate = min(a.start, cap)
        # Ramp up until a trial loses or blast is the limit.
        while True:
            at_cap = rate >= cap
            t = run(0 if at_cap else rate)
            if not t["lossless"]:
                bad = t["requested"]
                break
            best = t
            if at_cap or not t["blastKeptUp"]:
                limited = True
                break
            rate = min(rate * a.ramp, cap)
        # Bisect between the fastest lossless rate and the slowest lossy.
        if best is None:
            # Even --start lost: go down.
            rate = a.start
            while best is None and rate > 1000:
                rate /= a.ramp
                t = run(rate)
                if t["lossless"]:
                    best = t
                else:
                    bad = rate
            if best is None:
                return self.result(tg, mine, None, False, False)
        while not limited and bad is not None and \
                bad > best["requested"] * (1 + a.precision):
            mid = math.sqrt(best["requested"] * bad)
            t = run(mid)
            if t["lossless"]:
                best = t
            else:
                bad = mid
        # Confirm: a rate must pass twice in a row. When the repeat loses,
        # step down and start again there, a few times at most.
        rate, at_cap = best["requested"], best["atCap"]
        passes, confirmed = 1, None
        for _ in range(4):
            t = run(0 if at_cap else rate)
            if t["lossless"]:
                passes += 1
                if passes >= 2:
                    confirmed = t
                    break
            else:
                rate = (t["requested"] if at_cap else rate) / \
                    (1 + a.precision)
                at_cap = limited = False
                passes = 0
        if confirmed is None:
            # A noisy machine: take the fastest lossless trial slower than
            # every trial that lost, so that no result contradicts it.
            floor = min((t["requested"] for t in mine if not t["lossless"]),
                        default=math.inf)
            best = max((t for t in mine if t["lossless"] and
                        t["requested"] < floor),
                       key=lambda t: t["requested"], default=None)
        return self.result(tg, mine, confirmed or best,
                           confirmed is not None, limited)

    def result(self, tg, mine, t, ok, limited):
        r = {"row": tg.key, "mode": tg.name, "losslessRate": None,
             "flowSamplesPerS": None, "confirmed": False,
             "blastLimited": limited, "trials": len(mine), "notes": []}
        if t is None:
            r["notes"].append("no rate was lossless below every lossy one")
            r["notes"] += tg.notes({})
            return r
        r.update(losslessRate=round(t["rate"]),
                 flowSamplesPerS=round(t["flowSamplesPerS"]),
                 confirmed=ok, trial=t)
        once = max((x["rate"] for x in mine if x["lossless"]), default=0)
        notes = r["notes"]
        if limited:
            notes.append("blast's limit: it may go faster")
        notes.append("confirmed" if ok else "NOT confirmed: the fastest "
                     "lossless trial below every lossy one")
        if not ok and once > t["rate"]:
            notes.append("fastest lossless trial %.0f/s" % once)
        notes.append("%s %.0f%% CPU, %.0f%% waiting for one" % (
            "ingest thread" if tg.main_tid else "busiest thread",
            100 * t["ingestThreadCpu"], 100 * t["ingestThreadWait"]))
        if t.get("otherThreadCpu") and t["otherThreadCpu"] >= 0.2:
            notes.append("busiest other thread %.0f%% CPU" %
                         (100 * t["otherThreadCpu"]))
        notes.append("peak queue %.0f%% of rcvbuf" %
                     (100.0 * t["peakQueueBytes"] / (2 * t["rcvbuf"])))
        hwm = max(x["vmHWM"] for x in mine)
        if hwm:
            r["vmHWM"] = hwm
            notes.append("memory: VmHWM %.0f MiB%s" % (
                hwm / 2**20, "" if isinstance(tg, PeerTarget) else
                " (since the process started)"))
        # Starved: in the trials that lost, the busiest thread was often
        # runnable with no CPU to run on; the machine set the limit.
        waits = sorted(x["ingestThreadWait"] for x in mine
                       if not x["lossless"])
        if waits and waits[len(waits) // 2] > 0.2:
            notes.append("in the lossy trials it waited for a CPU %.0f%% "
                         "of the time (median)" %
                         (100 * waits[len(waits) // 2]))
        lossy = [x for x in mine if not x["lossless"]]
        if lossy and not isinstance(tg, FabmondTarget):
            # Where the peer lost: in the kernel (socket drops) or inside.
            inside = [x for x in lossy if not x["udpDrops"]]
            if inside:
                notes.append("%d of %d lossy trials had no kernel drops "
                             "(lost inside the process)" %
                             (len(inside), len(lossy)))
            said = []
            for x in lossy:
                for n in x["peerNotes"]:
                    n = n.rsplit(" x", 1)[0]
                    if n not in said:
                        said.append(n)
            if said:
                notes.append("in the lossy trials: " + ", ".join(said))
        d = t["delta"]
        odd = []
        if d.get("seqReordered") or d.get("seqResets"):
            odd.append("seqReordered %d seqResets %d" % (
                d.get("seqReordered", 0), d.get("seqResets", 0)))
        ev = sum(v for k, v in d.items() if k.endswith(".evictions"))
        kl = sum(v for k, v in d.items() if k.endswith(".keyless"))
        if ev:
            odd.append("%d evictions" % ev)
        if kl:
            odd.append("%d keyless" % kl)
        if t["blastRetries"]:
            odd.append("blast retried %d sends" % t["blastRetries"])
        r["notes"] += odd + tg.notes(t)
        return r


def build_recvcount(blast):
    """Compiles bench/recvcount.c next to blast unless it is there and
    newer than its source (the Makefile may build it). Returns its path,
    or None with a log line."""
    here = os.path.dirname(os.path.abspath(__file__))
    src = os.path.join(here, "recvcount.c")
    exe = os.path.join(os.path.dirname(os.path.abspath(blast)), "recvcount")
    if os.path.exists(exe) and os.path.getmtime(exe) >= \
            os.path.getmtime(src):
        return exe
    cmd = [os.environ.get("CC", "cc"), "-std=c11", "-D_GNU_SOURCE", "-Wall",
           "-Wextra", "-O2", "-o", exe, src]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        log("%s: %s" % (" ".join(cmd), p.stderr.strip()))
        return None
    return exe


def find_ingest_thread(fab, bench, state):
    """fabmond's ingest thread (it decodes and runs the flow engine): the
    one it names fab-ingest, else (an older fabmond) the thread that
    works most while 10,000 datagrams come at 20,000/s. They come in
    either case, well below any rate that loses (so that no kernel drop
    is left to show in the first trial); their sequence numbers continue
    in state. (The busiest thread was at times another one, and the
    ingest thread's CPU then read 0 % in every trial.)"""
    before = fab.health()["ingest"]["datagrams"]
    t0 = thread_times(fab.proc.pid)
    res, _, _ = bench.blast("127.0.0.1:%d" % fab.sport, 20000, 10000, state)
    deadline = time.monotonic() + 10
    while fab.health()["ingest"]["datagrams"] < before + res["sent"] and \
            time.monotonic() < deadline:
        time.sleep(0.1)
    t1 = thread_times(fab.proc.pid)
    named = [t for t, n in thread_names(fab.proc.pid).items()
             if n == "fab-ingest"]
    if len(named) == 1:
        return named[0]
    work = sorted(((t1[t][0] - t0.get(t, (0, 0))[0], t) for t in t1
                   if t not in fab.idle_tids), reverse=True)
    return work[0][1] if work else None


def start_fabmond(args, workdir, store, preexec, bench, state,
                  prefill=False, keep_builtin=None):
    """A fabmond with blast's fabric as its topology, its built-in flow
    definitions deleted (unless keep_builtin, by default --keep-builtin),
    its ingest thread found; with prefill, on a database that holds a
    week of history first. Returns (fabmond, idle [(tid, share)], builtin
    names, prefill info or None)."""
    if keep_builtin is None:
        keep_builtin = args.keep_builtin
    info = None
    if prefill:
        # fabmond makes the schema; then it stops and the history goes in.
        f0 = Fabmond(args.fabmond, workdir, args.opt, store, preexec)
        try:
            f0.wait_ready()
        finally:
            f0.stop()
        log("pre-filling %s with a week of history" % f0.db)
        info = fabric.prefill(f0.db)
        log("  %d link minutes, %d link hours, %d top flows for %d links, "
            "%.0f MB in %.1f s" % (info["linkMinutes"], info["linkHours"],
                                   info["topRows"], info["links"],
                                   info["bytes"] / 1e6, info["seconds"]))
    fab = Fabmond(args.fabmond, workdir, args.opt, store, preexec)
    fab.wait_ready()
    log("fabmond %d (store %s): sflow 127.0.0.1:%d, http 127.0.0.1:%d" % (
        fab.proc.pid, "on" if store else "off", fab.sport, fab.hport))
    _, body = fab.request("PUT", "/topology/json", fabric.topology())
    log("topology: %s" % json.dumps(json.loads(body)))
    idle = fab.busy_while_idle()
    for tid, c in idle:
        log("fabmond thread %d uses %.0f%% of a core while idle%s" % (
            tid, 100 * c, ": reniced to 19" if args.nice_busy_idle
            else ""))
        if args.nice_busy_idle:
            os.setpriority(os.PRIO_PROCESS, tid, 19)
    fab.idle_tids.update(t for t, _ in idle)
    # From the API's own list: health shows a definition only once the
    # engine has published it, up to a second after the start.
    _, body = fab.request("GET", "/flow/json")
    builtin = list(json.loads(body))
    if builtin:
        log("fabmond starts with flow definitions %s%s" % (
            ", ".join(builtin), ": kept" if keep_builtin else
            ": deleting them"))
    if builtin and not keep_builtin:
        for n in builtin:
            fab.request("DELETE", "/flow/%s/json" % n)
    fab.wait_flows(len(builtin) if keep_builtin else 0)
    fab.ingest_tid = find_ingest_thread(fab, bench, state)
    log("fabmond's ingest thread: %s" % fab.ingest_tid)
    return fab, idle, builtin, info


def put_defs(fab, args, builtin):
    for n, body in DEFS:
        st, _ = fab.request("PUT", "/flow/%s/json" % n, body)
        if st not in (200, 204):
            raise Fail("PUT /flow/%s/json: %d" % (n, st))
    fab.wait_flows(len(DEFS) + (len(builtin) if args.keep_builtin else 0))


def del_defs(fab):
    """put_defs() undone: back to decode only."""
    for n, _ in DEFS:
        st, _ = fab.request("DELETE", "/flow/%s/json" % n)
        if st not in (200, 204):
            raise Fail("DELETE /flow/%s/json: %d" % (n, st))


def rnd_ratio(d, f):
    """One round's 10 flows / decode only, or None."""
    a, b = f["losslessRate"], d["losslessRate"]
    return a / b if a and b else None


def unfiltered(fab, names):
    """(the definitions of names that have no filter, so that each must
    match every flow sample; notes on those left out)."""
    out, notes = [], []
    for n in names:
        _, body = fab.request("GET", "/flow/%s/json" % n)
        f = json.loads(body).get("filter")
        if f:
            notes.append("%s has a filter (%s): its matched count is not "
                         "checked" % (n, f))
        else:
            out.append(n)
    return out, notes


def history_paths(fab):
    """The history queries to run, and a note when the one asked for
    (a week of minutes, step=60) cannot be answered."""
    names = [n for n, _, _, _, _ in fabric.links()]
    q = urllib.parse.quote
    step = 60
    notes = []
    probe = "/api/v1/history/links/%s?from=%d&step=%d" % (
        q(names[0], safe=":"), HISTORY_FROM, step)
    try:
        fab.request("GET", probe, timeout=30)
    except Fail as e:
        # A week of minutes is 10,080 points, over the API's limit.
        step = 120
        notes.append("links?from=%d&step=60 answers %s: step=120 used" % (
            HISTORY_FROM, str(e).split(": ", 1)[-1][:120]))
    paths = []
    for n in names:
        paths.append(("links", "/api/v1/history/links/%s?from=%d&step=%d" % (
            q(n, safe=":"), HISTORY_FROM, step)))
        paths.append(("top", "/api/v1/history/top?edge=1&from=%d" %
                      HISTORY_FROM))
    return paths, notes


def set_rmem_max(value):
    """Raises net.core.rmem_max to value if it is lower, so that a peer's
    SO_RCVBUF (no FORCE) gets what it asks for. Returns the old value to
    restore, or None when it was high enough or could not be changed."""
    try:
        with open(RMEM_MAX) as f:
            old = int(f.read())
        if old >= value:
            return None
        with open(RMEM_MAX, "w") as f:
            f.write(str(value))
        log("net.core.rmem_max %d -> %d for the peers (restored at the "
            "end)" % (old, value))
        return old
    except (OSError, ValueError) as e:
        log("cannot raise net.core.rmem_max to %d: %s; the peers' "
            "SO_RCVBUF is capped by it" % (value, e))
        return None


def restore_rmem_max(old):
    if old is not None:
        try:
            with open(RMEM_MAX, "w") as f:
                f.write(str(old))
            log("net.core.rmem_max restored to %d" % old)
        except OSError as e:
            log("cannot restore net.core.rmem_max to %d: %s" % (old, e))


def pinning(args):
    """(collector preexec_fn, description). Pinned, the collector (every
    thread and process of it) gets the last CPU to itself, and blast,
    this script and what it runs (nfdump, pmacct's client) the others:
    the peers were measured on one core, and the collector does not
    compete with its sender."""
    cpus = sorted(os.sched_getaffinity(0))
    if not args.pin or len(cpus) < 2:
        return None, "not pinned: blast and the collector share the %d " \
            "CPUs" % len(cpus)
    coll, rest = {cpus[-1]}, set(cpus[:-1])

    def pin_collector():
        os.sched_setaffinity(0, coll)
    # This process and all it starts from now on, blast included.
    os.sched_setaffinity(0, rest)
    return pin_collector, "pinned: the collector (all its threads and " \
        "processes) on CPU %d, blast and this script on CPU %s" % (
            cpus[-1], ",".join(str(c) for c in sorted(rest)))


def fmt_rate(r):
    if r["losslessRate"] is None:
        return "-"
    return "%.0f%s" % (r["losslessRate"], "+" if r["blastLimited"] else "")


def print_table(out, rows, skipped):
    by = {r["row"]: r for r in rows}

    def rate(k):
        r = by.get(k)
        return r["losslessRate"] if r else None

    rd, rf, rs = rate("decode"), rate("flows"), rate("shipped")
    print("lossless ingest on loopback (blast alone: %.0f datagrams/s; %s)"
          % (out["blastMaxRate"], out["pinning"]))
    cols = ("tool", "lossless datagrams/s", "flow samples/s",
            "decode only / tool", "10 flows / tool", "as shipped / tool")
    def mode(r):
        return r["mode"] + (" #%d" % r["round"] if "round" in r else "")

    w = max([len(mode(r)) for r in rows] + [len(n) for n, _ in skipped] +
            [len(cols[0])])
    line = "%-*s | %20s | %14s | %18s | %15s | %17s | %s"
    print(line % ((w,) + cols + ("notes",)))
    for r in rows:
        x = r["losslessRate"]

        def ratio(ref):
            return "%.2f" % (ref / x) if ref and x else "-"
        print(line % (
            w, mode(r), fmt_rate(r),
            "-" if r["flowSamplesPerS"] is None else
            "%.0f" % r["flowSamplesPerS"], ratio(rd), ratio(rf), ratio(rs),
            "; ".join(r["notes"])))
    for name, why in skipped:
        print(line % (w, name, "-", "-", "-", "-", "-", why))


def pct(x):
    return "-" if x is None else "%.0f%%" % (100 * x)


def print_cpu(cpu_rows):
    print("fabmond's CPU at %d datagrams/s (%% of one core: /proc's "
          "utime+stime over the send window, over its wall time)" %
          CPU_RATE)
    cols = ("row", "datagrams/s", "seconds", "process", "ingest thread",
            "process idle", "lossless")
    w = max([len(r["mode"]) for r in cpu_rows] + [len(cols[0])])
    line = "%-*s | %11s | %7s | %7s | %13s | %12s | %-8s | %s"
    print(line % ((w,) + cols + ("notes",)))
    for r in cpu_rows:
        notes = ["flow definitions: %s" % (", ".join(r["flows"]) or
                                           "none")]
        if not r["blastKeptUp"]:
            notes.append("blast could not keep up")
        print(line % (
            w, r["mode"], r["rate"], "%.1f" % r["seconds"],
            pct(r["processCpu"]), pct(r["ingestThreadCpu"]),
            pct(r["idleProcessCpu"]),
            "yes" if r["lossless"] else "NO", "; ".join(
                ([] if r["lossless"] else
                 ["failed: " + ", ".join(r["failed"])]) + notes +
                r.get("notes", []))))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fabmond", required=True)
    ap.add_argument("--blast", required=True)
    ap.add_argument("--quick", action="store_true",
                    help="shorter trials, coarser search")
    ap.add_argument("--json", action="store_true",
                    help="print the result as JSON")
    ap.add_argument("--rounds", type=int, default=1, metavar="N",
                    help="measure decode only and 10 flows N times in turn "
                    "on one fabmond; the ratio is the median of the rounds' "
                    "(default 1)")
    ap.add_argument("--start", type=float, default=20000,
                    help="first rate tried, datagrams/s (20000)")
    ap.add_argument("--peers", dest="peers", action="store_true",
                    default=True, help="measure the peers too (default)")
    ap.add_argument("--no-peers", dest="peers", action="store_false",
                    help="fabmond's rows only")
    ap.add_argument("--only", metavar="ROW,...",
                    help="these rows only, of: " +
                    ",".join(FABMOND_ROWS + PEER_ROWS) + "; and %s: "
                    "fabmond's CPU at %d datagrams/s, as shipped and "
                    "with 10 flows" % (CPU_KEY, CPU_RATE))
    ap.add_argument("--pin", dest="pin", action="store_true", default=True,
                    help="one CPU for the collector (the last), the others "
                    "for blast and this script (default)")
    ap.add_argument("--no-pin", dest="pin", action="store_false",
                    help="let the collector, blast and this script share "
                    "all the CPUs")
    ap.add_argument("--nice-busy-idle", action="store_true",
                    help="renice fabmond threads that use CPU while idle "
                    "to 19 (to see what they cost)")
    ap.add_argument("-o", "--opt", action="append", default=[],
                    metavar="K=V", help="a fabmond -o option, e.g. "
                    "sflow.counters=0 (repeatable)")
    ap.add_argument("--keep-builtin", action="store_true",
                    help="keep the flow definitions fabmond starts with "
                    "(by default they are deleted, so that decode only "
                    "has none)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the work directory (fabmond's log)")
    args = ap.parse_args()
    args.seconds = 1.5 if args.quick else 2.5
    args.min_count = 30000 if args.quick else 50000
    args.precision = 0.10 if args.quick else 0.05
    args.ramp = 2.0
    args.cpu_seconds = 3.0 if args.quick else 10.0
    for p in (args.fabmond, args.blast):
        if not (os.path.isfile(p) and os.access(p, os.X_OK)):
            print("lossless: %s: not an executable (make bench builds it)"
                  % p, file=sys.stderr)
            return 1
    if args.rounds < 1:
        print("lossless: --rounds: at least 1", file=sys.stderr)
        return 1
    if args.start < 2000:
        print("lossless: --start: at least 2000", file=sys.stderr)
        return 1
    keys = FABMOND_ROWS + [CPU_KEY] + PEER_ROWS
    want = FABMOND_ROWS + [CPU_KEY] + (PEER_ROWS if args.peers else [])
    if args.only:
        only = [k.strip() for k in args.only.split(",") if k.strip()]
        bad = [k for k in only if k not in keys]
        if bad:
            print("lossless: --only: unknown row %s (rows: %s)" % (
                ", ".join(bad), ",".join(keys)), file=sys.stderr)
            return 1
        want = [k for k in keys if k in only]
    coll_pin, pin_text = pinning(args)
    workdir = tempfile.mkdtemp(prefix="fabmon-lossless-")
    set_subreaper()
    t_start = time.monotonic()
    rows, skipped, errors = [], [], []
    cpu_rows = []
    rounds = []     # --rounds: each round's 10 flows / decode only
    idle_all, builtin, prefill_info = [], [], None
    cpu = CPU_KEY in want
    fab = None
    old_rmem = None
    bench = Bench(args, workdir)
    try:
        cap = bench.cap = bench.blast_max()
        log("blast alone (to a socket nobody reads): %.0f datagrams/s"
            % cap)
        log(pin_text)
        on = [k for k in ("decode", "flows", "queries") if k in want]
        if on or cpu:
            state = os.path.join(workdir, "blast.fabmond.state")
            fab, idle, builtin, prefill_info = start_fabmond(
                args, os.path.join(workdir, "store-on"), True, coll_pin,
                bench, state, prefill="queries" in want)
            idle_all += idle
            # --rounds: decode only and 10 flows in turn on this fabmond,
            # the definitions deleted between. This machine's speed swings
            # by up to 1.7x from one minute to the next (engine_bench's
            # decode only: 1.02 then 1.70 million datagrams/CPU-s, runs
            # back to back), so one pair of rows may straddle a swing; the
            # median of the rounds' ratios seldom does.
            n = args.rounds if "decode" in want and "flows" in want else 1
            for rnd in range(n):
                if rnd:
                    del_defs(fab)
                if "decode" in want:
                    rows.append(bench.search(
                        FabmondTarget("decode", fab, [], state), cap))
                if "flows" in want or "queries" in want or cpu:
                    put_defs(fab, args, builtin)
                tg = FabmondTarget("flows", fab, ["pairs"], state)
                if "flows" in want:
                    rows.append(bench.search(tg, cap))
                if n > 1:
                    rows[-2]["round"] = rows[-1]["round"] = rnd + 1
                    rounds.append(rnd_ratio(rows[-2], rows[-1]))
            if cpu:
                # The same fabmond and target: a trial that lost at the
                # end of the search shows as sequence gaps in the next.
                cpu_rows.append(bench.cpu_trial(tg, CPU_RATE,
                                                args.cpu_seconds))
                if prefill_info:
                    cpu_rows[-1]["notes"] = [
                        "store pre-filled with a week of history"]
            if "queries" in want:
                queries, notes = history_paths(fab)
                notes = ["store pre-filled with %d link minutes and %d "
                         "top flows" % (prefill_info["linkMinutes"],
                                        prefill_info["topRows"])] + notes
                tg = FabmondTarget("queries", fab, ["pairs"], state,
                                   queries, notes)
                rows.append(bench.search(tg, cap))
            fab.stop()
            fab = None
        if "shipped" in want or cpu:
            # What an operator runs: the store on (a fresh database), the
            # built-in flow definitions, no others.
            state = os.path.join(workdir, "blast.fabmond-shipped.state")
            fab, idle, shipped_defs, _ = start_fabmond(
                args, os.path.join(workdir, "shipped"), True, coll_pin,
                bench, state, keep_builtin=True)
            idle_all += idle
            match, notes = unfiltered(fab, shipped_defs)
            notes.insert(0, "store on, built-in flow definitions: %s" % (
                ", ".join(shipped_defs) or "none"))
            tg = FabmondTarget("shipped", fab, match, state, notes=notes)
            if "shipped" in want:
                rows.append(bench.search(tg, cap))
            if cpu:
                cpu_rows.insert(0, bench.cpu_trial(tg, CPU_RATE,
                                                   args.cpu_seconds))
            fab.stop()
            fab = None
        if "storeoff" in want:
            state = os.path.join(workdir, "blast.fabmond-storeoff.state")
            fab, idle, b2, _ = start_fabmond(
                args, os.path.join(workdir, "store-off"), False, coll_pin,
                bench, state)
            idle_all += idle
            tg = FabmondTarget("storeoff", fab, [], state,
                               notes=["-o store.enable=0"])
            rows.append(bench.search(tg, cap))
            fab.stop()
            fab = None
        wanted_peers = [k for k in PEER_ROWS if k in want]
        if wanted_peers:
            rc = build_recvcount(args.blast) if "recvcount" in want \
                else None
            old_rmem = set_rmem_max(RCVBUF)
            env = peers.Env(workdir, RCVBUF, coll_pin, rc, args.keep)
            for p in peers.all_peers(env):
                if p.key not in wanted_peers:
                    continue
                why = p.missing()
                if why:
                    log("%s: not measured: %s" % (p.name, why))
                    skipped.append((p.name, "not measured: " + why))
                    errors.append(p.name)
                    continue
                try:
                    rows.append(bench.search(PeerTarget(p), cap))
                except peers.PeerFail as e:
                    p.end()
                    log("%s: %s" % (p.name, e))
                    skipped.append((p.name, "could not run: %s" %
                                    str(e).splitlines()[0]))
                    errors.append(p.name)
            skipped.append(("sflowtool", "not packaged in Debian: not "
                            "measured"))
    except Fail as e:
        print("lossless: " + str(e), file=sys.stderr)
        return 1
    except (OSError, ValueError) as e:
        # The API stopped answering, or answered nonsense.
        print("lossless: %s%s" % (e, fab.log_tail() if fab else ""),
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        if fab is not None:
            fab.stop()
        restore_rmem_max(old_rmem)
        if args.keep:
            log("work directory kept: " + workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    by = {r["row"]: r for r in rows}

    def rate(k):
        return by[k]["losslessRate"] if k in by else None

    def ratio(a, b):
        return rate(a) / rate(b) if rate(a) and rate(b) else None

    out = {"blastMaxRate": round(cap), "rows": rows,
           "skipped": [{"tool": n, "why": w} for n, w in skipped],
           "ratio": (statistics.median(r for r in rounds if r is not None)
                     if any(r is not None for r in rounds)
                     else ratio("flows", "decode")),
           "roundRatios": rounds,
           "storeOffRatio": ratio("storeoff", "decode"),
           "queriesRatio": ratio("queries", "flows"),
           "shippedRatio": ratio("shipped", "decode"),
           "shippedOverPeers": {k: ratio("shipped", k) for k in PEER_ROWS
                                if rate("shipped") and rate(k)},
           "cpu25k": cpu_rows,
           "cpus": os.cpu_count(), "pinning": pin_text,
           "builtinFlows": builtin, "builtinKept": args.keep_builtin,
           "prefill": prefill_info,
           "busyWhileIdle": [{"tid": t, "cpu": round(c, 2),
                              "reniced": args.nice_busy_idle}
                             for t, c in idle_all],
           "seconds": round(time.monotonic() - t_start),
           "trials": bench.trials}
    if args.json:
        print(json.dumps(out))
        return 1 if errors else 0
    if rows or skipped:
        print_table(out, rows, skipped)
        print("ratios: fabmond's lossless rate over the row's (above 1: "
              "fabmond is faster); + marks a rate that blast could not "
              "exceed")
    if cpu_rows:
        if rows or skipped:
            print()
        print_cpu(cpu_rows)
        print()
    if builtin:
        print("fabmond's built-in flow definitions (%s) %s; as shipped "
              "keeps them; with the store off there are none" % (
                  ", ".join(builtin), "ran in decode only and 10 flows "
                  "(--keep-builtin)" if args.keep_builtin else "were "
                  "deleted first in decode only and 10 flows, so that "
                  "decode only has none and 10 flows has engine_bench's "
                  "10"))
    if any(k in by for k in FABMOND_ROWS):
        print("fabmond's topology: blast's 50 agents as 4 spines and 46 "
              "leaves (bench/fabric.py), PUT before the trials")
    for tid, c in idle_all:
        print("fabmond thread %d used %.0f%% of a core while idle%s" % (
            tid, 100 * c, " (reniced to 19 for this run)"
            if args.nice_busy_idle else
            " and competes with blast and the ingest thread for the %d "
            "CPUs (--nice-busy-idle shows what it costs)" % os.cpu_count()))
    r = out["ratio"]
    if r is not None:
        print("ratio 10 flows / decode only: %.2f%s (the flow engine issue "
              "asks >= 0.50)%s" % (r, " (the median of %d rounds: %s)" % (
                  len(rounds), ", ".join("-" if x is None else "%.2f" % x
                                         for x in rounds))
                  if rounds else "",
                  "; decode only was blast-limited, so the true ratio is "
                  "lower" if by["decode"]["blastLimited"] else ""))
    if out["storeOffRatio"] is not None:
        print("store off / store on, decode only: %.2f" %
              out["storeOffRatio"])
    if out["queriesRatio"] is not None:
        print("with / without history queries, 10 flows: %.2f" %
              out["queriesRatio"])
    if out["shippedRatio"] is not None:
        print("as shipped / decode only: %.2f" % out["shippedRatio"])
    sp = out["shippedOverPeers"]
    if "sfcapd" in sp or "sfacctd-sqlite3" in sp:
        print("as shipped over the peers: %s (the benchmark issue asks "
              ">= 1.0 x sfcapd and >= 1.7 x sfacctd -> sqlite3)" % ", ".join(
                  "%.2f x %s" % (sp[k], by[k]["mode"]) for k in
                  ("sfcapd", "sfacctd-sqlite3") if k in sp))
    print("%d trials in %d s" % (len(bench.trials), out["seconds"]))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
