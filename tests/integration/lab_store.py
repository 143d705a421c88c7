#!/usr/bin/env python3
"""lab_store: history and definitions survive a restart (issue 5).

fabmond polls the lab fabric's IF-MIB counters (snmp.counters_s=3) while
hping3 sends one UDP 5-tuple from h1 (leaf l1) to h5 (leaf l4) at a fixed
rate for a little over two minutes. Then fabmond is restarted on the same
state directory. Checks, right after the restart:
- the flow definition and the threshold are back (GET /flow, /threshold);
- the fabric is there before any poll (the stored topology, restored);
- /api/v1/history/links/{link} returns the minutes of the traffic for
  the two fabric links the stream crossed, at the rate hping3 sent (the
  oracle: the kernel's tx counters of h1), and nothing like it on the
  links it did not cross;
- /api/v1/history/top gives the stream as the top flow fabric-wide (edge)
  and on those two links;
- /api/v1/events holds the topology events of the first run;
- the database passes PRAGMA integrity_check.
"""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from fablib import ok  # noqa: E402
import fablib  # noqa: E402

PREFIX = os.environ.get('LAB_PREFIX_TEST', f'st{os.getpid() % 10000}')
LAB_ = fablib.Lab(PREFIX)
ENV = LAB_.env
LAB = LAB_.sh
lab, curl, get = LAB_.run, LAB_.curl, LAB_.get
PAYLOAD = 1000


def start(tmp, log):
    return LAB_.fabmond(os.path.join(tmp, 'state'), log,
                        '-o', 'snmp.counters_s=3', '-o', 'sflow.counters=0',
                        '-o', 'store.batch_ms=500')


def stop(p):
    p.terminate()
    try:
        p.wait(timeout=15)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def wait_for(fn, timeout, step=0.5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(step)
    return fn()


def main():
    tmp = tempfile.mkdtemp(prefix='fabmon-store-test-')
    proc = None
    log = open(os.path.join(tmp, 'fabmond.log'), 'w')
    try:
        r = lab('up', check=False)
        if not ok(r.returncode == 0, 'store/lab up', r.stdout[-1500:]):
            return 1
        proc = start(tmp, log)
        lab('wait', check=False)
        I = LAB_.info()
        topo = LAB_.wait_links()
        if not ok(topo is not None, 'store/topology discovered'):
            return 1
        proc = run(I, tmp, log, proc)
    finally:
        if proc is not None:
            stop(proc)
        lab('down', check=False)
        if fablib.failures:
            log.flush()
            print('# fabmond log tail:\n# ' + open(os.path.join(
                tmp, 'fabmond.log')).read()[-3000:].replace('\n', '\n# '))
    return 1 if fablib.failures else 0


def tx_bytes(node, port):
    return int(lab('exec', node, 'cat',
                   f'/sys/class/net/{port}/statistics/tx_bytes').stdout)


def run(I, tmp, log, proc):
    h5 = I['host.h5.ip']
    code, _ = curl('/flow/pairs/json', 'PUT', json.dumps(
        {'keys': 'ipsource,ipdestination', 'value': 'bytes', 't': 5}))
    ok(code == 204, 'store/PUT a flow definition')
    code, _ = curl('/threshold/big/json', 'PUT', json.dumps(
        {'metric': 'pairs', 'value': 1e12}))
    ok(code == 204, 'store/PUT a threshold')
    # Traffic from 3 s before a minute starts until 2 s after the next
    # minute ends: two whole minutes of it.
    wait = 60 - time.time() % 60 - 3
    time.sleep(wait if wait > 0 else wait + 60)
    h1if = 'eth0'
    b0, t0 = tx_bytes('h1', h1if), time.time()
    first = (int(t0) // 60 + 1) * 60
    hp = subprocess.Popen(
        [LAB, 'exec', 'h1', 'hping3', '-n', '-q', '-i', 'u5000', '--udp',
         '-k', '-s', '40099', '-p', '9', '-d', str(PAYLOAD), h5], env=ENV,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Link state now, mid-way (SNMP IF-MIB counters every 3 s).
    time.sleep(30)
    bm, tm = tx_bytes('h1', h1if), time.time()
    ls = get('/api/v1/links')
    now_bps = (bm - b0) * 8 / (tm - t0)
    busy = []
    for l in (ls or {}).get('links', []):
        for d in l['directions']:
            if d['bps'] and d['bps'] > 0.5 * now_bps:
                busy.append((l['name'], d['from']['node'], d['to']['node'],
                             round(d['bps']), d['source'],
                             d['utilization']))
    print(f'# link state: sending {now_bps:.0f} b/s; busy directions {busy}')
    ok(len(busy) == 2 and all(0.6 * now_bps <= b[3] <= 1.4 * now_bps and
                              b[4] == 'snmp' and b[5] is not None
                              for b in busy) and
       sorted((b[1][0], b[2][0]) for b in busy) == [('l', 's'), ('s', 'l')]
       and any(b[1] == 'l1' for b in busy) and
       any(b[2] == 'l4' for b in busy),
       'links/now: the two links on the path carry the stream, from the '
       'counters, with utilisation', busy)
    prom = curl('/api/v1/prometheus')[1]
    ok(prom.count('fabmon_link_bps{') == 16 and
       'fabmon_link_utilization{link="' in prom,
       'links/exported to Prometheus (16 directions)', prom[:800])
    if shutil.which('promtool'):
        p = subprocess.run(['promtool', 'check', 'metrics'], input=prom,
                           capture_output=True, text=True)
        ok(p.returncode == 0, 'links/the export passes promtool',
           p.stdout + p.stderr)
    ends = [e for l in (ls or {}).get('links', []) for e in l['ends']]
    on_path = {b[1] for b in busy} | {b[2] for b in busy}
    ok(len(ends) == 16 and all(e['counters'] == 'snmp' for e in ends) and
       all(e['flows'] for e in ends if e['node'] in on_path),
       'links/every end has counters (SNMP); the switches on the path send '
       'flow samples (idle ones need not)', ends)
    time.sleep(first + 122 - time.time())
    b1, t1 = tx_bytes('h1', h1if), time.time()
    hp.terminate()
    hp.wait(timeout=30)
    sent_bps = (b1 - b0) * 8 / (t1 - t0)
    time.sleep(3)  # the last minute through the history thread and store
    h = get('/api/v1/health')
    print(f'# store health before restart: {json.dumps(h and h["store"])}')

    before = get('/api/v1/topology')
    stop(proc)
    proc = start(tmp, log)
    up = wait_for(lambda: get('/api/v1/health'), 20)
    ok(up is not None, 'store/fabmond restarted')
    topo = get('/api/v1/topology')
    ok(topo is not None and len(topo['links']) == 8,
       'store/the fabric is back at once (restored topology)',
       topo and len(topo['links']))
    flows = get('/flow/json') or {}
    ok('pairs' in flows and flows['pairs']['keys'] ==
       'ipsource,ipdestination', 'store/flow definition restored', flows)
    ths = get('/threshold/json') or {}
    ok('big' in ths, 'store/threshold restored', ths)

    # The links on the stream's path carry it; the others don't.
    sent = sent_bps
    frm, to = first, first + 120
    per_link = {}
    for link in (before or topo)['links']:
        name = link['name']
        hist = get(f'/api/v1/history/links/{name}?from={frm}&to={to}'
                   f'&step=60')
        if hist is None:
            per_link[name] = None
            continue
        best = 0
        for d in hist['directions']:
            pts = [p['bps'] for p in d['points'] if p.get('bps') is not None]
            if len(pts) >= 2:
                best = max(best, min(pts))
        per_link[name] = best
    print(f'# sent {sent:.0f} b/s from h1; history (min of the two '
          f'minutes, busiest direction) per link: '
          f'{ {k: round(v or 0) for k, v in per_link.items()} }')
    hot = [k for k, v in per_link.items() if v and v >= 0.7 * sent]
    ok(len(hot) == 2 and all(per_link[k] <= 1.5 * sent for k in hot),
       'store/history: two links carried the stream at the rate sent '
       '(l1 -> spine -> l4)', hot)
    ok(all(('l1' in k) != ('l4' in k) for k in hot) and
       any('l1' in k for k in hot) and any('l4' in k for k in hot),
       'store/history: the hot links are l1\'s uplink and l4\'s', hot)
    h1 = I['host.h1.ip']
    top = get(f'/api/v1/history/top?edge=1&from={frm}&to={to}')
    flows = (top or {}).get('flows', [])
    print(f'# top edge flows: {flows[:3]}')
    ok(flows and flows[0]['flow'] == f'{h1},{h5},17' and
       0.5 * sent <= flows[0]['bps'] <= 1.5 * sent,
       'store/history top (edge): the stream first, at the rate sent, '
       'once', flows[:3])
    lt = [get(f'/api/v1/history/top?link={k}&from={frm}&to={to}')
          for k in hot]
    ok(hot and all(t and t['flows'] and
                   t['flows'][0]['flow'] == f'{h1},{h5},17' for t in lt),
       'store/history top per link: the stream on the links it crossed',
       lt)
    ev = get(f'/api/v1/events?from={int(t0) - 600}&type=topology')
    ok(ev is not None and len(ev['events']) > 0,
       'store/events: the first run\'s topology events',
       ev and len(ev['events']))
    code, body = curl('/api/v1/history/links/nope?from=-600')
    ok(code == 404, 'store/history of an unknown link -> 404', body)
    code, body = curl('/api/v1/history/links/x?from=abc')
    ok(code == 400, 'store/history with a bad time -> 400', body)
    db = os.path.join(tmp, 'state', 'fabmon.db')
    c = sqlite3.connect(f'file:{db}?mode=ro', uri=True)
    ok(c.execute('PRAGMA integrity_check').fetchone()[0] == 'ok',
       'store/integrity_check ok')
    c.close()
    return proc


if __name__ == '__main__':
    sys.exit(main())
