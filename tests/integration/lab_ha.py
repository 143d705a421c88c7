#!/usr/bin/env python3
"""lab_ha: the HA pair in the lab (issue 9, DESIGN §8).

Its own lab (LAB_PREFIX hat<pid>), dual-feed (every switch sends sFlow to
both collectors), and tests/lab/ha.sh: fabmond + Debian's keepalived in c1
and c2, VRRPv3 (HA_ADVERT, 0.1 s by default), the VIP 10.99.0.100/24,
nopreempt. Three hping3 streams of different rates make a stable top-3.
Two /ws clients at the VIP run in the management namespace: the real
fabtop (`fabtop --json`), and `--watch-page` (below) acting as the web
page's feed.js: both give up a connection silent for 2 push periods (at
least 1.5 s), as the old master's can stay half-open after a failover, and
retry after 0.5 s doubling.

Checks:
- roles: one MASTER (holding the VIP) and one BACKUP, each naming the
  other's role in /api/v1/ha, both healthy; the ws hello and `ha` frames
  carry the role;
- warm standby: both daemons show the same top-3 keys and the same links;
  before each kill (and at least 10 s, 5 smoothing times, after the pair
  was last ready) each of the backup's top-3 rates is the master's within
  10 % (means of 48 readings over about 15 s: the smallest stream's
  8 s means, on identical datagrams, were up to 7.8 % apart);
- each way a master dies: its fabmond killed (SIGKILL), its keepalived
  stopped (SIGTERM), its link down, and its fabmond hung (SIGSTOP: the
  track file is no longer renewed, keepalived's heartbeat check fails). Measured from the kill: the VIP on
  the other node, the new master's fabmond knowing it, the ws client's
  first frame from the new master, its first fresh top frame; the new
  master's top-3 keys against the old master's last ones, and its
  topology (links, version). Each time the node comes back as BACKUP;
- the track file: the master stops receiving sFlow (iptables in its
  namespace): after 10 s it is unhealthy, its peer is healthy, so it
  writes 1, goes FAULT and the VIP moves; an "unhealthy" event is stored;
- split brain: VRRP adverts dropped between the two: both MASTER; both
  log it and store a split_brain event, ended once the adverts pass;
- preemption: keepalived re-rendered with --preempt-delay 8 on both; c1
  (the higher priority) takes the VIP back 8 s after its keepalived
  restarts, warm (the same top-3, links, the synced flow), and the ws
  client follows it;
- the role changes are stored events (type ha), and fabmond exits 0.
The `# ` lines at the end are the table of measurements; the page
column says when the page-like client got a frame from the new master.

HA_FEED=vip runs the VIP-feed instead: the switches send to the VIP only,
and the MASTER forwards every datagram to the peer (ha.forward_to). Then
each daemon must have counted every agent's datagrams once (datagrams
and sequence numbers move together, no loop), the BACKUP must forward nothing, and after each failover the
new MASTER forwards to the old one. The sick-master case is skipped: in
VIP-feed a master that hears no sFlow forwards none either.
Env: BUILD (build), FABMOND, HA_ADVERT (0.1), HA_FEED (dual | vip).
"""
import json
import random
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fablib  # noqa: E402
from fablib import ok  # noqa: E402

PREFIX = os.environ.get('LAB_PREFIX_TEST', f'hat{os.getpid() % 10000}')
LAB_ = fablib.Lab(PREFIX)
LAB = LAB_.sh
HA = os.path.join(fablib.ROOT, 'tests', 'lab', 'ha.sh')
VIP = '10.99.0.100'
IP = {'c1': '10.99.0.101', 'c2': '10.99.0.102'}
OTHER = {'c1': 'c2', 'c2': 'c1'}
ADVERT = os.environ.get('HA_ADVERT', '0.1')
# (host, destination, source port, hping3 interval): three rates
STREAMS = [('h1', '10.2.4.15', 40001, 'u2500'),
           ('h3', '10.2.3.14', 40002, 'u5000'),
           ('h2', '10.2.4.16', 40003, 'u10000')]
FEED = os.environ.get('HA_FEED', 'dual')
ENV = dict(LAB_.env, HA_ADVERT=ADVERT, BUILD=fablib.BUILD, HA_FEED=FEED)
if FEED == 'vip' and 'LAB_PREFIX_TEST' not in os.environ:
    PREFIX = f'hav{os.getpid() % 10000}'
    LAB_ = fablib.Lab(PREFIX)
    ENV.update(LAB_.env)


def lab(*args, check=False):
    return subprocess.run([LAB, *args], env=ENV, check=check, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def ha(*args):
    return subprocess.run([HA, *args], env=ENV, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def ns(node):
    return f'{PREFIX}-{node}'


def api(node, path, timeout=2):
    """GET from a collector's own API, on its loopback; None if it fails."""
    r = subprocess.run(['ip', 'netns', 'exec', ns(node), 'curl', '-s',
                        '--max-time', str(timeout), '-w', '\n%{http_code}',
                        f'http://127.0.0.1:8008{path}'],
                       stdout=subprocess.PIPE, text=True)
    body, _, code = r.stdout.rpartition('\n')
    try:
        return json.loads(body) if code == '200' else None
    except ValueError:
        return None


def put(node, path, body, method='PUT'):
    """A write to a collector's own API; the HTTP status."""
    r = subprocess.run(['ip', 'netns', 'exec', ns(node), 'curl', '-s',
                        '--max-time', '3', '-o', '/dev/null', '-w',
                        '%{http_code}', '-X', method, '--data-binary', body,
                        f'http://127.0.0.1:8008{path}'],
                       stdout=subprocess.PIPE, text=True)
    return int(r.stdout or 0)


def holds_vip(node):
    r = subprocess.run(['ip', '-n', ns(node), '-o', 'addr', 'show'],
                       stdout=subprocess.PIPE, text=True)
    return f' {VIP}/' in r.stdout


def until(pred, timeout, step=0.2):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return None


def top_keys(top, n=3):
    return [f['key'] for f in (top or {}).get('flows', [])[:n]]


# ---- the /ws client at the VIP (runs in the management namespace) -----------

def watch(host, page=False):
    """Print one JSON line per thing seen: hello, frame, closed. Like
    fabtop, or with page=True like the web page: no ping, no hang-up."""
    import wslib

    def emit(**kw):
        kw['t'] = time.time()
        print(json.dumps(kw), flush=True)

    backoff = 0.5
    while True:
        try:
            w = wslib.WS(host, 8008, timeout=3)
        except (OSError, wslib.HandshakeError) as e:
            emit(ev='closed', why=f'connect: {e}')
            time.sleep(backoff)
            backoff = min(backoff * 2, 5)
            continue
        server, last, pinged = None, time.time(), False
        try:
            hello = w.recv(5)
            if not hello or hello.get('t') != 'hello':
                raise ConnectionError('no hello')
            h = hello['data'].get('ha') or {}
            server = h.get('address')
            emit(ev='hello', server=server, role=h.get('role'))
            backoff = 0.5
            w.send({'op': 'subscribe', 'id': 1, 'topics': ['ha', 'top']})
            last = time.time()
            push = max(1.5, 2 * hello['data'].get('pushMs', 1000) / 1000)
            while True:
                m = w.recv(0.1)
                now = time.time()
                if m is None:
                    # feed.js: silent for 2 push periods (at least 1.5 s):
                    # the connection is dead, reconnect
                    if page and now - last > push:
                        raise ConnectionError('silent for 3 push periods')
                    if page:
                        continue
                    if now - last > 12:
                        raise ConnectionError('silent for 12 s')
                    if now - last > 5 and not pinged:
                        w.send({'op': 'ping', 'id': 2})
                        pinged = True
                    continue
                last, pinged = now, False
                if m.get('t') != 'event':
                    continue
                d = m.get('data') or {}
                if m['topic'] == 'ha':
                    emit(ev='frame', topic='ha', server=server,
                         ts=m['ts'], role=d.get('role'))
                elif m['topic'] == 'top':
                    emit(ev='frame', topic='top', server=server,
                         ts=m['ts'], keys=top_keys(d))
        except (OSError, ConnectionError, ValueError) as e:
            emit(ev='closed', server=server, why=str(e))
        finally:
            w.close()
        time.sleep(backoff)
        backoff = min(backoff * 2, 5)


FABTOP = os.path.join(os.path.dirname(fablib.FABMOND), 'fabtop')


class Watcher:
    """A client at the VIP, in the management namespace; what it saw, as
    lines ({ev: hello|frame|closed, t, server, ...}). page=False: the
    real fabtop (`fabtop --json`: every frame it receives, one per line;
    it reconnects by itself); page=True: watch() above, acting as the web
    page's feed.js."""

    def __init__(self, page=False):
        self.fabtop = not page
        cmd = ([FABTOP, '--host', f'{VIP}:8008', '--json'] if self.fabtop
               else [sys.executable, os.path.abspath(__file__),
                     '--watch-page', VIP])
        self.p = subprocess.Popen(
            [LAB, 'exec', 'mgmt', *cmd], env=ENV, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL if self.fabtop else subprocess.STDOUT,
            text=True)
        self.server = None
        self.lines = []
        self.lock = threading.Lock()
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _frame(self, f):
        """A raw frame from fabtop as one of watch()'s lines."""
        now, d = time.time(), f.get('data') or {}
        if f.get('t') == 'hello':
            h = d.get('ha') or {}
            self.server = h.get('address')
            return {'ev': 'hello', 'server': self.server,
                    'role': h.get('role'), 't': now}
        if f.get('t') != 'event' or f.get('topic') not in ('ha', 'top'):
            return None
        m = {'ev': 'frame', 'topic': f['topic'], 'server': self.server,
             'ts': f['ts'], 't': now}
        if f['topic'] == 'ha':
            m['role'] = d.get('role')
        else:
            m['keys'] = top_keys(d)
        return m

    def _read(self):
        for line in self.p.stdout:
            try:
                m = json.loads(line)
                if self.fabtop:
                    m = self._frame(m)
            except ValueError:
                m = {'ev': 'junk', 'text': line.rstrip(), 't': time.time()}
            if m is None:
                continue
            with self.lock:
                self.lines.append(m)

    def since(self, t0):
        with self.lock:
            return [m for m in self.lines if m['t'] >= t0]

    def last(self, pred):
        with self.lock:
            for m in reversed(self.lines):
                if pred(m):
                    return m
        return None

    def first_after(self, t0, pred, timeout):
        def f():
            for m in self.since(t0):
                if pred(m):
                    return m
            return None
        return until(f, timeout, 0.05)

    def stop(self):
        self.p.terminate()
        try:
            self.p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


# ---- the driver ---------------------------------------------------------

def state(node):
    return api(node, '/api/v1/ha')


def master():
    """The node whose fabmond says MASTER and holds the VIP, else None."""
    for n in ('c1', 'c2'):
        s = state(n)
        if s and s['role'] == 'MASTER' and holds_vip(n):
            return n
    return None


def pair_ready(m, keys, timeout=60):
    """m is a healthy MASTER, the other a healthy BACKUP, both with the
    streams in their top-3 and all 8 links: a warm standby."""
    b = OTHER[m]

    def f():
        sm, sb = state(m), state(b)
        if not (sm and sb and sm['role'] == 'MASTER' and
                sb['role'] == 'BACKUP' and sm['health']['ok'] and
                sb['health']['ok'] and holds_vip(m) and not holds_vip(b) and
                sm['holdsVip'] and not sb['holdsVip'] and
                sm['peer']['role'] == 'BACKUP' and
                sb['peer']['role'] == 'MASTER' and
                sm['peer']['healthy'] and sb['peer']['healthy']):
            return None
        for n in (m, b):
            if set(top_keys(api(n, '/api/v1/top?max=3'))) != keys:
                return None
            t = api(n, '/api/v1/topology')
            if not t or len(t['links']) != 8:
                return None
        return sm, sb
    r = until(f, timeout, 0.5)
    if r is not None:
        READY['t'] = time.time()
    return r


def fwd_stats(node):
    """The VIP-feed forwarding target's counters, or None."""
    f = api(node, '/forwarding/json')
    return (f or {}).get('fabmon-ha')


def agent_seqs(node):
    """Per agent: (datagrams counted, its latest sequence number, seqLost),
    all from one ingest snapshot; and the kernel's drops."""
    h = api(node, '/api/v1/health') or {}
    return ({a['agent']: (a['datagrams'], a['lastSeq'], a['seqLost'])
             for a in h.get('agents', [])},
            (h.get('ingest') or {}).get('kernelDrops', 0))


def vipfeed_checks(m, name):
    """VIP-feed: the MASTER forwards, the BACKUP does not, and the BACKUP
    gets each datagram once (its count moves as the MASTER's does)."""
    b = OTHER[m]
    f = until(lambda: (lambda x: x if x and x['datagrams'] > 0 else None)(
        fwd_stats(m)), 10)
    ok(f is not None and f['address'] == IP[b],
       f'ha-lab/vip-feed {name}: the MASTER {m} forwards to {b}', f)
    ok(fwd_stats(b) is None and
       not (api(b, '/api/v1/ha') or {}).get('forwarding', True),
       f'ha-lab/vip-feed {name}: the BACKUP {b} forwards nothing')
    # Each daemon's health is its ingest snapshot of the last push period,
    # at its own phase: counts read at one moment differ by up to a
    # second's datagrams between the two. Per agent, the datagrams counted
    # and the agent's sequence number come from the same snapshot: each
    # daemon got every datagram exactly once when both moved by the same.
    # A window that follows a role change closely can see its tail: what
    # the new MASTER received between taking the VIP and hearing its role
    # from keepalived it did not forward, and the BACKUP counts that gap
    # when the agent's next datagram comes (after preemption: 2-6
    # datagrams of slow agents, no kernel drop on either side). One more
    # window is taken then, and the first is printed.
    f0 = fwd_stats(m) or {}
    for attempt in (1, 2):
        r0 = {n: agent_seqs(n) for n in (m, b)}
        time.sleep(5)
        r1 = {n: agent_seqs(n) for n in (m, b)}
        a0, k0 = ({n: r0[n][i] for n in (m, b)} for i in (0, 1))
        a1, k1 = ({n: r1[n][i] for n in (m, b)} for i in (0, 1))
        moved = {n: {a: (a1[n][a][0] - a0[n].get(a, (0, 0, 0))[0],
                         a1[n][a][1] - a0[n].get(a, (0, 0, 0))[1],
                         a1[n][a][2] - a0[n].get(a, (0, 0, 0))[2])
                     for a in a1[n]} for n in (m, b)}
        once = all(moved[n] and sum(d for d, _, _ in moved[n].values()) > 0
                   and all(d == q and lost == 0
                           for d, q, lost in moved[n].values())
                   for n in (m, b)) and set(moved[m]) == set(moved[b])
        if once or attempt == 2:
            break
        print(f'# vip-feed {name}: first window (datagrams, sequence moved, '
              f'lost) per agent {moved}, kernel drops '
              f'{ {n: k1[n] - k0[n] for n in (m, b)} }: once more')
    ok(once, f'ha-lab/vip-feed {name}: the BACKUP receives what the MASTER '
       'does, once', (moved, {n: k1[n] - k0[n] for n in (m, b)}))
    # A loop would grow `looped` for as long as it lasts: none in the
    # window. Before it, an old MASTER that was hung (SIGSTOP) forwards
    # the backlog it received at the VIP until keepalived's notify tells
    # it otherwise, and the new MASTER counts those (ingested, not sent
    # back) once: 64 in one run.
    f = fwd_stats(m) or {}
    ok(f.get('looped', 1) - f0.get('looped', 0) == 0 and
       f.get('errors', 1) == 0,
       f'ha-lab/vip-feed {name}: no loop, no send error', (f0, f))


results_dev = []  # each failover's backup/master rate deviations
# fabmon_flows smooths over t = 2 s: a daemon that has just (re)joined
# reads (1 - exp(-age / 2 s)) of the rate. Rates are compared from 5 t
# after the pair was last ready (99.3 %).
WARM_S = 10
READY = {'t': 0.0}


def failover(w, name, m, kill, keys, results, page=None):
    """Kill master m the way kill() does; measure and check the takeover."""
    b = OTHER[m]
    time.sleep(max(0.0, READY['t'] + WARM_S - time.time()))
    old_top = top_keys(api(m, '/api/v1/top?max=3'))
    # Warm standby: over the same 15 s before the kill, the backup's top
    # rates are the master's (means are compared: a single reading is one
    # snapshot of each daemon, at its own phase). Each daemon's snapshot
    # carries the mean rate over its push period, so uacctd's bursts,
    # about once a second, average out whatever the daemons' phases.
    # (Per-agent sample counts in health are phase-noisy the same way:
    # 1.23 against identical rates once. They are not used here.)
    sums = {m: {}, b: {}}
    # Readings at random intervals, so that no reading rhythm aliases
    # with the snapshots'.
    rnd = random.Random(7)
    n_read = 48
    for _ in range(n_read):
        for node in (m, b):
            for f in (api(node, '/api/v1/top?max=3') or {}).get('flows', []):
                sums[node][f['key']] = sums[node].get(f['key'], 0) + f['bps']
        time.sleep(rnd.uniform(0.1, 0.5))
    rates = [(k, round(v / n_read), round(sums[b].get(k, 0) / n_read))
             for k, v in sums[m].items() if k in old_top]
    print(f'# {name}: top-3 bps master/backup: {rates}')
    ok(len(rates) == 3 and all(n > 0 for _, o, n in rates),
       f'ha-lab/{name}: the backup measures the master\'s top-3 flows',
       rates)
    dev = [abs(n / o - 1) for _, o, n in rates if o > 0]
    print(f'# {name}: backup vs master rate: '
          f'{[round(100 * d, 1) for d in dev]} %')
    results_dev.extend(dev)
    old_topo = api(m, '/api/v1/topology') or {}
    old_links = sorted(x['name'] for x in old_topo.get('links', []))
    t0 = time.time()
    kill()
    t_vip = until(lambda: holds_vip(b) and time.time(), 30, 0.005)
    ok(t_vip is not None, f'ha-lab/{name}: the VIP moves to {b}')
    sb = until(lambda: (lambda s: s if s and s['role'] == 'MASTER'
                        else None)(state(b)), 10, 0.1)
    ok(sb is not None, f'ha-lab/{name}: {b} says MASTER in /api/v1/ha', sb)
    hello = w.first_after(t0, lambda x: x['ev'] == 'hello' and
                          x['server'] == IP[b], 40)
    fresh = w.first_after(t0, lambda x: x['ev'] == 'frame' and
                          x['topic'] == 'top' and x['server'] == IP[b] and
                          x['ts'] / 1000 >= t0 and x['keys'], 40)
    ok(hello is not None and hello['role'] == 'MASTER',
       f'ha-lab/{name}: the ws client at the VIP reconnects to {b}, '
       'its hello says MASTER', hello)
    ok(fresh is not None,
       f'ha-lab/{name}: the ws client gets fresh top frames from {b}')
    new_top = fresh['keys'] if fresh else []
    ok(set(new_top) == set(old_top) == keys,
       f'ha-lab/{name}: the new master\'s top-3 keys are the old '
       'master\'s', f'{old_top} -> {new_top}')
    topo = api(b, '/api/v1/topology') or {}
    links = sorted(x['name'] for x in topo.get('links', []))
    ok(links == old_links and len(links) == 8,
       f'ha-lab/{name}: the new master has the 8 links already',
       f'{len(old_links)} -> {len(links)}')
    ev = until(lambda: [e for e in (api(b, '/api/v1/events?type=ha&from=0')
                                    or {}).get('events', [])
                        if e['reason'] == 'MASTER' and e['end'] is None and
                        e['start'] >= t0 * 1000 - 50], 5)
    ok(ev, f'ha-lab/{name}: {b} stored the MASTER event')
    # the gap the client saw: its last frame from the old master
    gap = w.last(lambda x: x['ev'] == 'frame' and x['server'] == IP[m])
    known = sb['since'] / 1000 if sb else None
    # the page-like client: no ping; give it as long as fabtop needed + 10 s
    pg = None
    if page is not None:
        pg = page.first_after(t0, lambda x: x['ev'] == 'frame' and
                              x['server'] == IP[b], max(
                                  0.1, (fresh['t'] if fresh else t0) + 10 -
                                  time.time()))
    results.append({
        'name': name, 'from': m, 'to': b,
        'vip': t_vip - t0 if t_vip else None,
        'known': known - t0 if known else None,
        'hello': hello['t'] - t0 if hello else None,
        'fresh': fresh['t'] - t0 if fresh else None,
        'lastold': gap['t'] - t0 if gap else None,
        'same': set(new_top) == set(old_top),
        'links': f'{len(old_links)}/{len(links)}',
        'version': f'{old_topo.get("version")}/{topo.get("version")}',
        'page': (pg['t'] - t0) if pg else None})
    if FEED == 'vip':
        f = until(lambda: (lambda x: x if x and x['address'] == IP[m]
                           else None)(fwd_stats(b)), 5)
        ok(f is not None, f'ha-lab/vip-feed {name}: the new MASTER {b} '
           f'forwards to {m}', fwd_stats(b))
    return b


def sick(w, m, keys, results):
    """The master stops receiving sFlow: the track file hands the VIP
    over once it is unhealthy (10 s) and its peer is not."""
    b = OTHER[m]
    rule = ['-p', 'udp', '--dport', '6343', '-j', 'DROP']
    t0 = time.time()
    lab('exec', m, 'iptables', '-w', '-I', 'INPUT', *rule)
    try:
        s = until(lambda: (lambda x: x if x and 'sflow' in
                           x['health']['reasons'] else None)(state(m)), 20)
        t_sick = time.time()
        ok(s is not None, f'ha-lab/track: {m} finds itself unhealthy '
           '(no sFlow for 10 s)', s and s['health'])
        t_vip = until(lambda: holds_vip(b) and time.time(), 10, 0.01)
        ok(t_vip is not None, f'ha-lab/track: the VIP moves to {b}')
        s = until(lambda: (lambda x: x if x and x['role'] == 'FAULT' and
                           x['health']['track'] == 1 else None)(state(m)), 5)
        ok(s is not None, f'ha-lab/track: {m} wrote 1 and is FAULT',
           state(m))
        ev = until(lambda: [e for e in (api(m, '/api/v1/events?type=ha&'
                                            'from=0') or {}).get('events', [])
                            if e['reason'] == 'unhealthy' and
                            e['detail'].get('reasons') == ['sflow']], 5)
        ok(ev, f'ha-lab/track: {m} stored an "unhealthy" event (sflow)')
        fresh = w.first_after(t0, lambda x: x['ev'] == 'frame' and
                              x['topic'] == 'top' and x['server'] == IP[b] and
                              x['keys'], 30)
        ok(fresh is not None and set(fresh['keys']) == keys,
           f'ha-lab/track: the ws client gets the same top-3 from {b}',
           fresh)
        hello = w.first_after(t0, lambda x: x['ev'] == 'hello' and
                              x['server'] == IP[b], 1)
        sb = state(b)
        results.append({
            'name': 'sick (no sFlow)', 'from': m, 'to': b,
            'vip': t_vip - t0 if t_vip else None,
            'known': sb['since'] / 1000 - t0 if sb and
            sb['role'] == 'MASTER' else None,
            'hello': hello['t'] - t0 if hello else None,
            'fresh': fresh['t'] - t0 if fresh else None, 'lastold': None,
            'same': bool(fresh and set(fresh['keys']) == keys),
            'links': '-', 'version': '-', 'page': None,
            'note': f'unhealthy after {t_sick - t0:.1f} s'})
    finally:
        lab('exec', m, 'iptables', '-w', '-D', 'INPUT', *rule)
    s = until(lambda: (lambda x: x if x and x['role'] == 'BACKUP' and
                       x['health']['ok'] else None)(state(m)), 30)
    ok(s is not None, f'ha-lab/track: {m} healthy again is BACKUP '
       '(nopreempt)', state(m))
    return b


def split_brain(m):
    """VRRP adverts dropped both ways: each node thinks the other is gone
    and both become MASTER; HTTP still passes, so the peer polls see it."""
    rule = ['-p', '112', '-j', 'DROP']
    t0 = time.time()
    for n in ('c1', 'c2'):
        lab('exec', n, 'iptables', '-w', '-I', 'INPUT', *rule)
    try:
        both = until(lambda: all((state(n) or {}).get('splitBrain')
                                 for n in ('c1', 'c2')), 20)
        ok(both, 'ha-lab/split brain: both MASTER, both say splitBrain',
           [((state(n) or {}).get('role'), holds_vip(n))
            for n in ('c1', 'c2')])
        t_seen = time.time()
    finally:
        for n in ('c1', 'c2'):
            lab('exec', n, 'iptables', '-w', '-D', 'INPUT', *rule)

    def one_master():
        s = {n: state(n) or {} for n in ('c1', 'c2')}
        roles = sorted(x.get('role', '') for x in s.values())
        return roles == ['BACKUP', 'MASTER'] and not any(
            x.get('splitBrain') for x in s.values())
    over = until(one_master, 20)
    ok(over, 'ha-lab/split brain: over once the adverts pass (one MASTER, '
       'one BACKUP)', [state(n) for n in ('c1', 'c2')])
    for n in ('c1', 'c2'):
        ev = until(lambda: [e for e in (api(n, '/api/v1/events?type=ha&'
                                            'from=0') or {}).get('events', [])
                            if e['reason'] == 'split_brain' and e['end'] and
                            e['detail'].get('how') == 'peer'], 5)
        ok(ev, f'ha-lab/split brain: {n} stored a split_brain event with '
           'an end')
    print(f'# split brain seen by both {t_seen - t0:.2f} s after the '
          'adverts were dropped')


PREEMPT_S = 8


def preempt(w, keys):
    """Preemption: keepalived re-rendered on both with --preempt-delay.
    c1 (priority 150) whose keepalived restarts while c2 holds the VIP
    takes it back PREEMPT_S seconds later, with nothing lost: c1's fabmond
    kept running, so its state is warm."""
    env = dict(ENV, HA_PREEMPT=str(PREEMPT_S))
    lab_dir = env.get('LAB_DIR', f'/tmp/fabmon-lab-{PREFIX}').rstrip('/')

    def run(*a):
        return subprocess.run([HA, *a], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL).returncode

    def restart_keepalived(n):
        os.remove(os.path.join(lab_dir, 'ha', n, 'keepalived.conf'))
        run('keepalived-kill', n, 'TERM')   # does not wait
        until(lambda: run('pid', n, 'keepalived') != 0, 10, 0.05)
        run('keepalived-start', n)
    restart_keepalived('c2')
    ok(until(master, 10) is not None,
       'ha-lab/preempt: a MASTER once c2\'s keepalived has preemption')
    restart_keepalived('c1')
    t0 = time.time()
    ok(until(lambda: master() == 'c2', 5) is not None,
       'ha-lab/preempt: c2 holds the VIP while c1\'s keepalived restarts',
       master())
    back = until(lambda: master() == 'c1' and time.time(), PREEMPT_S + 10,
                 0.1)
    ok(back is not None and back - t0 >= PREEMPT_S - 1,
       f'ha-lab/preempt: c1 (priority 150) takes the VIP back after its '
       f'preempt delay ({PREEMPT_S} s)',
       f'{back - t0:.2f} s' if back else None)
    if back is None:
        return
    print(f'# preempt: c1 took the VIP back {back - t0:.2f} s after its '
          f'keepalived started (preempt_delay {PREEMPT_S})')
    ok(pair_ready('c1', keys, 20) is not None,
       'ha-lab/preempt: c1 MASTER, c2 BACKUP, both warm, same top-3 and '
       'links')
    fresh = w.first_after(back, lambda x: x['ev'] == 'frame' and
                          x['topic'] == 'top' and x['server'] == IP['c1'] and
                          x['keys'], 20)
    ok(fresh is not None and set(fresh['keys']) == keys,
       'ha-lab/preempt: the ws client at the VIP follows to c1, same top-3',
       fresh)
    ok(all(api(n, '/flow/synced/json') is not None for n in ('c1', 'c2')),
       'ha-lab/preempt: nothing lost: the synced flow is on both')
    if FEED == 'vip':
        vipfeed_checks('c1', 'after preemption')


def table(results):
    def f(x):
        return '-' if x is None else f'{x:6.2f}'
    def pg(r):
        if r['page'] is not None:
            return f(r['page'])
        return '-' if r['name'].startswith('sick') else 'stale'
    print(f'# HA failover, VRRPv3 advert {ADVERT} s, {FEED}-feed, '
          'nopreempt; ws clients at the VIP: the real fabtop, and "page" '
          'acting as the web page (both reconnect after 2 push periods of '
          'silence)')
    print('# seconds from the kill:')
    print('# how the master died       | from->to | VIP moved | new fabmond '
          'MASTER | fabtop hello | fabtop fresh top | page frame | '
          'last old frame | top-3 same | links old/new | topo version '
          'old/new')
    for r in results:
        print(f'# {r["name"]:<26} | {r["from"]}->{r["to"]}   | '
              f'{f(r["vip"]):>9} | {f(r["known"]):>18} | '
              f'{f(r["hello"]):>12} | {f(r["fresh"]):>16} | '
              f'{pg(r):>10} | {f(r["lastold"]):>14} | '
              f'{"yes" if r["same"] else "NO":>10} '
              f'| {r["links"]:>13} | {r["version"]}'
              + (f'   ({r["note"]})' if r.get('note') else ''))


def fresh_page(page):
    """A page that never recovered is reloaded (a new client), so that
    each failover is measured from a live connection."""
    if page.last(lambda x: x['ev'] == 'frame' and
                 x['t'] > time.time() - 3) is not None:
        return page
    page.stop()
    page = Watcher(page=True)
    page.first_after(0, lambda x: x['ev'] == 'frame', 10)
    return page


def main():
    if len(sys.argv) > 2 and sys.argv[1] in ('--watch', '--watch-page'):
        watch(sys.argv[2], page=sys.argv[1] == '--watch-page')
        return
    results, hp, w, page = [], [], None, None
    target = (f'{VIP}:6343' if FEED == 'vip'
              else f'{IP["c1"]}:6343,{IP["c2"]}:6343')
    env_up = dict(ENV, SFLOW_TARGET=target)
    try:
        r = subprocess.run([LAB, 'up'], env=env_up, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        ok(r.returncode == 0, f'ha-lab/lab up ({FEED}-feed: {target})',
           r.stdout[-500:])
        lab('wait')
        I = LAB_.info()
        keys = set()
        for host, dst, sport, gap in STREAMS:
            keys.add(f'{I[f"host.{host}.ip"]},{dst},17,{sport},53')
            hp.append(subprocess.Popen(
                [LAB, 'exec', host, 'hping3', '-n', '-q', '--udp', '-p', '53',
                 '-k', '-s', str(sport), '-i', gap, '-c', '200000', dst],
                env=ENV, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL))
        r = ha('start')
        ok(r.returncode == 0, 'ha-lab/fabmond + keepalived in c1 and c2',
           r.stdout[-800:])
        m = until(master, 20, 0.2)
        ok(m is not None, 'ha-lab/one MASTER holding the VIP')
        if m is None:
            return
        ready = pair_ready(m, keys)
        ok(ready is not None, 'ha-lab/MASTER and BACKUP, both healthy, '
           'each knowing the other; same top-3 and links on both (warm)',
           [state(n) for n in ('c1', 'c2')])
        if ready:
            sm, sb = ready
            ok(sm['peer']['role'] == 'BACKUP' and
               sb['peer']['role'] == 'MASTER' and
               sm['address'] == IP[m] and sm['holdsVip'] and
               not sb['holdsVip'] and sm['vrrp']['state'] == 'MASTER' and
               sm['roleSource'] == 'keepalived',
               'ha-lab//api/v1/ha: peer role, address, holdsVip, vrrp',
               sm)
        if FEED == 'vip':
            vipfeed_checks(m, 'at start')
        # configuration sync: a flow written to the MASTER is on the
        # BACKUP (and so survives the failovers below)
        bk = 'c2' if m == 'c1' else 'c1'
        spec = '{"keys":"ipsource,ipdestination","value":"bytes"}'
        st = put(m, '/flow/synced/json', spec)
        t0 = time.time()
        got = until(lambda: api(bk, '/flow/synced/json'), 10, 0.1)
        print(f'# config sync: a PUT on the MASTER on the BACKUP after '
              f'{time.time() - t0:.2f} s')
        ok(st in (200, 201, 204) and got is not None and
           got.get('keys') == 'ipsource,ipdestination',
           'ha-lab/config sync: a flow PUT on the MASTER reaches the BACKUP',
           (st, got))
        s_b = state(bk) or {}
        ok(s_b.get('snmpPace') == 6 and (state(m) or {}).get('snmpPace') == 1,
           'ha-lab/SNMP: the BACKUP polls 6 times less often',
           (s_b.get('snmpPace'), (state(m) or {}).get('snmpPace')))
        w = Watcher()
        page = Watcher(page=True)
        f = w.first_after(0, lambda x: x['ev'] == 'frame' and
                          x['topic'] == 'top' and set(x['keys']) == keys, 20)
        h = w.last(lambda x: x['ev'] == 'hello')
        ok(f is not None and h and h['role'] == 'MASTER' and
           h['server'] == IP[m],
           'ha-lab/ws at the VIP: hello with the MASTER role, top frames',
           (h, f))
        # Each push queues every topic, round robin: the ha frame of the
        # push that brought the top frame may still be on its way.
        ha_f = until(lambda: w.last(lambda x: x.get('topic') == 'ha'), 5,
                     0.05)
        ok(ha_f and ha_f['role'] == 'MASTER', 'ha-lab/ws: ha frames', ha_f)

        # 1. fabmond killed
        b = failover(w, 'fabmond SIGKILL', m,
                     lambda: ha('fabmond-kill', m, 'KILL'), keys, results,
                     page)
        ha('fabmond-start', m)
        page = fresh_page(page)
        ok(pair_ready(b, keys) is not None,
           f'ha-lab/fabmond SIGKILL: {m} restarted is a warm BACKUP')
        ok(api(b, '/flow/synced/json') is not None,
           'ha-lab/config sync: the new MASTER has the synced flow')
        ok(api(m, '/flow/synced/json') is not None,
           f'ha-lab/config sync: {m} restarted still has it (stored)')
        m = b
        # 2. keepalived stopped
        b = failover(w, 'keepalived SIGTERM', m,
                     lambda: ha('keepalived-kill', m, 'TERM'), keys, results,
                     page)
        s = state(m)
        ok(s and s['role'] == 'FAULT' and s['vrrp']['state'] == 'STOP',
           f'ha-lab/keepalived SIGTERM: {m}\'s fabmond says FAULT (STOP)', s)
        ha('keepalived-start', m)
        page = fresh_page(page)
        ok(pair_ready(b, keys) is not None,
           f'ha-lab/keepalived SIGTERM: {m} BACKUP again')
        m = b
        # 3. link down
        b = failover(w, 'link down', m, lambda: ha('link', m, 'down'),
                     keys, results, page)
        s = state(m)
        ok(s and s['role'] == 'FAULT' and not s['peer']['reachable'],
           f'ha-lab/link down: {m} says FAULT, peer unreachable', s)
        ha('link', m, 'up')
        page = fresh_page(page)
        ok(pair_ready(b, keys) is not None,
           f'ha-lab/link down: {m} BACKUP again once its link is up')
        m = b
        # 4. hung: fabmond stopped (SIGSTOP) stops renewing its track
        # file; keepalived's heartbeat check (fabmon-ha-check) notices
        b = failover(w, 'fabmond SIGSTOP (hung)', m,
                     lambda: ha('fabmond-kill', m, 'STOP'), keys, results,
                     page)
        ha('fabmond-kill', m, 'CONT')
        page = fresh_page(page)
        ok(pair_ready(b, keys) is not None,
           f'ha-lab/fabmond SIGSTOP: {m} continued is BACKUP again')
        m = b
        if FEED == 'vip':
            vipfeed_checks(m, 'after the failovers')
        else:
            # 5. sick: the track file
            m = sick(w, m, keys, results)
            ok(pair_ready(m, keys) is not None,
               'ha-lab/track: warm pair again')
        # 6. split brain
        split_brain(m)
        # 7. preemption
        preempt(w, keys)
        table(results)
        if results_dev:
            srt = sorted(results_dev)
            print(f'# rate continuity: backup vs master top-3 rates over '
                  f'{len(srt)} readings: median '
                  f'{100 * srt[len(srt) // 2]:.1f} %, max '
                  f'{100 * srt[-1]:.1f} %')
            # issue 9's bound, per flow (before this session's averaged
            # snapshots and warm-up wait: medians 5-7 %, single flows up
            # to 25 %)
            ok(srt[-1] < 0.10,
               'ha-lab/rate continuity: each of the backup\'s top-N rates '
               'is the master\'s within 10 %', srt)
    finally:
        for x in (w, page):
            if x is not None:
                x.stop()
        for p in hp:
            p.terminate()
        for p in hp:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        r = ha('stop')
        d = os.path.join(os.environ.get('LAB_DIR',
                                        f'/tmp/fabmon-lab-{PREFIX}'), 'ha')

        def read(path):
            try:
                with open(path) as fh:
                    return fh.read().strip()
            except OSError:
                return None
        for n in ('c1', 'c2'):
            # the wrapper writes it right after fabmond exits
            rc = until(lambda: read(os.path.join(d, n, 'fabmond.rc')), 5,
                       0.05)
            ok(rc == '0', f'ha-lab/{n}: fabmond exits 0 on SIGTERM', rc)
            tr = read(os.path.join(d, n, 'track'))
            ok(tr == '1', f'ha-lab/{n}: its track file says 1 once stopped',
               tr)
        lab('down')


if __name__ == '__main__':
    main()
    sys.exit(1 if fablib.failures else 0)
