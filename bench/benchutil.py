"""benchutil.py: what lossless.py, peers.py, scale.py and latency.py read
from the system: free ports, a UDP socket's queue and drops, the kernel's
receive-buffer errors, the CPU time of every thread of a process group,
the memory of a process (VmRSS, VmHWM); and a websocket client for
fabmond's /ws. Linux only, Python 3 standard library only."""

import os
import re
import socket
import subprocess
import sys


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


def udp_rcvbuf(port):
    """The receive buffer the kernel gave the 127.0.0.1:port socket (what
    SO_RCVBUF reads back: twice what was asked for), from `ss -m`; None
    when ss is missing or the socket is not there."""
    try:
        out = subprocess.run(
            ["ss", "-H", "-u", "-a", "-n", "-m", "sport = :%d" % port],
            capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"\brb(\d+)", out)
    return int(m.group(1)) if m else None


def rcvbuf_errors():
    with open("/proc/net/snmp") as f:
        rows = [l.split() for l in f if l.startswith("Udp:")]
    return int(rows[1][rows[0].index("RcvbufErrors")])


def task_files(pid, name):
    """{tid: the text of /proc/PID/task/TID/<name>} for every thread of
    pid; {} once the process is gone."""
    out = {}
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/%s" % (pid, tid, name)) as f:
                out[int(tid)] = f.read()
    except (FileNotFoundError, ProcessLookupError):
        pass
    return out


def thread_times(pid):
    """{tid: (seconds on a CPU, seconds runnable but waiting for one)} of
    every thread of pid (/proc/PID/task/TID/schedstat)."""
    out = {}
    for tid, text in task_files(pid, "schedstat").items():
        run, wait = text.split()[:2]
        out[tid] = (int(run) / 1e9, int(wait) / 1e9)
    return out


def thread_names(pid):
    """{tid: name} of every thread of pid (/proc/PID/task/TID/comm:
    fabmond names its threads fab-ingest, fab-store, ...)."""
    return {tid: text.strip()
            for tid, text in task_files(pid, "comm").items()}


def group_pids(pgid):
    """The live processes in process group pgid (a peer and its
    children); zombies are left out."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        # The command may hold spaces and parentheses: fields follow the
        # last ')'. pgrp is the 3rd of them (state, ppid, pgrp).
        rest = st[st.rfind(")") + 2:].split()
        if len(rest) > 2 and int(rest[2]) == pgid and rest[0] != "Z":
            out.append(int(d))
    return out


def group_thread_times(pgid):
    """thread_times() of every process of the group, in one dict."""
    out = {}
    for pid in group_pids(pgid):
        out.update(thread_times(pid))
    return out


def busiest(t0, t1, skip=()):
    """(run, wait) seconds of the thread that ran most between two
    thread_times() readings, leaving out the tids in skip."""
    return max(((t1[t][0] - t0.get(t, (0, 0))[0],
                 t1[t][1] - t0.get(t, (0, 0))[1])
                for t in t1 if t not in skip), default=(0, 0))


def set_subreaper():
    """Makes this process the parent of its orphaned descendants (prctl
    PR_SET_CHILD_SUBREAPER), so that a peer's plugin processes, orphaned
    when the peer's main process is killed, can be waited for here
    rather than left as zombies. Returns whether it worked."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def proc_mem(pid):
    """(VmRSS, VmHWM) of pid in bytes, from /proc/PID/status; (0, 0) when
    it is gone."""
    rss = hwm = 0
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return rss, hwm


def group_mem(pgid):
    """(the sum of VmRSS, the sum of VmHWM) of the processes of group
    pgid: a peer and its plugins. The sum of the peaks is at least the
    group's peak (they need not have peaked at the same time)."""
    rss = hwm = 0
    for pid in group_pids(pgid):
        r, h = proc_mem(pid)
        rss += r
        hwm += h
    return rss, hwm


class WSClient:
    """A websocket client (RFC 6455) for fabmond's /ws, enough for the
    benchmarks: the upgrade with a subprotocol, masked text frames out,
    text (and continuation, ping, close) frames in. Unlike
    tests/integration/wslib.py it reads into one bytearray, so that a
    20 MB frame (the topology of 1,000 switches) does not cost a copy of
    the buffer per chunk, and recv() says when the message arrived.
    Standard library only."""

    def __init__(self, host, port, path="/ws", protocol="fabmon.v1",
                 timeout=10):
        import base64
        self.sock = socket.create_connection((host, port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        req = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: %s"
               "\r\n\r\n" % (path, host, port, key, protocol))
        self.sock.sendall(req.encode())
        import threading
        # recv() answers pings: a reader thread and a writer must not
        # interleave their frames.
        self.wlock = threading.Lock()
        self.buf = bytearray()
        self.pos = 0
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed during the upgrade")
            self.buf += chunk
        end = self.buf.index(b"\r\n\r\n") + 4
        status = bytes(self.buf[:end]).split(b"\r\n", 1)[0]
        if b" 101 " not in status + b" ":
            self.sock.close()
            raise ConnectionError("upgrade refused: %s" % status.decode(
                errors="replace"))
        del self.buf[:end]

    def send(self, obj):
        import json
        self._send(1, json.dumps(obj).encode())

    def _send(self, opcode, payload):
        import struct
        n = len(payload)
        if n < 126:
            hdr = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            hdr = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            hdr = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        mask = os.urandom(4)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        with self.wlock:
            self.sock.sendall(hdr + mask + body)

    def _need(self, n, deadline):
        import time
        while len(self.buf) - self.pos < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout()
            self.sock.settimeout(left)
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("closed")
            if self.pos > (1 << 22):
                del self.buf[:self.pos]
                self.pos = 0
            self.buf += chunk

    def _take(self, n, deadline):
        self._need(n, deadline)
        out = self.buf[self.pos:self.pos + n]
        self.pos += n
        return out

    def recv(self, timeout=10):
        """(text, time.monotonic() when it was whole) of the next text
        message, or None at the timeout. A message cut by the timeout is
        lost: use a timeout only where that does not matter, or a long
        one."""
        import struct
        import time
        deadline = time.monotonic() + timeout
        parts = []
        try:
            while True:
                b0, b1 = self._take(2, deadline)
                op, n = b0 & 0x0f, b1 & 0x7f
                if n == 126:
                    n = struct.unpack("!H", self._take(2, deadline))[0]
                elif n == 127:
                    n = struct.unpack("!Q", self._take(8, deadline))[0]
                mask = self._take(4, deadline) if b1 & 0x80 else None
                data = self._take(n, deadline)
                if mask:
                    data = bytearray(b ^ mask[i % 4]
                                     for i, b in enumerate(data))
                if op == 8:
                    code = struct.unpack("!H", bytes(data[:2]))[0] \
                        if len(data) >= 2 else None
                    raise ConnectionError("close frame %s %s" % (
                        code, bytes(data[2:]).decode(errors="replace")))
                if op == 9:
                    self._send(10, bytes(data))
                    continue
                if op in (0, 1):
                    parts.append(data)
                    if b0 & 0x80:
                        return (b"".join(parts).decode(), time.monotonic())
        except socket.timeout:
            return None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class MachineLoad:
    """What the rest of the machine used while a benchmark ran: the CPU
    time of every process (/proc/stat) minus this process's and its
    reaped children's (os.times()), so a run on a busy machine says so.
    Read it once every child has been waited for."""

    def __init__(self):
        self.t0 = self._now()

    @staticmethod
    def _now():
        with open("/proc/stat") as f:
            cpu = [int(x) for x in f.readline().split()[1:]]
        busy = sum(cpu) - cpu[3] - (cpu[4] if len(cpu) > 4 else 0)
        tck = os.sysconf("SC_CLK_TCK")
        t = os.times()
        import time
        return (time.monotonic(), busy / tck,
                t.user + t.system + t.children_user + t.children_system)

    def result(self):
        """{"seconds", "cpus", "busy" (share of the machine), "ours",
        "others", "loadavg"}: shares of all the CPUs."""
        t1 = self._now()
        wall = max(t1[0] - self.t0[0], 1e-9)
        n = os.cpu_count() or 1
        busy = (t1[1] - self.t0[1]) / (wall * n)
        ours = (t1[2] - self.t0[2]) / (wall * n)
        with open("/proc/loadavg") as f:
            la = f.read().split()[0]
        return {"seconds": wall, "cpus": n, "busy": busy, "ours": ours,
                "others": max(0.0, busy - ours), "loadavg": float(la)}
