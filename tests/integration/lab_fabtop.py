#!/usr/bin/env python3
"""lab_fabtop: fabtop, the console (issue 8), against the real fabmond in
the lab, in private tmux servers (tmux -L NAME) inside the collector c1.

- The fabric view shows the 6 switches and the 8 links, live.
- Idle: fabtop's CPU while the fabric is quiet (printed, bounded).
- A trace typed through send-keys ('/', the filter, Enter) shows the
  path of an hping3 stream h1 -> h5 (one 5-tuple): l1 -> a spine -> l4,
  in at h1's port, out at h5's. The time from Enter to the whole path on
  the screen is printed.
- `fabtop --trace FILTER --seconds N` prints the same hops as lines and
  a summary; --json prints frames; --once prints a snapshot.
- The window resized to 80x24 and 200x60 (SIGWINCH) redraws to fit.
- fabmond killed (SIGKILL): the status line says stale within seconds,
  the last data stays; fabmond restarted: fabtop reconnects by itself
  and shows the fabric and the trace again.
- NO_COLOR and TERM=vt100: no colour; LANG=C: ASCII only.
- 'q' quits; no sanitizer report on the way out.

Before the lab, against a small websocket server of this file (in the
root namespace, on loopback): frames cut into many fragments come out
whole; hostile frames (wrong types, huge and control-character names,
not JSON at all) never upset the display; a fabric of 5,000 links whose
frames cost too much to apply every period is thinned, not queued.
"""
import base64
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from fablib import ok  # noqa: E402
import fablib  # noqa: E402

PREFIX = os.environ.get('LAB_PREFIX_TEST', f'ft{os.getpid() % 10000}')
LAB_ = fablib.Lab(PREFIX)
LAB = LAB_.sh
FABTOP = os.path.join(fablib.ROOT, fablib.BUILD, 'fabtop')
TMUX = f'fabtop-test-{os.getpid()}'
H1, H5 = '10.2.1.11', '10.2.4.15'
FILTER = f'ipsource={H1}&udpdestinationport=53'
SWITCHES = ('s1', 's2', 'l1', 'l2', 'l3', 'l4')
TMP = tempfile.mkdtemp(prefix='fabmon-fabtop-test-')


def tmux(*args):
    return subprocess.run(['tmux', '-L', TMUX, *args], text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          env=LAB_.env)


def start_tui(name, w, h, env='', args='', lab=True):
    """fabtop in c1 (or here), in tmux session name; its stderr in
    TMP/name.err."""
    cmd = (f'LAB_PREFIX={PREFIX} {LAB} exec c1 ' if lab else '') + \
        f'env {env} {FABTOP} {args} 2>{TMP}/{name}.err'

    r = tmux('new-session', '-d', '-s', name, '-x', str(w), '-y', str(h),
             cmd)
    return r.returncode == 0


def screen(name, escapes=False):
    r = tmux('capture-pane', '-p', *(['-e'] if escapes else []), '-t', name)
    return r.stdout if r.returncode == 0 else ''


def wait_screen(name, pred, timeout):
    """Poll the pane until pred(text) holds; (text, seconds) or (text,
    None) at the timeout."""
    t0 = time.time()
    text = ''
    while time.time() - t0 < timeout:
        text = screen(name)
        if pred(text):
            return text, time.time() - t0
        time.sleep(0.1)
    return text, None


def keys(name, *k, literal=False):
    tmux('send-keys', '-t', name, *(['-l'] if literal else []), *k)


def click(name, x, y, double=False):
    """A left click at (x, y), as an xterm sends it (X10 encoding)."""
    one = ('\x1b[M' + chr(32) + chr(33 + x) + chr(33 + y) +
           '\x1b[M' + chr(35) + chr(33 + x) + chr(33 + y))
    keys(name, one * (2 if double else 1), literal=True)


def children(pid):
    """Every descendant of pid (from /proc)."""
    kids = {}
    for p in os.listdir('/proc'):
        if not p.isdigit():
            continue
        try:
            with open(f'/proc/{p}/stat') as f:
                st = f.read()
            ppid = int(st[st.rindex(')') + 2:].split()[1])
        except (OSError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(p))
    out, todo = [], [pid]
    while todo:
        for c in kids.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def comm(pid):
    try:
        with open(f'/proc/{pid}/comm') as f:
            return f.read().strip()
    except OSError:
        return ''


def fabtop_pid(name):
    r = tmux('display-message', '-p', '-t', name, '#{pane_pid}')
    try:
        pane = int(r.stdout.strip())
    except ValueError:
        return None
    for p in [pane] + children(pane):
        if comm(p) == 'fabtop':
            return p
    return None


def cpu_ticks(pid):
    with open(f'/proc/{pid}/stat') as f:
        st = f.read()
    fields = st[st.rindex(')') + 2:].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def switches_shown(text):
    return all(re.search(rf'(^|\s){s}\b', text) for s in SWITCHES)


def link_rows(text):
    return re.findall(r'^\s+([ls]\d:swp\d)\s+\S\s+([ls]\d:swp\d)\s+up\b',
                      text, re.M)


def status(text):
    lines = [l for l in text.rstrip('\n').split('\n')]
    return lines[-1] if lines else ''


HOP = re.compile(r'^\s*(\d+)?\S*\s+([ls]\d)\s+(leaf|spine)\s+(\S+)\s+(\S+)'
                 r'\s+(\S+)\s+(\S+)\s+(\d+)\s', re.M)


def hops(text):
    """(node, role, in, from, out, to) of the trace view's rows."""
    return [m.groups()[1:7] for m in HOP.finditer(text)]


def trace_rows(text):
    """The trace view's rows, rates and all."""
    return [l for l in text.split('\n') if HOP.match(l + ' ')]


def path_ok(text):
    h = hops(text)
    return (len(h) == 3 and h[0][0] == 'l1' and h[0][2] == 'swp3' and
            h[0][3] == 'h1' and h[1][1] == 'spine' and h[2][0] == 'l4' and
            h[2][5] == 'h5' and 'out l4:swp3 to h5' in text)


class FakeWs:
    """A /ws server that speaks just enough fabmon.v1: the hello, a reply
    to every op, then the messages of a script, each cut into fragments
    of `frag` bytes (0: whole), and again every `every` seconds."""

    def __init__(self, messages, frag=0, every=0.0):
        self.messages, self.frag, self.every = messages, frag, every
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.stop = False
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.client, args=(c,),
                             daemon=True).start()

    def send(self, c, text):
        data = text.encode()
        step = self.frag or len(data) or 1
        parts = [data[i:i + step] for i in range(0, len(data), step)] or \
            [b'']
        for i, part in enumerate(parts):
            op = 1 if i == 0 else 0
            fin = 0x80 if i == len(parts) - 1 else 0
            n = len(part)
            if n < 126:
                head = struct.pack('!BB', fin | op, n)
            elif n < 65536:
                head = struct.pack('!BBH', fin | op, 126, n)
            else:
                head = struct.pack('!BBQ', fin | op, 127, n)
            c.sendall(head + part)

    def read_msg(self, c):
        b0, b1 = c.recv(1)[0], c.recv(1)[0]
        n = b1 & 0x7f
        if n == 126:
            n = struct.unpack('!H', c.recv(2))[0]
        elif n == 127:
            n = struct.unpack('!Q', c.recv(8))[0]
        mask = c.recv(4)
        data = b''
        while len(data) < n:
            data += c.recv(n - len(data))
        return bytes(x ^ mask[i % 4] for i, x in enumerate(data)).decode()

    def client(self, c):
        try:
            req = b''
            while b'\r\n\r\n' not in req:
                req += c.recv(4096)
            key = re.search(rb'(?i)sec-websocket-key: *(\S+)', req).group(1)
            acc = base64.b64encode(hashlib.sha1(
                key + b'258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest())
            c.sendall(b'HTTP/1.1 101 Switching Protocols\r\n'
                      b'Upgrade: websocket\r\nConnection: Upgrade\r\n'
                      b'Sec-WebSocket-Protocol: fabmon.v1\r\n'
                      b'Sec-WebSocket-Accept: ' + acc + b'\r\n\r\n')
            self.send(c, json.dumps({'v': 1, 't': 'hello', 'data': {
                'version': 'fake', 'pushMs': 1000}}))
            op = json.loads(self.read_msg(c))
            self.send(c, json.dumps({'v': 1, 't': 'reply', 'id': op['id'],
                                     'ok': True, 'data': {}}))
            while not self.stop:
                for m in self.messages:
                    self.send(c, m)
                if not self.every:
                    break
                time.sleep(self.every)
            while not self.stop:
                time.sleep(0.2)
        except (OSError, ValueError, AttributeError, IndexError):
            pass
        finally:
            c.close()

    def close(self):
        self.stop = True
        self.sock.close()


def no_lab_checks():
    """fabtop against FakeWs: fragments, hostile frames, thinning."""
    golden = os.path.join(fablib.ROOT, 'tests', 'golden', 'fabtop')
    lab_lines = [l.rstrip('\n') for l in open(f'{golden}/lab.frames')]
    topics = [l for l in lab_lines if '"t":"event"' in l and
              '"topic":"trace/' not in l]
    ws = FakeWs(topics, frag=7)
    r = subprocess.run([FABTOP, '--host', f'127.0.0.1:{ws.port}', '--once',
                        '--json', '--seconds', '20'], text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    ws.close()
    got = r.stdout.rstrip('\n').split('\n')
    ok(r.returncode == 0 and got == topics,
       f'fabtop/{len(topics)} frames in 7-byte fragments come out whole',
       (r.returncode, r.stderr[-500:], [g[:80] for g in got]))

    hostile = [l.rstrip('\n') for l in open(f'{golden}/hostile.frames')]
    ws = FakeWs(hostile, frag=1000, every=0.5)
    ok(start_tui('hostile', 80, 24, 'LANG=C.UTF-8',
                 f'--host 127.0.0.1:{ws.port}', lab=False),
       'fabtop/hostile: starts')
    text, t = wait_screen('hostile', lambda s: 'FAULT' in status(s) and
                          'l1?[31m?evil' in s, 10)
    for k in ('2', '3', '4', '5', 'Down', 'Enter', '1', 's', '?', 'Escape'):
        keys('hostile', k)
    time.sleep(1.5)
    ok(t is not None and fabtop_pid('hostile') is not None and
       'fabtop keys' not in screen('hostile'),
       'fabtop/hostile frames: shown escaped, fabtop still up', text)
    keys('hostile', 'q')
    ws.close()

    # 5,000 links: 100 leaves x 50 spines
    nodes, links, states = [], [], []
    for leaf in range(100):
        for sp in range(50):
            name = f'l{leaf}:swp{sp}-s{sp}:swp{leaf}'
            links.append({'name': name, 'node1': f'l{leaf}',
                          'port1': f'swp{sp}', 'node2': f's{sp}',
                          'port2': f'swp{leaf}', 'status': 'up'})
            states.append({'name': name, 'status': 'up', 'directions': [
                {'dir': d, 'from': {'node': f'l{leaf}', 'port': f'swp{sp}'},
                 'to': {'node': f's{sp}', 'port': f'swp{leaf}'},
                 'bps': 1e9 * (leaf + sp + d), 'utilization': sp + d,
                 'discards': 0, 'errors': 0, 'speedBps': 1e11,
                 'source': 'snmp'} for d in (0, 1)]})
    for leaf in range(100):
        nodes.append({'name': f'l{leaf}', 'role': 'leaf', 'ports': [
            {'name': f'swp{sp}', 'link': f'l{leaf}:swp{sp}-s{sp}:swp{leaf}'}
            for sp in range(50)]})
    big = [json.dumps({'v': 1, 't': 'event', 'topic': 'fabric', 'seq': 1,
                       'data': {'version': 1, 'nodes': nodes,
                                'links': links}}),
           json.dumps({'v': 1, 't': 'event', 'topic': 'links', 'seq': 1,
                       'data': {'links': states}})]
    ws = FakeWs(big, every=0.25)
    start_tui('big', 120, 40, 'LANG=C.UTF-8', f'--host 127.0.0.1:{ws.port}',
              lab=False)
    text, t = wait_screen('big', lambda s: '5000 links' in s, 20)
    pid = fabtop_pid('big')
    cpu = None
    if pid:
        time.sleep(2)
        t0, c0 = time.time(), cpu_ticks(pid)
        time.sleep(5)
        cpu = (cpu_ticks(pid) - c0) / os.sysconf('SC_CLK_TCK') / \
            (time.time() - t0) * 100
    text = screen('big')
    # Still answering keys while the frames keep coming: a fabtop that
    # queued them would be minutes behind. Its CPU is printed, not
    # asserted: a percentage depends on what else the machine runs (67 %
    # under a loaded CI against 55 % alone), and speed belongs to the
    # benchmarks.
    keys('big', '?')
    helptext, th = wait_screen('big', lambda s: 'fabtop keys' in s, 10)
    keys('big', 'Escape')
    print(f'# 5,000 links, both frames every 0.25 s ({sum(map(len, big))} '
          f'bytes): fabtop CPU {cpu and round(cpu)}%; {status(text)}; '
          f'help shown after {th and round(th, 1)} s')
    ok(t is not None and cpu is not None and 'thinned' in status(text) and
       th is not None and fabtop_pid('big') == pid,
       'fabtop/large frames too often: thinned, not queued, keys answered',
       text + helptext)
    keys('big', 'q')
    ws.close()


class Hping:
    def __init__(self):
        self.p = subprocess.Popen(
            [LAB, 'exec', 'h1', 'hping3', '-n', '-q', '-i', 'u2000',
             '--udp', '-p', '53', '-k', '-s', '40123', H5], env=LAB_.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self):
        pids = [self.p.pid] + children(self.p.pid)
        for pid in pids:
            if comm(pid) == 'hping3':
                try:
                    os.kill(pid, signal.SIGINT)
                except OSError:
                    pass
        try:
            self.p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


def main():
    procs = {}
    hp = None
    t_start = time.time()
    try:
        no_lab_checks()
        r = LAB_.run('up', check=False)
        if not ok(r.returncode == 0, 'fabtop/lab up', r.stdout[-1500:]):
            return 1
        procs['fabmond'] = start_fabmond()
        LAB_.run('wait', check=False)
        topo = LAB_.wait_links()
        if not ok(topo is not None, 'fabtop/fabmond knows the 8 links'):
            return 1
        hp = run(procs)
    finally:
        if hp is not None:
            hp.stop()
        tmux('kill-server')
        for p in procs.values():
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        LAB_.run('down', check=False)
        print(f'# lab_fabtop took {time.time() - t_start:.0f} s')
        if fablib.failures:
            for f in sorted(os.listdir(TMP)):
                if not os.path.isfile(os.path.join(TMP, f)):
                    continue
                print(f'# {f}:\n# ' + open(os.path.join(TMP, f), errors=
                      'replace').read()[-1500:].replace('\n', '\n# '))
        else:
            shutil.rmtree(TMP, ignore_errors=True)
    return 1 if fablib.failures else 0


def start_fabmond():
    log = open(os.path.join(TMP, 'fabmond.log'), 'a')
    return LAB_.fabmond(os.path.join(TMP, 'state'), log,
                        '-o', 'engine.push_ms=500',
                        '-o', 'sflow.counters=0')


def run(procs):
    # --- the fabric view, live -------------------------------------
    ok(start_tui('main', 120, 40, 'LANG=C.UTF-8', '-v'),
       'fabtop/starts in tmux')
    text, t = wait_screen('main', lambda s: switches_shown(s) and
                          len(link_rows(s)) == 8 and 'live' in status(s),
                          20)
    ok(t is not None, 'fabtop/fabric view: 6 switches, 8 links up, live',
       text)
    ok(re.search(r'spines\s+\S+ s1 .*s2', text) and
       re.search(r'leaves\s+\S+ l1 .*l4', text) and 'STANDALONE' in text,
       'fabtop/spines and leaves in their rows, the HA role', text)

    # --- idle CPU ----------------------------------------------------
    pid = fabtop_pid('main')
    ok(pid is not None, 'fabtop/found its process')
    if pid:
        t0, c0 = time.time(), cpu_ticks(pid)
        time.sleep(8)
        cpu = (cpu_ticks(pid) - c0) / os.sysconf('SC_CLK_TCK') / \
            (time.time() - t0) * 100
        print(f'# fabtop CPU while the fabric is quiet: {cpu:.2f}% '
              f'({fablib.BUILD}, push every 500 ms)')
        ok(cpu < 10, f'fabtop/idle CPU {cpu:.2f}% < 10%')

    # --- a trace typed in --------------------------------------------
    hp = Hping()
    time.sleep(1)
    keys('main', '/')
    keys('main', 'C-u')
    keys('main', FILTER, literal=True)
    t0 = time.time()
    keys('main', 'Enter')
    text, _ = wait_screen('main', path_ok, 20)
    took = time.time() - t0
    print(f'# trace typed in: the whole path on screen {took:.2f} s after '
          'Enter (engine.push_ms=500)')
    print('# ' + '\n# '.join(text.split('\n')[1:6]))
    ok(path_ok(text), 'fabtop/trace view: h1 -> l1 -> spine -> l4 -> h5',
       text)

    # --- pause, help, the mouse ----------------------------------------
    keys('main', 'p')
    text, t = wait_screen('main', lambda s: 'PAUSED' in status(s), 5)
    rows = trace_rows(text)
    time.sleep(2.5)  # five pushes
    ok(t is not None and rows and trace_rows(screen('main')) == rows,
       'fabtop/p pauses the display', text)
    keys('main', 'p')
    text, t = wait_screen('main', lambda s: 'PAUSED' not in status(s) and
                          trace_rows(s) != rows, 10)
    ok(t is not None, 'fabtop/p again: the display moves on', text)
    keys('main', '?')
    text, t = wait_screen('main', lambda s: 'fabtop keys' in s, 5)
    keys('main', 'Escape')
    text2, t2 = wait_screen('main', lambda s: 'fabtop keys' not in s, 5)
    ok(t is not None and t2 is not None, 'fabtop/? shows the keys', text)
    click('main', 19, 0)  # the tab "2 Top-N"
    text, t = wait_screen('main', lambda s: 'Top flows' in s and
                          re.search(r'10\.2\.1\.11\s+10\.2\.4\.15\s+udp'
                                    r'\s+40123\s+53\s+l1:swp3', s), 10)
    ok(t is not None, 'fabtop/a click on a tab: top-N, with the stream',
       text)
    click('main', 10, 0)  # "1 Fabric"
    text, t = wait_screen('main', lambda s: len(link_rows(s)) == 8, 5)
    y = next((i for i, l in enumerate(text.split('\n'))
              if re.match(r'\s+l2:swp1 ', l)), None)
    if y is not None:
        click('main', 5, y, double=True)  # l2:swp1 - s1:swp2
    text, t = wait_screen('main', lambda s: re.search(r'Node l2\s+leaf', s),
                          5)
    ok(t is not None, 'fabtop/a double click on a link: its node', text)
    keys('main', '3')

    # --- script modes, while the stream flows -----------------------
    r = subprocess.run([LAB, 'exec', 'c1', FABTOP, '--trace', FILTER,
                        '--seconds', '5'], env=LAB_.env, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30)
    lines = r.stdout.split('\n')
    hopl = [re.search(r'stage (\d+)\s+(\S+)\s+in (\S+) from (\S+)\s+out '
                      r'(\S+) to (\S+)', l) for l in lines
            if re.match(r'\s*[\d.]+s stage', l)]
    seen = [m.groups() for m in hopl if m]
    print('# fabtop --trace: ' + ' | '.join(l.strip() for l in lines[:5]))
    # (the first frames may hold part of the path: l4 alone is stage 1
    # until l1's samples come; a hop is printed again at a new stage)
    ok(r.returncode == 0 and ('1', 'l1', 'swp3', 'h1') in
       [h[:4] for h in seen] and
       any(h[0] == '2' and h[1] in ('s1', 's2') for h in seen) and
       any(h[0] == '3' and h[1] == 'l4' and h[4] == 'swp3' and h[5] == 'h5'
           for h in seen) and len(seen) == len(set(seen)),
       'fabtop --trace: one line per new hop, l1 -> spine -> l4',
       r.stdout + r.stderr)
    ok(any(l.startswith('# summary after') for l in lines) and
       any('out l4:swp3 to h5' in l for l in lines),
       'fabtop --trace: a summary', r.stdout)
    r = subprocess.run([LAB, 'exec', 'c1', FABTOP, '--trace', FILTER,
                        '--json', '--seconds', '3'], env=LAB_.env,
                       text=True, stdout=subprocess.PIPE, timeout=30)
    frames = [json.loads(l) for l in r.stdout.split('\n') if l]
    ok(r.returncode == 0 and any(f.get('t') == 'reply' for f in frames) and
       any(f.get('topic', '').startswith('trace/') and
           (f.get('data') or {}).get('hops') for f in frames),
       'fabtop --trace --json: raw frames, one a line',
       r.stdout[-1000:])
    r = subprocess.run([LAB, 'exec', 'c1', FABTOP, '--once', '--json'],
                       env=LAB_.env, text=True, stdout=subprocess.PIPE,
                       timeout=30)
    topics = [json.loads(l).get('topic') for l in r.stdout.split('\n') if l]
    ok(r.returncode == 0 and topics == ['fabric', 'links', 'top',
                                        'blackholes', 'events', 'health',
                                        'ha'],
       'fabtop --once --json: the first frame of each topic', topics)
    r = subprocess.run([LAB, 'exec', 'c1', 'env', 'COLUMNS=100', FABTOP,
                        '--once'], env=LAB_.env, text=True,
                       stdout=subprocess.PIPE, timeout=30)
    ok(r.returncode == 0 and switches_shown(r.stdout) and
       len(link_rows(r.stdout)) == 8 and 'Top flows' in r.stdout and
       'Black holes' in r.stdout,
       'fabtop --once: a text snapshot', r.stdout[-2000:])

    # --- resizing ------------------------------------------------------
    keys('main', '1')
    for w, h in ((80, 24), (200, 60)):
        tmux('resize-window', '-t', 'main', '-x', str(w), '-y', str(h))
        text, t = wait_screen(
            'main', lambda s: len(s.rstrip('\n').split('\n')) <= h and
            'live' in status(s) and switches_shown(s) and
            len(link_rows(s)) == 8 and s.split('\n')[0].startswith(
                ' fabtop'), 5)
        width = max(len(l) for l in text.split('\n'))
        ok(t is not None and width <= w,
           f'fabtop/resized to {w}x{h}: redrawn to fit', text)
    keys('main', '3')

    # --- fabmond killed, then back -------------------------------------
    procs['fabmond'].kill()
    procs['fabmond'].wait()
    t0 = time.time()
    text, t = wait_screen('main', lambda s: 'stale' in status(s), 10)
    ok(t is not None and 'l1' in text,
       f'fabtop/fabmond killed: stale after {t and round(t, 1)} s, the '
       'last data stays', text)
    time.sleep(2)
    text = screen('main')
    ok('retry' in status(text) and 'l4' in text,
       'fabtop/reconnecting with back-off', status(text))
    procs['fabmond'] = start_fabmond()
    text, t = wait_screen('main', lambda s: 'live' in status(s), 15)
    ok(t is not None, f'fabtop/fabmond back: live again after '
       f'{t and round(t, 1)} s', status(text))
    text, t = wait_screen('main', path_ok, 40)
    listed = LAB_.get('/api/v1/trace') or []
    ok(t is not None and any(x['filter'] == FILTER for x in listed),
       f'fabtop/the trace comes back by itself ({t and round(t, 1)} s '
       'after reconnecting; the new fabmond has it)', (text, listed))
    keys('main', '1')
    text, t = wait_screen('main', lambda s: switches_shown(s) and
                          len(link_rows(s)) == 8, 30)
    ok(t is not None, 'fabtop/the fabric comes back', text)

    # --- monochrome, ASCII ---------------------------------------------
    start_tui('nocolor', 80, 24, 'LANG=C.UTF-8 NO_COLOR=1')
    start_tui('vt100', 80, 24, 'LANG=C.UTF-8 TERM=vt100')
    start_tui('ascii', 80, 24, 'LANG=C LC_ALL=C')
    for name in ('nocolor', 'vt100', 'ascii'):
        text, t = wait_screen(name, lambda s: switches_shown(s) and
                              len(link_rows(s)) == 8 and
                              'live' in status(s), 20)
        ok(t is not None, f'fabtop/{name}: the fabric at 80x24', text)
    colours = {n: colour_codes(screen(n, escapes=True))
               for n in ('main', 'nocolor', 'vt100')}
    ok(colours['main'] > 0 and colours['nocolor'] == 0 and
       colours['vt100'] == 0,
       'fabtop/colour, none with NO_COLOR or TERM=vt100', colours)
    text = screen('ascii')
    ok(all(ord(c) < 128 for c in text) and '*' in text and
       re.search(r'l1:swp1 - s1:swp1', text),
       'fabtop/LANG=C: ASCII only', text)

    # --- quit ------------------------------------------------------------
    for name in ('main', 'nocolor', 'vt100', 'ascii'):
        keys(name, 'q')
    deadline = time.time() + 10
    while time.time() < deadline and tmux('has-session', '-t',
                                          'main').returncode == 0:
        time.sleep(0.2)
    ok(tmux('has-session', '-t', 'main').returncode != 0,
       'fabtop/q quits')
    time.sleep(1)
    errs = {n: open(f'{TMP}/{n}.err', errors='replace').read()
            for n in ('main', 'nocolor', 'vt100', 'ascii', 'hostile', 'big')
            if os.path.exists(f'{TMP}/{n}.err')}
    for line in errs.get('main', '').split('\n'):
        if 'frames' in line:
            print('# ' + line)
    ok(errs and not any(re.search(r'Sanitizer|runtime error', e)
                        for e in errs.values()),
       'fabtop/exits cleanly (no sanitizer report)', errs)
    return hp


def colour_codes(text):
    """SGR sequences that set a colour (30-37, 38, 90-97)."""
    n = 0
    for m in re.finditer(r'\x1b\[([0-9;]*)m', text):
        for p in m.group(1).split(';'):
            if p.isdigit() and (30 <= int(p) <= 38 or 90 <= int(p) <= 97):
                n += 1
    return n


if __name__ == '__main__':
    sys.exit(main())
