"""benchutil.py: what lossless.py and peers.py read from the system:
free ports, a UDP socket's queue and drops, the kernel's receive-buffer
errors, the CPU time of every thread of a process group. Linux only,
Python 3 standard library only."""

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
