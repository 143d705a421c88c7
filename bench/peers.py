"""peers.py: the collectors that lossless.py measures next to fabmond, on
the same datagrams (the same blast, seed and profile), each started afresh
for every trial on a free loopback port with a 16 MiB receive buffer:

- recvcount: bench/recvcount.c, a bare recvmmsg loop that counts
  datagrams and bytes. Stored = what it counted: datagrams == sent and
  bytes == the bytes blast sent.
- sfcapd (nfdump): writes one nfdump record per flow sample it decodes
  (it does not aggregate: checked, one record per sample, with packets =
  the sampling rate). Stored = the records in its files once it has
  exited (`nfdump -R DIR -A proto`): records == flow samples sent and
  packets == flow samples x 1000. It ignores counter samples.
- sfacctd (pmacct) with the memory plugin, aggregating on the 5-tuple
  (src_host, dst_host, proto, src_port, dst_port). Without
  sfacctd_renormalize (off by default) a flow sample counts 1 packet.
  Stored = the sum of packets in the table (`pmacct -s`) == flow samples
  sent.
- sfacctd with the sqlite3 plugin, the same aggregate, into a v1 table
  (sql_refresh_time 5, no sql_history). Stored = sum(packets) in the
  table once every writer has finished and the plugin, stopped with
  SIGINT, has written its last cache == flow samples sent. Its trials
  send for 5 s, so that each has one of pmacct's periodic purges.

pmacct's core process drains the socket at once and queues each sample to
the plugin in a ring: plugin_pipe_size is 16 MiB too, as the socket's
buffer (the default, 4 MB, lost samples at 10,000 datagrams/s). The
plugin_buffer_size is pmacct's default (none: each sample goes to the
plugin as it comes). With a buffer, the last partly filled one stays in the core until more
traffic comes, which at the end of a trial it never does: 256 of 5,560
samples were still missing 7 s after a 1,000-datagram burst.

Each peer is a process group of its own (its plugins and writers are in
it); it is stopped by signalling that group. sflowtool is not packaged in
Debian and is not measured.

Python 3 standard library only.
"""

import json
import os
import select
import shutil
import signal
import socket
import sqlite3
import subprocess
import time

from benchutil import (free_port, group_pids, group_thread_times,
                       udp_rcvbuf, udp_socket_stats)

# bench/gen.h's GEN_SAMPLING_RATE: what sfcapd multiplies packets by.
SAMPLING_RATE = 1000
AGGREGATE = "src_host,dst_host,proto,src_port,dst_port"

# /usr/share/doc/pmacct/sql/pmacct-create-table_v1.sqlite3 (Debian may
# leave out /usr/share/doc): the table sql_table_version 1 writes.
PMACCT_V1 = """
CREATE TABLE acct (
    mac_src CHAR(17) NOT NULL DEFAULT '0:0:0:0:0:0',
    mac_dst CHAR(17) NOT NULL DEFAULT '0:0:0:0:0:0',
    ip_src CHAR(45) NOT NULL DEFAULT '0.0.0.0',
    ip_dst CHAR(45) NOT NULL DEFAULT '0.0.0.0',
    src_port INT(4) NOT NULL DEFAULT 0,
    dst_port INT(4) NOT NULL DEFAULT 0,
    ip_proto CHAR(6) NOT NULL DEFAULT 0,
    packets INT NOT NULL,
    bytes BIGINT NOT NULL,
    stamp_inserted DATETIME NOT NULL DEFAULT '0000-00-00 00:00:00',
    stamp_updated DATETIME,
    PRIMARY KEY (mac_src, mac_dst, ip_src, ip_dst, src_port, dst_port,
                 ip_proto, stamp_inserted)
);
"""


class PeerFail(Exception):
    """This peer cannot be measured: it did not start, died, or its
    store could not be read. The other rows go on."""


class Env:
    """What every peer needs: a work directory, the receive buffer to ask
    for, and how to pin the collector (a preexec_fn, or None)."""

    def __init__(self, workdir, rcvbuf, preexec=None, recvcount=None,
                 keep=False):
        self.workdir = workdir
        self.keep = keep
        self.rcvbuf = rcvbuf
        self.preexec = preexec
        self.recvcount = recvcount


class Peer:
    """A collector started afresh for each trial. lossless.py calls
    begin(), sends, waits until the socket is empty, then settle(res),
    count(res) and end()."""

    key = ""
    name = ""
    exe = ""
    setup = ""   # how it is configured, for the table's notes
    # How long a trial sends, when it must not be the usual 2.5 s.
    trial_seconds = None
    # What end() sends first. sfacctd's core process does not exit on
    # SIGTERM (it logs "Exiting" and goes back to recvfrom), and by then
    # its counts have been read: it is killed.
    stop_signal = signal.SIGTERM

    def __init__(self, env):
        self.env = env
        self.proc = None
        self.port = None
        self.dir = None
        self.logf = None
        self.trials = 0
        self.state = os.path.join(env.workdir, "blast.%s.state" % self.key)
        self.counts = {}

    def missing(self):
        """Why this peer cannot run here, or None."""
        if not (os.path.isfile(self.exe) and os.access(self.exe, os.X_OK)):
            return "%s not installed" % self.exe
        return None

    def command(self):
        raise NotImplementedError

    def begin(self):
        self.trials += 1
        self.dir = os.path.join(self.env.workdir,
                                "%s.%d" % (self.key, self.trials))
        os.makedirs(self.dir)
        self.port = free_port(socket.SOCK_DGRAM)
        self.prepare()
        self.logpath = os.path.join(self.dir, "log")
        self.logf = open(self.logpath, "w")
        self.proc = subprocess.Popen(
            self.command(), stdout=self.stdout(), stderr=self.logf,
            cwd=self.dir, start_new_session=True,
            preexec_fn=self.env.preexec)
        deadline = time.monotonic() + 10
        while not self.ready():
            if self.proc.poll() is not None:
                raise PeerFail("%s exited with %d at start%s" % (
                    self.name, self.proc.returncode, self.log_tail()))
            if time.monotonic() > deadline:
                raise PeerFail("%s did not bind 127.0.0.1:%d in 10 s%s" % (
                    self.name, self.port, self.log_tail()))
            time.sleep(0.01)
        self.kernel_rcvbuf = udp_rcvbuf(self.port)

    def prepare(self):
        pass

    def stdout(self):
        return self.logf

    def ready(self):
        return udp_socket_stats(self.port) is not None

    def alive(self):
        if self.proc is None or self.proc.poll() is not None:
            raise PeerFail("%s exited with %s%s" % (
                self.name, self.proc.returncode if self.proc else "?",
                self.log_tail()))

    def threads(self):
        return group_thread_times(self.proc.pid) if self.proc else {}

    def idle(self, quiet=0.3, timeout=15):
        """Until the group's CPU time has not moved for `quiet` seconds:
        what it received is processed."""
        deadline = time.monotonic() + timeout
        last = None
        since = time.monotonic()
        while time.monotonic() < deadline:
            self.alive()
            t = sum(r for r, _ in self.threads().values())
            now = time.monotonic()
            if last is None or t - last > 0.002:
                last, since = t, now
            elif now - since >= quiet:
                return
            time.sleep(0.05)

    def settle(self, res):
        self.idle()

    def count(self, res):
        """{"checks": {name: ok}, "stored": {...}, "lost": n, "notes": []}:
        what the peer stored against what blast sent."""
        raise NotImplementedError

    @staticmethod
    def reap(pids):
        """Waits for those of pids that are our children and have exited:
        a peer's plugins and writers, orphaned when its main process
        died, are ours (set_subreaper())."""
        for pid in pids:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass

    def log_tail(self):
        try:
            self.logf.flush()
            with open(self.logpath) as f:
                tail = f.read()[-1500:]
        except (OSError, AttributeError, ValueError):
            return ""
        return ("\n--- %s log ---\n" % self.name) + tail if tail else ""

    def log_text(self):
        try:
            self.logf.flush()
            with open(self.logpath, errors="replace") as f:
                return f.read()
        except (OSError, ValueError):
            return ""

    def end(self):
        """Stops the peer's whole process group and waits for it."""
        if self.proc is None:
            return
        pg = self.proc.pid
        seen = set(group_pids(pg))
        for sig, wait in ((self.stop_signal, 3), (signal.SIGKILL, 5)):
            try:
                os.killpg(pg, sig)
            except ProcessLookupError:
                break
            t = time.monotonic() + wait
            while time.monotonic() < t:
                seen.update(group_pids(pg))
                self.reap(seen - {pg})
                if self.proc.poll() is not None and not group_pids(pg):
                    break
                time.sleep(0.01)
            if self.proc.poll() is not None and not group_pids(pg):
                break
        self.proc.wait()
        self.reap(seen - {pg})
        self.proc = None
        if self.logf:
            self.logf.close()
            self.logf = None
        if not self.env.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def exact(name, stored, want):
    """Two checks: nothing lost (stored >= want) and nothing counted twice
    (stored <= want); a trial is lossless only when both hold."""
    return {name + " lost": stored >= want, name + " duplicated":
            stored <= want}


class RecvCount(Peer):
    key = "recvcount"
    name = "recvmmsg counter"

    def __init__(self, env):
        super().__init__(env)
        self.exe = env.recvcount or ""
        self.setup = ("bench/recvcount.c: recvmmsg, 64 a call; "
                      "SO_RCVBUFFORCE")

    def missing(self):
        if not self.exe:
            return "bench/recvcount.c did not compile"
        return super().missing()

    def command(self):
        return [self.exe, "--port", str(self.port),
                "--rcvbuf", str(self.env.rcvbuf)]

    def stdout(self):
        return subprocess.PIPE

    def begin(self):
        self.line = b""
        super().begin()
        self.first = self.readline(5)

    def readline(self, timeout):
        """The next line recvcount prints, as JSON."""
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.line:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise PeerFail("recvcount printed nothing in %d s" % timeout)
            chunk = os.read(fd, 4096)
            if not chunk:
                raise PeerFail("recvcount exited%s" % self.log_tail())
            self.line += chunk
        line, self.line = self.line.split(b"\n", 1)
        return json.loads(line)

    def query(self):
        self.alive()
        self.proc.send_signal(signal.SIGUSR1)
        return self.readline(5)

    def settle(self, res):
        deadline = time.monotonic() + 15
        last, since = None, time.monotonic()
        while True:
            c = self.query()
            now = time.monotonic()
            if c["datagrams"] >= res["sent"]:
                break
            if last != c["datagrams"]:
                last, since = c["datagrams"], now
            elif now - since > 0.5 or now > deadline:
                break
            time.sleep(0.05)
        self.counts = c

    def count(self, res):
        c = self.counts
        checks = exact("datagrams", c["datagrams"], res["sent"])
        checks["bytes"] = c["bytes"] == res["bytes"]
        checks["errors"] = c["truncated"] == 0 and c["recvErrors"] == 0
        return {"checks": checks, "stored": c,
                "lost": res["sent"] - c["datagrams"], "notes": []}

    def end(self):
        if self.proc is not None and self.proc.stdout:
            self.proc.stdout.close()
        super().end()


class Sfcapd(Peer):
    key = "sfcapd"
    name = "sfcapd (nfdump)"
    exe = "/usr/bin/sfcapd"
    nfdump = "/usr/bin/nfdump"

    def __init__(self, env):
        super().__init__(env)
        self.setup = ("-B %d -t 60, files in a fresh directory; stored = "
                      "nfdump records" % env.rcvbuf)

    def missing(self):
        for exe in (self.exe, self.nfdump):
            if not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
                return "%s not installed (make deps: nfdump-sflow)" % exe
        return None

    def prepare(self):
        self.flows = os.path.join(self.dir, "flows")
        os.makedirs(self.flows)

    def command(self):
        # -t 60: no rotation within a trial (a minute boundary may still
        # split the records into two files; nfdump -R reads them all).
        return [self.exe, "-w", self.flows, "-b", "127.0.0.1",
                "-p", str(self.port), "-B", str(self.env.rcvbuf),
                "-t", "60", "-I", "bench"]

    def count(self, res):
        # Its records reach the file when it closes it: at exit.
        self.alive()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            raise PeerFail("sfcapd did not exit in 15 s after SIGTERM")
        names = os.listdir(self.flows)
        flows = packets = 0
        if names:
            p = subprocess.run(
                [self.nfdump, "-R", self.flows, "-N", "-q", "-A", "proto",
                 "-o", "fmt:%fl %pkt"], capture_output=True, text=True,
                timeout=120)
            if p.returncode != 0:
                raise PeerFail("nfdump -R: %s" % p.stderr.strip()[-500:])
            for line in p.stdout.splitlines():
                f = line.split()
                if len(f) == 2 and f[0].isdigit() and f[1].isdigit():
                    flows += int(f[0])
                    packets += int(f[1])
        fs = res["flowSamples"]
        checks = exact("records", flows, fs)
        checks["packets"] = packets == fs * SAMPLING_RATE
        notes = []
        # Its own count at exit: "Ident: 'bench' Flows: N, Packets: ...,
        # Sequence Errors: S, Bad Packets: B".
        log = self.log_text()
        i = log.rfind("Flows:")
        if i >= 0:
            own = log[i:log.find("\n", i)].strip()
            stored = {"records": flows, "packets": packets, "own": own}
        else:
            stored = {"records": flows, "packets": packets}
        return {"checks": checks, "stored": stored, "lost": fs - flows,
                "notes": notes}


class Sfacctd(Peer):
    """sfacctd with one plugin; the subclasses choose it."""
    exe = "/usr/sbin/sfacctd"
    stop_signal = signal.SIGKILL
    plugin = ""    # its name in the configuration
    listed = ""    # and in `sfacctd -V`'s "Plugins:"

    def missing(self):
        m = super().missing()
        if m:
            return m + " (make deps: pmacct)"
        try:
            v = subprocess.run([self.exe, "-V"], capture_output=True,
                               text=True, timeout=10).stdout
        except (OSError, subprocess.TimeoutExpired) as e:
            return "%s -V: %s" % (self.exe, e)
        plugins = v.split("Plugins:")[-1].split("System:")[0].split()
        if self.listed not in plugins:
            return "this sfacctd has no %s plugin (Plugins: %s)" % (
                self.listed, " ".join(plugins))
        return None

    def conf(self):
        # The core process drains the socket at once and queues each
        # sample to the plugin through a ring of plugin_pipe_size bytes:
        # that ring, not the socket, is pmacct's buffer, so it gets the
        # same 16 MiB (the default 4 MB lost samples at 10,000
        # datagrams/s whenever the plugin was not scheduled for a moment).
        # plugin_buffer_size is left unset (pmacct's default: each sample
        # goes to the plugin as it comes). With a buffer, the last partly
        # filled one stays in the core process until more traffic comes,
        # which at the end of a trial it never does.
        return ("daemonize: false\n"
                "sfacctd_ip: 127.0.0.1\n"
                "sfacctd_port: %d\n"
                "sfacctd_pipe_size: %d\n"
                "sfacctd_renormalize: false\n"
                "plugins: %s\n"
                "plugin_pipe_size: %d\n"
                "aggregate: %s\n" % (self.port, self.env.rcvbuf,
                                     self.plugin, self.env.rcvbuf,
                                     AGGREGATE))

    def prepare(self):
        self.confpath = os.path.join(self.dir, "sfacctd.conf")
        with open(self.confpath, "w") as f:
            f.write(self.conf())

    def command(self):
        return [self.exe, "-f", self.confpath]

    def pmacct_notes(self):
        """What pmacct logged about losing data inside: its core hands
        each sample to the plugin through a ring (plugin_pipe_size) and a
        control socket; when the plugin falls behind, the core's write
        fails (EAGAIN) and the sample is dropped, or the plugin finds its
        place in the ring overwritten ("Missing data detected")."""
        log = self.log_text()
        notes = []
        for what, text in (("Failed during write", "core to plugin "
                            "write failed"),
                           ("Missing data detected", "'Missing data "
                            "detected'")):
            n = log.count(what)
            if n:
                notes.append("pmacct: %s x%d" % (text, n))
        return notes


class SfacctdMemory(Sfacctd):
    key = "sfacctd-memory"
    name = "sfacctd -> memory"
    plugin = listed = "memory"
    pmacct = "/usr/bin/pmacct"

    def __init__(self, env):
        super().__init__(env)
        self.setup = ("memory plugin, aggregate 5-tuple, "
                      "sfacctd_pipe_size and plugin_pipe_size %d" %
                      env.rcvbuf)

    def missing(self):
        m = super().missing()
        if m is None and not os.access(self.pmacct, os.X_OK):
            m = "%s (the memory plugin's client) not installed" % self.pmacct
        return m

    def conf(self):
        # The table may grow to 1 GiB: the default (16 pools of 8 KiB)
        # fills after a few thousand flows and then drops what does not
        # fit ("Unable to allocate more memory pools").
        return super().conf() + (
            "imt_path: %s\n"
            "imt_buckets: 65537\n"
            "imt_mem_pools_number: 1024\n"
            "imt_mem_pools_size: 1048576\n" % os.path.join(self.dir, "pipe"))

    def ready(self):
        return super().ready() and os.path.exists(
            os.path.join(self.dir, "pipe"))

    def count(self, res):
        self.alive()
        p = subprocess.run([self.pmacct, "-p", os.path.join(self.dir, "pipe"),
                            "-s", "-O", "csv"], capture_output=True,
                           text=True, timeout=120)
        lines = p.stdout.splitlines()
        if p.returncode != 0 or not lines or "PACKETS" not in lines[0]:
            raise PeerFail("pmacct -s: %s" % (p.stderr or p.stdout)[-500:])
        head = lines[0].split(",")
        i = head.index("PACKETS")
        packets = entries = 0
        for line in lines[1:]:
            f = line.split(",")
            if len(f) == len(head):
                packets += int(f[i])
                entries += 1
        fs = res["flowSamples"]
        notes = self.pmacct_notes()
        if "Unable to allocate more memory pools" in self.log_text():
            notes.append("pmacct: the memory table was full x1")
        return {"checks": exact("packets", packets, fs),
                "stored": {"packets": packets, "entries": entries},
                "lost": fs - packets, "notes": notes}


class SfacctdSqlite(Sfacctd):
    key = "sfacctd-sqlite3"
    name = "sfacctd -> sqlite3"
    plugin = "sqlite3"
    listed = "sqlite"
    # Short, but longer than a writer takes to write blast's 95,000 flows
    # (about 2.5 s here): pmacct forks a writer at each refresh, and
    # sqlite3 writers that overlap fail ("database is locked") and lose
    # their rows; with 1 s they overlap even at 10,000 datagrams/s.
    refresh = 5
    # Purges come at wall-clock multiples of the refresh time: a trial
    # that sends for exactly that long has exactly one, as the same time
    # of steady traffic would (a 2.5 s trial has none or one, by chance).
    trial_seconds = refresh
    # A prime, and more than the 95,000 flows of blast's profile: when the
    # cache fills before the refresh time ("Finished cache entries"),
    # pmacct purges at once, and that writer and the one due at the
    # refresh collide on the database ("database is locked"): rows lost.
    cache_entries = 196613

    def __init__(self, env):
        super().__init__(env)
        self.setup = ("sqlite3 plugin, aggregate 5-tuple, table v1, "
                      "sql_refresh_time %d, no sql_history, "
                      "sfacctd_pipe_size and plugin_pipe_size %d; trials "
                      "of %d s" % (self.refresh, env.rcvbuf,
                                   self.trial_seconds))

    def prepare(self):
        self.db = os.path.join(self.dir, "pmacct.db")
        c = sqlite3.connect(self.db)
        c.executescript(PMACCT_V1)
        c.close()
        super().prepare()

    def conf(self):
        return super().conf() + (
            "sql_db: %s\n"
            "sql_table_version: 1\n"
            "sql_refresh_time: %d\n"
            "sql_cache_entries: %d\n" % (self.db, self.refresh,
                                          self.cache_entries))

    def settle(self, res):
        """Until everything received is written: once the core and the
        plugin are idle and no periodic writer is left, SIGINT makes the
        plugin purge its cache into the table and exit (pmacct's graceful
        stop), so that the last refresh period is written too."""
        self.idle()
        pg = self.proc.pid
        deadline = time.monotonic() + 30
        while len(group_pids(pg)) > 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        plugin = [p for p in group_pids(pg) if p != pg]
        if len(plugin) != 1:
            raise PeerFail("sfacctd: expected one plugin process, found %s%s"
                           % (plugin, self.log_tail()))
        os.kill(plugin[0], signal.SIGINT)
        deadline = time.monotonic() + 60
        while plugin[0] in group_pids(pg):
            if time.monotonic() > deadline:
                raise PeerFail("the sqlite3 plugin did not finish its last "
                               "purge in 60 s")
            self.reap(plugin)
            time.sleep(0.05)
        self.reap(plugin)

    def count(self, res):
        try:
            # immutable: no lock, so that this read can never make a
            # pmacct writer fail (they are all done: settle()).
            c = sqlite3.connect("file:%s?immutable=1" % self.db, uri=True)
            rows, packets = c.execute(
                "SELECT count(*), coalesce(sum(packets), 0) FROM acct"
            ).fetchone()
            c.close()
        except sqlite3.Error as e:
            raise PeerFail("reading %s: %s" % (self.db, e))
        fs = res["flowSamples"]
        notes = self.pmacct_notes()
        errs = self.log_text().count("database is locked")
        if errs:
            notes.append("pmacct: 'database is locked' (writers "
                         "overlapped) x%d" % errs)
        return {"checks": exact("packets", packets, fs),
                "stored": {"packets": packets, "rows": rows},
                "lost": fs - packets, "notes": notes}


def all_peers(env):
    return [RecvCount(env), Sfcapd(env), SfacctdMemory(env),
            SfacctdSqlite(env)]
