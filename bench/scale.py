#!/usr/bin/env python3
"""scale.py: fabmond at the size DESIGN §11 budgets for (1,000 switches x
64 ports, 1M active flows, <= 512 MiB RSS): its memory, the time its API
and its /ws push take at that size, and a peer's memory on the same
datagrams.

What it does (bench/README.md has the details):
  1. a fabmond (store on, SNMP off) on loopback; its topology PUT: 1,000
     switches x 64 ports as 60 spines and 940 leaves, each leaf with 4
     uplinks (bench/fabric.py: 3,760 links; the leaves' other 60 ports are
     edge ports);
  2. its built-in flow definitions, as it creates them (fabmon_links and
     fabmon_flows, and fabmon_edge in versions that have it; no trace:
     one per live trace) plus lossless.py's 10 user definitions;
  3. blast --live: synthetic sFlow from those 1,000 agents x 64 ports
     carrying 1,000,000 distinct flows (each made just before it is sent:
     a pool could not hold them), 20,000 datagrams/s, for --fill seconds,
     and on for as long as it measures;
  4. then, under that load: the time to answer GET /api/v1/top,
     /activeflows/ALL/<def>/json?maxFlows=100, /api/v1/links,
     /api/v1/topology and /api/v1/health (median of --queries, timed by
     this client, each endpoint for at most --budget seconds), and a /ws
     client subscribed to links, top, fabric, health and blackholes: the
     push build time (health.ws.lastPushUs), the frame sizes, and the
     flow tables (/api/v1/health `flows`: the entries, evictions, ... of
     each definition, from that client's last health frame);
  5. VmRSS and VmHWM (/proc) throughout, against the 512 MiB budget;
  6. the peer: sfacctd with the memory plugin, aggregating the 5-tuple as
     lossless.py runs it (bench/peers.py), on the same datagrams (the
     same blast arguments, for as many datagrams as the fill sent to
     fabmond): its RSS (all its processes), and the time
     `pmacct -s -T bytes,100` takes (its top 100 flows), with the ratios. Nothing else in pmacct answers what /api/v1/links,
     /api/v1/topology or the push do: those rows say so.

Python 3 standard library only. It prints a table (or --json) and
asserts nothing; exits 1 only when fabmond cannot be run.

  python3 bench/scale.py --fabmond build/bench/fabmond \\
      --blast build/bench/blast [--rate 20000] [--fill 30] [--no-peer]
      [--queries 20] [--pushes 10] [--budget 10] [--json] [--keep]
      [-o K=V]... [--env K=V]...
"""

import argparse
import http.client
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fabric  # noqa: E402
import peers  # noqa: E402
from benchutil import (MachineLoad, WSClient, group_mem,  # noqa: E402
                       proc_mem, set_subreaper, thread_names,
                       thread_times)
from lossless import (DEFS, Fabmond, Fail, restore_rmem_max,  # noqa: E402
                      set_rmem_max)

MIB = 1 << 20
BUDGET = 512 * MIB
RCVBUF = 16 << 20
# fabmond's built-in definitions are named fabmon_* (fabmon_links,
# fabmon_flows, and fabmon_edge in versions that have it), a trace's
# trace-{id}: the script takes them as it finds them.
BUILTIN_PREFIX = "fabmon_"
WS_TOPICS = ["links", "top", "fabric", "health", "blackholes"]
QUERY_BUDGET_S = 10.0


T0 = time.monotonic()


def log(msg):
    print("scale: [%5.1f s] %s" % (time.monotonic() - T0, msg),
          file=sys.stderr, flush=True)


class BigFabmond(Fabmond):
    """lossless.py's Fabmond, with a longer timeout for health: at this
    size its answer is large (an entry per agent) and it can wait."""

    def health(self):
        t = time.monotonic()
        _, body = self.request("GET", "/api/v1/health", timeout=120)
        h = json.loads(body)
        h["_taken"] = t - h.get("ingest", {}).get("snapshotAgeMs", 0) / 1e3
        return h

    def health_retry(self, tries=4):
        """health(), tried again when the answer fails or comes cut
        short (under load at this size it can: see the notes); None
        when every try failed. Also returns the errors seen."""
        errs = []
        for _ in range(tries):
            try:
                return self.health(), errs
            except REQUEST_ERRORS as e:
                self.alive()
                errs.append(err_text(e))
                time.sleep(0.5)
        return None, errs


# A request that failed: an error status, a socket error or timeout, or
# an answer cut short (http.client.IncompleteRead).
REQUEST_ERRORS = (Fail, OSError, http.client.HTTPException, ValueError)


def err_text(e):
    if isinstance(e, http.client.IncompleteRead):
        return "answer cut short: %d bytes of %d" % (
            len(e.partial), len(e.partial) + (e.expected or 0))
    return ("%s: %s" % (type(e).__name__, e))[:200]


class MemWatch(threading.Thread):
    """Samples the memory of a process (or a process group) every 0.5 s:
    the largest VmRSS seen, and the last reading."""

    def __init__(self, pid, group=False):
        super().__init__(daemon=True)
        self.pid, self.group = pid, group
        self.stop = threading.Event()
        self.max_rss = self.rss = self.hwm = 0
        self.samples = []

    def read(self):
        r, h = group_mem(self.pid) if self.group else proc_mem(self.pid)
        if r:
            self.rss, self.hwm = r, max(self.hwm, h)
            self.max_rss = max(self.max_rss, r)
            self.samples.append((time.monotonic(), r))
        return r, h

    def run(self):
        while not self.stop.wait(0.5):
            self.read()


def mib(b):
    return "-" if b is None else "%.0f MiB" % (b / MIB)


def timed_get(fab, path, n, budget=QUERY_BUDGET_S, timeout=60):
    """n GETs of path, one after the other (at most `budget` seconds in
    all): {"n", "median", "min", "max" (ms), "bytes", "error"}."""
    ts, size, errs, bad = [], None, [], []
    t_end = time.monotonic() + budget
    for _ in range(n):
        t = time.monotonic()
        try:
            _, body = fab.request("GET", path, timeout=timeout)
            ts.append((time.monotonic() - t) * 1000)
            size = len(body)
        except REQUEST_ERRORS as e:
            fab.alive()
            bad.append((time.monotonic() - t) * 1000)
            errs.append(err_text(e))
        if time.monotonic() > t_end:
            break
    return {"path": path, "n": len(ts), "bytes": size,
            "failed": len(bad), "failedMs": bad,
            "error": errs[0] if errs else None,
            "median": statistics.median(ts) if ts else None,
            "min": min(ts) if ts else None, "max": max(ts) if ts else None}


def ws_measure(fab, pushes, budget, timeout=120):
    """A /ws client subscribed to WS_TOPICS until `pushes` health frames
    after the first (or `budget` seconds after the first): the frame
    sizes per topic,
    health.ws.lastPushUs of each push, how long the first frames took
    after subscribing, and the last health frame's data (the flow tables:
    GET /api/v1/health may not answer under load at this size, while the
    push always builds its frame, however long it waits)."""
    ws = WSClient("127.0.0.1", fab.hport, timeout=timeout)
    sizes = {t: [] for t in WS_TOPICS}
    push_us, periods, health_at, links_at = [], [], [], []
    first = {}
    out = {"error": None, "health": None}
    try:
        hello = ws.recv(timeout)
        out["hello"] = json.loads(hello[0]).get("data") if hello else None
        t_sub = time.monotonic()
        ws.send({"op": "subscribe", "id": 1, "topics": WS_TOPICS})
        # The first frames (built at once on subscribing) may take long;
        # then the pushes, for at most `budget` seconds.
        deadline = t_sub + timeout
        while len(health_at) < pushes + 2:
            now = time.monotonic()
            if health_at:
                deadline = min(deadline, health_at[0] + budget)
            if now >= deadline:
                break
            m = ws.recv(deadline - now)
            if m is None:
                break
            text, at = m
            o = json.loads(text)
            if o.get("t") != "event" or o.get("topic") not in sizes:
                continue
            topic = o["topic"]
            sizes[topic].append(len(text.encode()))
            first.setdefault(topic, at - t_sub)
            if topic == "links":
                links_at.append(at)
            if topic == "health":
                data = o.get("data") or {}
                out["health"] = data
                out["healthAt"] = at
                if health_at:
                    periods.append((at - health_at[-1]) * 1000)
                # A health frame carries the build time of the push
                # before the one that built it: the first frame is built
                # on subscribing, and the second one's previous push may
                # have run before the topics were subscribed.
                if len(health_at) >= 2:
                    us = (data.get("ws") or {}).get("lastPushUs")
                    if us is not None:
                        push_us.append(us)
                health_at.append(at)
        # Unsubscribe, and wait for the reply: it comes once the service
        # thread is done with the push in progress, which would otherwise
        # hold up the queries that follow.
        t = time.monotonic()
        ws.send({"op": "unsubscribe", "id": 2, "topics": WS_TOPICS})
        while time.monotonic() - t < timeout:
            m = ws.recv(max(0.1, timeout - (time.monotonic() - t)))
            if m is None:
                break
            o = json.loads(m[0])
            if o.get("t") == "reply" and o.get("id") == 2:
                break
        out["unsubscribeS"] = time.monotonic() - t
    except (ConnectionError, OSError, ValueError) as e:
        out["error"] = str(e)[:200]
    finally:
        ws.close()
    out.update({
        "sizes": {t: {"n": len(v), "median": statistics.median(v) if v
                      else None, "max": max(v) if v else None}
                  for t, v in sizes.items()},
        "lastPushUs": push_us,
        "pushUsMedian": statistics.median(push_us) if push_us else None,
        "pushUsMax": max(push_us) if push_us else None,
        "periodMsMedian": statistics.median(periods) if periods else None,
        # links is built at every push: the time between its frames is
        # the push period, build included.
        "linksPeriodsMs": [(b - a) * 1000 for a, b in
                           zip(links_at, links_at[1:])],
        "firstFrameS": first,
        "budget": budget,
    })
    return out


def agents_ingested(fab, settle=0.5, timeout=60):
    """The datagrams fabmond has ingested, summed over its agents
    (GET /agents/json: it reads the ingest snapshot and never waits on
    the history thread, unlike health at this size), once the sum stops
    moving; and the sequence gaps its agents saw (sFlowDatagramsLost).
    (None, None) when it does not answer."""
    last = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _, body = fab.request("GET", "/agents/json", timeout=timeout)
        except REQUEST_ERRORS:
            return None, None
        a = json.loads(body).values()
        cur = (sum(x.get("sFlowDatagramsReceived", 0) for x in a),
               sum(x.get("sFlowDatagramsLost", 0) for x in a))
        if cur == last:
            return cur
        last = cur
        time.sleep(settle)
    return last if last else (None, None)


def blast_cmd(args, port, count):
    return [args.blast, "--to", "127.0.0.1:%d" % port, "--rate",
            str(args.rate), "--count", str(count), "--live",
            "--agents", str(args.agents), "--ports", str(args.ports),
            "--flows", str(args.flows)]


def stop_blast(bl):
    """SIGTERM: blast stops after its batch and prints what it sent."""
    if bl.poll() is None:
        bl.send_signal(signal.SIGTERM)
    out, err = bl.communicate(30)
    try:
        return json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise Fail("blast: %s" % err.strip()[-500:])


def distinct(flows, samples):
    """The expected number of distinct flows among `samples` flow samples
    each of a flow drawn at random among `flows` (gen.c's paths profile:
    a random agent, a random flow of that agent)."""
    if flows <= 0 or not samples:
        return 0
    return flows * (1 - math.exp(-samples / flows))


def thread_shares(t0, t1, seconds):
    """[(tid, share of a core running, share waiting for one)] of the
    threads that ran, busiest first."""
    out = [(t, (t1[t][0] - t0.get(t, (0, 0))[0]) / seconds,
            (t1[t][1] - t0.get(t, (0, 0))[1]) / seconds) for t in t1]
    return sorted((x for x in out if x[1] >= 0.01), key=lambda x: -x[1])


def ingest_delta(h1, h0):
    if not h1 or not h0:
        return None
    return {k: h1["ingest"][k] - h0["ingest"][k] for k in
            ("datagrams", "samples", "kernelDrops")}


def run_fabmond(args, workdir):
    env_keep = {}
    for kv in args.env:
        k, _, v = kv.partition("=")
        env_keep[k] = os.environ.get(k)
        os.environ[k] = v
    try:
        fab = BigFabmond(args.fabmond, os.path.join(workdir, "fabmond"),
                         args.opt, store=True)
    finally:
        for k, v in env_keep.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    r = {"env": args.env, "opts": args.opt}
    bl = None
    mw = MemWatch(fab.proc.pid)
    try:
        fab.wait_ready()
        mw.start()
        r["rssStart"] = mw.read()[0]
        topo = fabric.topology(args.agents, args.ports, args.spines,
                               args.uplinks)
        r["topologyBytes"] = len(json.dumps(topo))
        t = time.monotonic()
        _, body = fab.request("PUT", "/topology/json", topo, timeout=120)
        r["topologyPutMs"] = (time.monotonic() - t) * 1000
        r["topologyPut"] = json.loads(body)
        log("topology PUT: %s in %.0f ms (%.1f MB)" % (
            json.dumps(r["topologyPut"]), r["topologyPutMs"],
            r["topologyBytes"] / 1e6))
        deadline = time.monotonic() + 60
        while True:
            h = fab.health()["topology"]
            if h["nodes"] >= args.agents and h["links"] > 0:
                break
            if time.monotonic() > deadline:
                raise Fail("the topology did not show in 60 s: %s" % h)
            time.sleep(0.5)
        # What the topology alone costs, once its first rebuilds are done.
        time.sleep(args.settle)
        r["rssTopology"], r["hwmTopology"] = mw.read()
        log("fabmond %d: VmRSS %s after the topology (idle), VmHWM %s" % (
            fab.proc.pid, mib(r["rssTopology"]), mib(r["hwmTopology"])))
        r["builtin"] = sorted(
            x["name"] for x in fab.health().get("flows", [])
            if x["name"].startswith(BUILTIN_PREFIX))
        for name, d in DEFS:
            fab.request("PUT", "/flow/%s/json" % name, d)
        defs = r["builtin"] + [n for n, _ in DEFS]
        deadline = time.monotonic() + 30
        while True:
            names = {f["name"] for f in fab.health().get("flows", [])}
            if set(defs) <= names:
                break
            if time.monotonic() > deadline:
                raise Fail("health does not show the definitions %s" %
                           sorted(set(defs) - names))
            time.sleep(0.5)
        r["definitions"] = sorted(names)
        h0 = fab.health()
        tt0, t_fill = thread_times(fab.proc.pid), time.monotonic()
        bl = subprocess.Popen(blast_cmd(args, fab.sport, args.rate * 3600),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
        log("blast --live: %d agents x %d ports, %d flows, %d datagrams/s; "
            "filling for %d s" % (args.agents, args.ports, args.flows,
                                  args.rate, args.fill))
        # fabmond's threads have no names: its ingest thread is the one
        # that works most in the first 2 s of traffic, before the tables
        # are big enough for the others to be busy.
        time.sleep(2)
        tt = thread_shares(tt0, thread_times(fab.proc.pid), 2)
        r["ingestTid"] = tt[0][0] if tt else None
        while time.monotonic() - t_fill < args.fill:
            time.sleep(min(5, args.fill - (time.monotonic() - t_fill)))
            if bl.poll() is not None:
                raise Fail("blast exited: %s" % bl.stderr.read())
            fab.alive()
            log("  %3.0f s: VmRSS %s, VmHWM %s" % (
                time.monotonic() - t_fill, mib(mw.rss), mib(mw.hwm)))
        tt1 = thread_times(fab.proc.pid)
        r["threadsFill"] = thread_shares(tt0, tt1,
                                         time.monotonic() - t_fill)
        r["threadNames"] = {str(t): n for t, n in
                            thread_names(fab.proc.pid).items()}
        r["rssFill"], r["hwmFill"] = mw.read()
        log("after the fill: VmRSS %s, VmHWM %s" % (mib(r["rssFill"]),
                                                   mib(r["hwmFill"])))
        # Under the same load: the push, then the queries.
        log("  /ws: subscribing to %s" % ", ".join(WS_TOPICS))
        r["ws"] = ws_measure(fab, args.pushes, args.ws_budget)
        hw = r["ws"].pop("health", None)
        r["flowsLoad"] = (hw or {}).get("flows", [])
        r["ingestLoad"] = ingest_delta(hw, h0)
        r["loadSeconds"] = r["ws"].get("healthAt", t_fill) - t_fill
        log("  /ws: lastPushUs median %s, max %s; %s" % (
            r["ws"]["pushUsMedian"], r["ws"]["pushUsMax"],
            ", ".join("%s %s B" % (t, s["median"])
                      for t, s in r["ws"]["sizes"].items())))
        r["queries"] = []
        paths = ["/api/v1/top",
                 "/activeflows/ALL/tcp5/json?maxFlows=100",
                 "/activeflows/ALL/fabmon_flows/json?maxFlows=100",
                 "/api/v1/links", "/api/v1/topology", "/api/v1/health"]
        for p in paths:
            q = timed_get(fab, p, args.queries, args.budget)
            r["queries"].append(q)
            log("  GET %s: median %s ms of %d, %s bytes%s" % (
                p, "-" if q["median"] is None else "%.1f" % q["median"],
                q["n"], q["bytes"], " (%d failed: %s)" % (
                    q["failed"], q["error"]) if q["failed"] else ""))
        r["blast"] = stop_blast(bl)
        bl = None
        t_stop = time.monotonic()
        r["seconds"] = t_stop - t_fill
        tt2 = thread_times(fab.proc.pid)
        it = r.get("ingestTid")
        if it in tt2:
            r["ingestCpu"] = tt2[it][0] - tt0.get(it, (0, 0))[0]
            r["ingestWait"] = tt2[it][1] - tt0.get(it, (0, 0))[1]
        # What was ingested in all, once the socket has drained: the
        # agents (all blast's, in a fabmond that started empty).
        time.sleep(1)
        got, gaps = agents_ingested(fab)
        if got is not None:
            r["ingest"] = {"datagrams": got,
                           "kernelDrops": r["blast"]["sent"] - got,
                           "seqLost": gaps}
        r["rssEnd"], r["hwmEnd"] = mw.read()
        r["rssMax"] = mw.max_rss
    finally:
        mw.stop.set()
        if bl is not None:
            try:
                stop_blast(bl)
            except Fail:
                pass
        fab.stop()
    return r


def run_peer(args, workdir, count):
    """sfacctd -> memory on the first `count` datagrams of the same
    blast."""
    env = peers.Env(os.path.join(workdir, "peer"), RCVBUF, None, None,
                    args.keep)
    os.makedirs(env.workdir, exist_ok=True)
    p = peers.SfacctdMemory(env)
    why = p.missing()
    if why:
        return {"missing": why}
    r = {"name": p.name, "setup": p.setup}
    old = set_rmem_max(RCVBUF)
    mw = None
    try:
        p.begin()
        mw = MemWatch(p.proc.pid, group=True)
        mw.start()
        t = time.monotonic()
        res = subprocess.run(blast_cmd(args, p.port, count),
                             capture_output=True, text=True)
        if res.returncode != 0:
            raise peers.PeerFail("blast: %s" % res.stderr.strip())
        r["blast"] = json.loads(res.stdout.strip().splitlines()[-1])
        p.idle(timeout=60)
        r["seconds"] = time.monotonic() - t
        r["rssFill"], r["hwmFill"] = mw.read()
        log("sfacctd: VmRSS %s after the datagrams" % mib(r["rssFill"]))
        pipe = os.path.join(p.dir, "pipe")
        ts = []
        t_end = time.monotonic() + args.budget
        for _ in range(args.queries):
            t = time.monotonic()
            q = subprocess.run([p.pmacct, "-p", pipe, "-s", "-T",
                                "bytes,100", "-O", "json"],
                               capture_output=True, text=True, timeout=120)
            ts.append((time.monotonic() - t) * 1000)
            r["topBytes"] = len(q.stdout)
            if time.monotonic() > t_end:
                break
        r["top"] = {"n": len(ts), "median": statistics.median(ts),
                    "min": min(ts), "max": max(ts)}
        log("  pmacct -s -T bytes,100: median %.0f ms of %d" % (
            r["top"]["median"], len(ts)))
        c = p.count(r["blast"])
        log("  it holds %d entries" % c["stored"]["entries"])
        r["entries"] = c["stored"]["entries"]
        r["packets"] = c["stored"]["packets"]
        r["lost"] = c["lost"]
        r["notes"] = c["notes"]
        r["rssEnd"], r["hwmEnd"] = mw.read()
        r["rssMax"] = mw.max_rss
    except (peers.PeerFail, subprocess.TimeoutExpired) as e:
        r["error"] = str(e)[:500]
    finally:
        if mw is not None:
            mw.stop.set()
        p.end()
        restore_rmem_max(old)
    return r


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "-"
    return "%.2f" % (a / b)


def table_rows(flows):
    out = []
    for x in flows:
        kind = "built-in" if x["name"].startswith(BUILTIN_PREFIX) else \
            "trace" if x["name"].startswith("trace-") else "user"
        out.append((kind != "built-in", x["name"], kind, x))
    return [(n, k, x) for _, n, k, x in sorted(out)]


def print_report(args, f, peer, load, out):
    w = out.write
    topo = f.get("topologyPut", {})
    w("scale: %d switches x %d ports (%d spines, %d leaves with %d uplinks;"
      " %s nodes, %s links imported), %d flows from blast --live at %d "
      "datagrams/s: %d s of fill, then measured under the same load (%.0f "
      "s of traffic in all)\n" % (
          args.agents, args.ports, args.spines, args.agents - args.spines,
          args.uplinks, topo.get("nodes"), topo.get("links"), args.flows,
          args.rate, args.fill, f.get("seconds", 0)))
    b = f.get("blast", {})
    ing = f.get("ingest") or {}
    fs_sent = b.get("flowSamples", 0)
    w("traffic: blast sent %s datagrams (%s flow samples: about %.0f "
      "distinct flows); fabmond ingested %s (its agents' sFlowDatagrams"
      "Received), %s (%.0f%%) never reached it (its agents counted %s "
      "sequence gaps: the kernel dropped them)\n" % (
          b.get("sent"), fs_sent, distinct(args.flows, fs_sent),
          ing.get("datagrams", "?"), ing.get("kernelDrops", "?"),
          100.0 * ing.get("kernelDrops", 0) / max(1, b.get("sent", 1)),
          ing.get("seqLost", "?")))
    if f.get("ingestCpu") and ing.get("datagrams"):
        per = ing["datagrams"] / f["ingestCpu"]
        w("ingest thread: %.1f s on a CPU and %.1f s waiting for one over "
          "the %.0f s of load: %.0f datagrams per CPU-second at this size, "
          "so %d datagrams/s need %.0f%% of a core\n" % (
              f["ingestCpu"], f.get("ingestWait", 0), f["seconds"], per,
              args.rate, 100.0 * args.rate / per))
    if f.get("env") or f.get("opts"):
        w("fabmond run with: %s\n" % " ".join(
            f.get("env", []) + ["-o %s" % o for o in f.get("opts", [])]))
    pn = "sfacctd -> memory"
    has_peer = peer is not None and "error" not in peer and \
        "missing" not in peer
    pr = peer if has_peer else {}
    w("\n%-50s | %-22s | %-22s | %-12s | %s\n" % (
        "measure", "fabmond", pn, "fabmond/peer", "notes"))

    def row(name, mine, theirs, rat, note=""):
        w("%-50s | %-22s | %-22s | %-12s | %s\n" % (name, mine, theirs, rat,
                                                     note))

    row("VmRSS idle, after the topology PUT", mib(f.get("rssTopology")),
        "-", "-", "no peer: sfacctd has no topology; %.0f%% of the 512 MiB "
        "budget" % (100.0 * f.get("rssTopology", 0) / BUDGET))
    row("VmRSS after the fill (%d s, %d datagrams sent)" % (
        args.fill, args.fill * args.rate), mib(f.get("rssFill")),
        mib(pr.get("rssFill")), ratio(f.get("rssFill"), pr.get("rssFill")),
        "the peer on the same datagrams, all its processes")
    row("VmRSS at the end", mib(f.get("rssEnd")), mib(pr.get("rssEnd")),
        ratio(f.get("rssEnd"), pr.get("rssEnd")),
        "fabmond: after the queries and the push, under load")
    row("VmHWM (peak)", mib(f.get("hwmEnd")), mib(pr.get("hwmEnd")),
        ratio(f.get("hwmEnd"), pr.get("hwmEnd")),
        "peer: the sum of its processes' peaks")
    row("VmHWM / the 512 MiB budget", ratio(f.get("hwmEnd"), BUDGET), "-",
        "-", "OVER BUDGET" if f.get("hwmEnd", 0) > BUDGET else
        "within budget")
    fl = f.get("flowsLoad") or []
    row("flow table entries held", "%d" % sum(x["entries"] for x in fl),
        "%s" % pr.get("entries", "-"), "-",
        "fabmond: %d tables of at most 200,000 each (under load); "
        "sfacctd: one table, unbounded" % len(fl))
    ptop = pr.get("top")
    for q in f.get("queries", []):
        med = "-" if q["median"] is None else "%.1f ms" % q["median"]
        mine = "%s (%s B)" % (med, q["bytes"]) if q["bytes"] else med
        note = "median of %d, max %s ms" % (
            q["n"], "-" if q["max"] is None else "%.0f" % q["max"])
        if q["failed"]:
            note += "; %d FAILED (after %.0f ms, median): %s" % (
                q["failed"], statistics.median(q["failedMs"]), q["error"])
        theirs, rat = "-", "-"
        if q["path"].startswith("/activeflows") or \
                q["path"] == "/api/v1/top":
            if ptop:
                theirs = "%.1f ms" % ptop["median"]
                rat = ratio(q["median"], ptop["median"])
                note += "; peer: pmacct -s -T bytes,100 (its top 100 " \
                        "flows), median of %d" % ptop["n"]
                if q["path"] == "/api/v1/top":
                    note += " (the closest it has: /api/v1/top also " \
                            "sums talkers, stacks, ports, elephants)"
        else:
            note += "; no peer: pmacct keeps no topology, link state or " \
                    "health of this kind"
        row("GET " + q["path"], mine, theirs, rat, note)
    ws = f.get("ws", {})
    lp = ws.get("linksPeriodsMs") or []
    n_links = ws.get("sizes", {}).get("links", {}).get("n", 0)
    row("/ws push build (health.ws.lastPushUs)",
        "-" if ws.get("pushUsMedian") is None else
        "%.1f ms" % (ws["pushUsMedian"] / 1000), "-", "-",
        "median of %d pushes, max %s ms; %d more links frames in the "
        "%.0f s after the first, %s ms apart (median: the push period, "
        "its build included)%s; no peer: pmacct has no push" % (
            len(ws.get("lastPushUs", [])),
            "-" if ws.get("pushUsMax") is None else
            "%.1f" % (ws["pushUsMax"] / 1000), max(0, n_links - 1),
            ws.get("budget", 0),
            "%.0f" % statistics.median(lp) if lp else "-",
            "" if ws.get("lastPushUs") else
            "; no second health frame came in that time: a push took "
            "longer"))
    for t, s in ws.get("sizes", {}).items():
        row("/ws frame: %s" % t,
            "-" if s["median"] is None else "%.0f B" % s["median"], "-",
            "-", "%d frames, max %s B, the first %s s after subscribing%s" % (
                s["n"], s["max"],
                "%.2f" % ws["firstFrameS"][t] if t in ws.get("firstFrameS",
                                                             {}) else "-",
                " (sent on subscribing and when the topology changes)"
                if t == "fabric" else ""))
    if ws.get("error"):
        w("/ws error: %s\n" % ws["error"])
    if peer is not None and "missing" in peer:
        w("peer not measured: %s\n" % peer["missing"])
    elif peer is not None and "error" in peer:
        w("peer failed: %s\n" % peer["error"])
    elif has_peer:
        w("peer: %s; %s; blast sent it %d datagrams (%d flow samples); it "
          "stored %d packets (%d lost inside it)%s\n" % (
              pn, peer["setup"], peer["blast"]["sent"],
              peer["blast"]["flowSamples"], peer["packets"], peer["lost"],
              "; " + "; ".join(peer["notes"]) if peer["notes"] else ""))
    # The flow tables, from the last health frame under load.
    il = f.get("ingestLoad") or {}
    w("\nflow tables under load (the /ws health frame %.0f s after the "
      "load began; by then fabmond had ingested %s datagrams, %s "
      "dropped by the kernel):\n" % (f.get("loadSeconds", 0),
                                     il.get("datagrams", "?"),
                                     il.get("kernelDrops", "?")))
    w("%-14s | %-8s | %8s | %10s | %10s | %8s | %10s | %9s | %8s\n" % (
        "definition", "kind", "entries", "maxEntries", "evictions",
        "expired", "matched", "keyless", "memBytes"))
    for name, kind, x in table_rows(fl):
        w("%-14s | %-8s | %8d | %10d | %10d | %8d | %10d | %9d | %8s\n" % (
            name, kind, x["entries"], x["maxEntries"], x["evictions"],
            x["expired"], x["matched"], x["keyless"], mib(x["memBytes"])))
    tot = sum(x["memBytes"] for x in fl)
    pairs = next((x for x in fl if x["name"] == "pairs"), None)
    w("built-in: %s; traces (trace-ID, one per live trace): none. The "
      "tables' memBytes add up to %s (VmRSS %s at the end). The engine saw "
      "%s flow samples: about %s distinct flows (of %d)\n" % (
          ", ".join(f.get("builtin", [])) or "none", mib(tot),
          mib(f.get("rssEnd")), pairs["matched"] if pairs else "?",
          "%.0f" % distinct(args.flows, pairs["matched"]) if pairs else "?",
          args.flows))
    thr = f.get("threadsFill", [])
    if thr:
        w("fabmond's threads during the fill (share of a core running / "
          "waiting for a CPU): %s\n" % ", ".join(
              "%s %.0f%%/%.0f%%" % (
                  f.get("threadNames", {}).get(str(t)) or (
                      ("ingest " if t == f.get("ingestTid") else "") +
                      str(t)), 100 * c,
                  100 * wt) for t, c, wt in thr[:5]))
    if load:
        w("machine: %d CPUs, %.0f%% busy during the run, %.0f%% of it by "
          "other processes (load average %.1f at the end)%s\n" % (
              load["cpus"], 100 * load["busy"], 100 * load["others"],
              load["loadavg"], "; the numbers above are disturbed"
              if load["others"] > 0.1 else ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fabmond", required=True)
    ap.add_argument("--blast", required=True)
    ap.add_argument("--agents", type=int, default=1000)
    ap.add_argument("--ports", type=int, default=64)
    ap.add_argument("--spines", type=int, default=60)
    ap.add_argument("--uplinks", type=int, default=4)
    ap.add_argument("--flows", type=int, default=1000000)
    ap.add_argument("--rate", type=int, default=20000,
                    help="datagrams/s (default 20000)")
    ap.add_argument("--fill", type=int, default=30,
                    help="seconds of traffic before measuring")
    ap.add_argument("--settle", type=float, default=3,
                    help="seconds idle after the topology PUT")
    ap.add_argument("--queries", type=int, default=20)
    ap.add_argument("--pushes", type=int, default=10)
    ap.add_argument("--budget", type=float, default=8,
                    help="seconds at most per endpoint's queries, and for "
                    "the pushes")
    ap.add_argument("--ws-budget", type=float, default=30,
                    help="seconds at most for the pushes after the first "
                    "frames")
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("-o", dest="opt", action="append", default=[],
                    metavar="K=V", help="a fabmond option (-o K=V)")
    ap.add_argument("--env", action="append", default=[], metavar="K=V",
                    help="fabmond's environment, e.g. MALLOC_ARENA_MAX=2")
    args = ap.parse_args()
    for exe in (args.fabmond, args.blast):
        if not os.access(exe, os.X_OK):
            print("scale: %s: not an executable" % exe, file=sys.stderr)
            return 1
    set_subreaper()
    workdir = tempfile.mkdtemp(prefix="fabmon-scale.")
    t0 = time.monotonic()
    machine = MachineLoad()
    peer = None
    try:
        f = run_fabmond(args, workdir)
        if not args.no_peer:
            n = args.fill * args.rate
            log("the peer: sfacctd -> memory on the first %d of the same "
                "datagrams" % n)
            peer = run_peer(args, workdir, n)
    except Fail as e:
        print("scale: %s" % e, file=sys.stderr)
        return 1
    finally:
        if args.keep:
            log("work directory kept: %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    load = machine.result()
    if args.json:
        print(json.dumps({"fabmond": f, "peer": peer, "machine": load,
                          "seconds": round(time.monotonic() - t0, 1)}))
    else:
        print_report(args, f, peer, load, sys.stdout)
        print("%.0f s in all" % (time.monotonic() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
