#!/usr/bin/env python3
"""lossless.py: fabmond's maximum lossless sFlow ingest rate, decode only and
with 10 flow definitions (the same as bench/engine_bench.c's), end to end.

It starts fabmond on free loopback ports, then, for each mode, searches for
the highest rate at which bench/blast's datagrams all arrive and are all
counted: an exponential ramp from --start, a bisection to within 5% (10% with
--quick), and the result repeated to confirm it (bench/README.md). A trial
sends 2.5 s' worth of datagrams (at least 100k unless that takes over 5 s)
and is lossless when, between a health reading before and one after (once
fabmond's counters stop moving):
  - ingest.datagrams went up by exactly what blast sent,
  - ingest.samples by the flow + counter samples blast sent,
  - ingest.kernelDrops, recvErrors, errors.* and agentsOverflow did not move,
  - the agents' seqLost and samplesLost did not move (blast's sequences have
    no gaps, so any gap is a datagram lost),
  - with flow definitions: "pairs" (no filter) matched every flow sample sent.
/proc/net/udp's drops for fabmond's socket and /proc/net/snmp's
Udp RcvbufErrors are read before and after as well and reported.

Python 3 standard library only. It prints a table (or --json) and exits 0;
it asserts nothing about the numbers. It exits 1 when fabmond does not start
or a trial cannot run.

  python3 bench/lossless.py --fabmond build/bench/fabmond \\
      --blast build/bench/blast [--quick] [--json]
"""

import argparse
import json
import math
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

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

MODES = [("decode only", False), ("10 flows", True)]


class Fail(Exception):
    """The benchmark cannot go on: fabmond died, an API call failed."""


def log(msg):
    print("lossless: " + msg, file=sys.stderr, flush=True)


def free_port(kind):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def udp_socket_stats(port):
    """(rx_queue bytes, drops) of the 127.0.0.1:port socket, or None."""
    want = "0100007F:%04X" % port
    with open("/proc/net/udp") as f:
        next(f)
        for line in f:
            p = line.split()
            if p[1] == want:
                return int(p[4].split(":")[1], 16), int(p[-1])
    return None


def rcvbuf_errors():
    with open("/proc/net/snmp") as f:
        rows = [l.split() for l in f if l.startswith("Udp:")]
    return int(rows[1][rows[0].index("RcvbufErrors")])


def thread_times(pid):
    """{tid: (seconds on a CPU, seconds runnable but waiting for one)} of
    every thread of pid (/proc/PID/task/TID/schedstat)."""
    out = {}
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                run, wait = f.read().split()[:2]
            out[int(tid)] = (int(run) / 1e9, int(wait) / 1e9)
    except (FileNotFoundError, ProcessLookupError):
        pass
    return out


class Fabmond:
    def __init__(self, path, workdir, opts):
        self.sport = free_port(socket.SOCK_DGRAM)
        self.hport = free_port(socket.SOCK_STREAM)
        self.base = "http://127.0.0.1:%d" % self.hport
        self.logpath = os.path.join(workdir, "fabmond.log")
        self.logf = open(self.logpath, "w")
        cmd = [path, "-d", "--sflow", "127.0.0.1:%d" % self.sport,
               "--http", "127.0.0.1:%d" % self.hport,
               "--db", os.path.join(workdir, "x.db"),
               "--state-dir", workdir, "-o", "snmp.enable=0"]
        for o in opts:
            cmd += ["-o", o]
        self.proc = subprocess.Popen(cmd, stdout=self.logf,
                                     stderr=subprocess.STDOUT)

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


class Bench:
    def __init__(self, args, fab, workdir):
        self.args = args
        self.fab = fab
        self.state = os.path.join(workdir, "blast.state")
        self.trials = []
        self.prev_lossless = True
        self.idle_tids = set()
        self.drained = None
        self.cap = 0
        self.mode = None

    def blast(self, to, rate, count, pool=None, sample_port=None):
        """Runs blast; returns its JSON, peak rx_queue and CPU seconds."""
        cmd = [self.args.blast, "--to", to, "--rate", str(int(rate)),
               "--count", str(count), "--state", self.state]
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
            # Its own sequence state: this is not fabmond's stream.
            saved, self.state = self.state, self.state + ".max"
            res, _, _ = self.blast("127.0.0.1:%d" % port, 0,
                                   self.args.min_count * 2)
        finally:
            self.state = saved
            s.close()
        return res["rate"]

    def settle(self, sent, flow_samples, flows_mode, before):
        """Health once fabmond has counted what was sent, or once its
        socket has been empty for a whole publish period (what is missing
        then is lost)."""
        want = before["datagrams"] + sent
        want_matched = before.get("flow.pairs.matched", 0) + flow_samples
        deadline = time.monotonic() + 30
        drained = None
        while True:
            self.fab.alive()
            st = udp_socket_stats(self.fab.sport)
            now = time.monotonic()
            if st is not None and st[0] == 0:
                if drained is None:
                    drained = now
                    self.drained = (now, thread_times(self.fab.proc.pid))
            else:
                drained = None
            h = self.fab.health()
            c = counters(h)
            done = c["datagrams"] >= want and (
                not flows_mode or c.get("flow.pairs.matched", 0) >=
                want_matched)
            # The engine's snapshot is published right after the ingest
            # one: one more period covers a reading between the two.
            if done or (drained and h["_taken"] > drained + 1.1) or \
                    now > deadline:
                return h
            time.sleep(0.2)

    def trial(self, rate, flows_mode):
        a = self.args
        # At least min_count datagrams, but not more than 5 s' worth.
        r = rate or self.cap
        count = int(max(r * a.seconds, min(a.min_count, r * 5)))
        to = "127.0.0.1:%d" % self.fab.sport
        hb = self.fab.health()
        before = counters(hb)
        udp0 = udp_socket_stats(self.fab.sport)
        rbe0 = rcvbuf_errors()
        tk0 = thread_times(self.fab.proc.pid)
        t0 = time.monotonic()
        res, peak, bcpu = self.blast(to, rate, count,
                                     sample_port=self.fab.sport)
        t_send = time.monotonic() - t0
        self.drained = None
        self.settle(res["sent"], res["flowSamples"], flows_mode, before)
        # The ingest thread's CPU while it had datagrams to read: from the
        # start to when its socket was first seen empty.
        t_busy, tk1 = self.drained or (time.monotonic(),
                                       thread_times(self.fab.proc.pid))
        t_busy = max(t_busy - t0, t_send)
        # One more datagram: fabmond learns the kernel's drop count
        # (SO_RXQ_OVFL) only with the next datagram it receives, so drops
        # at the end of this trial would otherwise show in the next one.
        flush, _, _ = self.blast(to, 0, 1, pool=1)
        sent = res["sent"] + flush["sent"]
        fs = res["flowSamples"] + flush["flowSamples"]
        cs = res["counterSamples"] + flush["counterSamples"]
        after = counters(self.settle(sent, fs, flows_mode, before))
        udp1 = udp_socket_stats(self.fab.sport)
        rbe1 = rcvbuf_errors()
        d = {k: after.get(k, 0) - before.get(k, 0) for k in after}
        checks = {
            "datagrams": d["datagrams"] == sent,
            "samples": d["samples"] == fs + cs,
            "kernelDrops": d["kernelDrops"] == 0,
            "errors": d["errors"] == 0 and d["recvErrors"] == 0 and
            d["agentsOverflow"] == 0,
        }
        # A datagram lost at the end of a trial shows as a sequence gap
        # only when its agent's next datagram arrives, in the next trial.
        if self.prev_lossless:
            checks["sequence"] = d["seqLost"] == 0 and d["samplesLost"] == 0
        if flows_mode:
            checks["pairs matched"] = d.get("flow.pairs.matched") == fs
        # The ingest thread: the busiest one, bar those busy while idle.
        run, wait = max(((tk1[t][0] - tk0.get(t, (0, 0))[0],
                          tk1[t][1] - tk0.get(t, (0, 0))[1])
                         for t in tk1 if t not in self.idle_tids),
                        default=(0, 0))
        t = {
            "mode": self.mode,
            # A trial as fast as blast goes counts as asking for what it
            # reached, so that the search can bisect below it.
            "requested": rate or res["rate"],
            "atCap": rate == 0,
            "rate": res["rate"],
            "sent": sent,
            "flowSamples": fs,
            "counterSamples": cs,
            "flowSamplesPerS": res["flowSamples"] / res["seconds"]
            if res["seconds"] > 0 else 0,
            "seconds": res["seconds"],
            "blastRetries": res["retries"] + flush["retries"],
            "lossless": all(checks.values()),
            "failed": [k for k, ok in checks.items() if not ok],
            "lost": sent - d["datagrams"],
            "delta": d,
            "udpDrops": udp1[1] - udp0[1] if udp0 and udp1 else None,
            "rcvbufErrors": rbe1 - rbe0,
            "peakQueueBytes": peak,
            "rcvbuf": hb["ingest"]["listen"][0]["rcvbuf"],
            "ingestThreadCpu": run / t_busy,
            "ingestThreadWait": wait / t_busy,
            "blastCpu": bcpu / max(t_send, 1e-9),
            "blastKeptUp": rate == 0 or res["rate"] >= 0.97 * rate,
        }
        self.trials.append(t)
        self.prev_lossless = t["lossless"]
        log("  %8s/s -> sent %7d at %7.0f/s, queue peak %3.0f%%, ingest "
            "thread %3.0f%% CPU %3.0f%% waiting: %s%s" % (
            "max" if rate == 0 else "%.0f" % rate, sent, res["rate"],
            100.0 * peak / (2 * t["rcvbuf"]), 100 * t["ingestThreadCpu"],
            100 * t["ingestThreadWait"],
            "lossless" if t["lossless"] else
            "LOSS (%s; %d datagrams lost, udp drops %s)" % (
                ", ".join(t["failed"]), t["lost"], t["udpDrops"]),
            "" if t["blastKeptUp"] else " [blast could not keep up]"))
        return t

    def search(self, name, flows_mode, cap):
        a = self.args
        self.mode = name
        log("%s: searching from %.0f/s (blast's limit %.0f/s)" % (
            name, a.start, cap))
        best = None    # the fastest lossless trial
        bad = None     # the lowest requested rate that lost
        limited = False
        rate = min(a.start, cap)
        # Ramp up until a trial loses or blast is the limit.
        while True:
            at_cap = rate >= cap
            t = self.trial(0 if at_cap else rate, flows_mode)
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
                t = self.trial(rate, flows_mode)
                if t["lossless"]:
                    best = t
                else:
                    bad = rate
            if best is None:
                return self.result(name, None, False, False, flows_mode)
        while not limited and bad is not None and \
                bad > best["requested"] * (1 + a.precision):
            mid = math.sqrt(best["requested"] * bad)
            t = self.trial(mid, flows_mode)
            if t["lossless"]:
                best = t
            else:
                bad = mid
        # Confirm: a rate must pass twice in a row. When the repeat loses,
        # step down and start again there, a few times at most.
        rate, at_cap = best["requested"], best["atCap"]
        passes, confirmed = 1, None
        for _ in range(4):
            t = self.trial(0 if at_cap else rate, flows_mode)
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
            mine = [t for t in self.trials if t["mode"] == name]
            floor = min((t["requested"] for t in mine if not t["lossless"]),
                        default=math.inf)
            best = max((t for t in mine if t["lossless"] and
                        t["requested"] < floor),
                       key=lambda t: t["requested"], default=None)
        return self.result(name, confirmed or best, confirmed is not None,
                           limited, flows_mode)

    def result(self, name, t, ok, limited, flows_mode):
        r = {"mode": name, "flowDefinitions": len(DEFS) if flows_mode else 0,
             "losslessRate": None, "flowSamplesPerS": None,
             "confirmed": False, "blastLimited": limited, "notes": []}
        if t is None:
            r["notes"].append("no rate was lossless below every lossy one")
            return r
        r.update(losslessRate=round(t["rate"]),
                 flowSamplesPerS=round(t["flowSamplesPerS"]),
                 confirmed=ok, trial=t)
        mine = [x for x in self.trials if x["mode"] == name]
        once = max((x["rate"] for x in mine if x["lossless"]), default=0)
        notes = r["notes"]
        if limited:
            notes.append("blast's limit: fabmond may go faster")
        notes.append("confirmed" if ok else "NOT confirmed: the fastest "
                     "lossless trial below every lossy one")
        if not ok and once > t["rate"]:
            notes.append("fastest lossless trial %.0f/s" % once)
        notes.append("ingest thread %.0f%% CPU, %.0f%% waiting for one" % (
            100 * t["ingestThreadCpu"], 100 * t["ingestThreadWait"]))
        notes.append("peak queue %.0f%% of rcvbuf" %
                     (100.0 * t["peakQueueBytes"] / (2 * t["rcvbuf"])))
        # Starved: in the trials that lost, the ingest thread was often
        # runnable with no CPU to run on; the machine set the limit.
        waits = sorted(x["ingestThreadWait"] for x in mine
                       if not x["lossless"])
        if waits and waits[len(waits) // 2] > 0.2:
            notes.append("in the lossy trials the ingest thread waited for "
                         "a CPU %.0f%% of the time (median)" %
                         (100 * waits[len(waits) // 2]))
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
        r["notes"] += odd
        return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fabmond", required=True)
    ap.add_argument("--blast", required=True)
    ap.add_argument("--quick", action="store_true",
                    help="shorter trials, coarser search")
    ap.add_argument("--json", action="store_true",
                    help="print the result as JSON")
    ap.add_argument("--start", type=float, default=20000,
                    help="first rate tried, datagrams/s (20000)")
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
    args.min_count = 50000 if args.quick else 100000
    args.precision = 0.10 if args.quick else 0.05
    args.ramp = 2.0
    for p in (args.fabmond, args.blast):
        if not (os.path.isfile(p) and os.access(p, os.X_OK)):
            print("lossless: %s: not an executable (make bench builds it)"
                  % p, file=sys.stderr)
            return 1
    if args.start < 2000:
        print("lossless: --start: at least 2000", file=sys.stderr)
        return 1
    workdir = tempfile.mkdtemp(prefix="fabmon-lossless-")
    fab = None
    t_start = time.monotonic()
    try:
        fab = Fabmond(args.fabmond, workdir, args.opt)
        fab.wait_ready()
        log("fabmond %d: sflow 127.0.0.1:%d, http 127.0.0.1:%d" % (
            fab.proc.pid, fab.sport, fab.hport))
        idle = fab.busy_while_idle()
        for tid, c in idle:
            log("fabmond thread %d uses %.0f%% of a core while idle%s" % (
                tid, 100 * c, ": reniced to 19" if args.nice_busy_idle
                else ""))
            if args.nice_busy_idle:
                os.setpriority(os.PRIO_PROCESS, tid, 19)
        builtin = [f["name"] for f in fab.health().get("flows", [])]
        if builtin:
            log("fabmond starts with flow definitions %s%s" % (
                ", ".join(builtin), ": kept" if args.keep_builtin else
                ": deleting them"))
        if builtin and not args.keep_builtin:
            for n in builtin:
                fab.request("DELETE", "/flow/%s/json" % n)
            fab.wait_flows(0)
        bench = Bench(args, fab, workdir)
        bench.idle_tids = {t for t, _ in idle}
        cap = bench.cap = bench.blast_max()
        log("blast alone (to a socket nobody reads): %.0f datagrams/s" % cap)
        results = []
        for name, flows_mode in MODES:
            if flows_mode:
                for n, body in DEFS:
                    st, _ = fab.request("PUT", "/flow/%s/json" % n, body)
                    if st not in (200, 204):
                        raise Fail("PUT /flow/%s/json: %d" % (n, st))
                fab.wait_flows(len(DEFS) + (len(builtin)
                                            if args.keep_builtin else 0))
            results.append(bench.search(name, flows_mode, cap))
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
        if args.keep:
            log("work directory kept: " + workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    r0, r1 = results[0]["losslessRate"], results[1]["losslessRate"]
    ratio = r1 / r0 if r0 and r1 else None
    out = {"blastMaxRate": round(cap), "modes": results, "ratio": ratio,
           "cpus": os.cpu_count(),
           "builtinFlows": builtin, "builtinKept": args.keep_builtin,
           "busyWhileIdle": [{"tid": t, "cpu": round(c, 2),
                              "reniced": args.nice_busy_idle}
                             for t, c in idle],
           "seconds": round(time.monotonic() - t_start),
           "trials": bench.trials}
    if args.json:
        print(json.dumps(out))
        return 0
    print("lossless ingest (fabmond on loopback; blast alone: %.0f "
          "datagrams/s)" % cap)
    print("%-12s | %20s | %14s | %s" % (
        "mode", "lossless datagrams/s", "flow samples/s", "notes"))
    for r in results:
        print("%-12s | %20s | %14s | %s" % (
            r["mode"],
            "-" if r["losslessRate"] is None else
            ("%.0f" % r["losslessRate"]) +
            ("+" if r["blastLimited"] else ""),
            "-" if r["flowSamplesPerS"] is None else
            "%.0f" % r["flowSamplesPerS"],
            "; ".join(r["notes"])))
    if builtin:
        print("fabmond's built-in flow definitions (%s) %s" % (
            ", ".join(builtin), "ran in both modes (--keep-builtin)"
            if args.keep_builtin else "were deleted first, so that decode "
            "only has none and 10 flows has engine_bench's 10"))
    for tid, c in idle:
        print("fabmond thread %d used %.0f%% of a core while idle%s" % (
            tid, 100 * c, " (reniced to 19 for this run)"
            if args.nice_busy_idle else
            " and competes with blast and the ingest thread for the %d "
            "CPUs (--nice-busy-idle shows what it costs)" % os.cpu_count()))
    print("ratio 10 flows / decode only: %s (the flow engine issue asks "
          ">= 0.50)%s" % ("-" if ratio is None else "%.2f" % ratio,
                          "; decode only was blast-limited, so the true "
                          "ratio is lower" if results[0]["blastLimited"]
                          else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
