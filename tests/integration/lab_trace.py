#!/usr/bin/env python3
"""lab_trace: live trace-flow against the lab fabric (issue 6, trace).

- POST /api/v1/trace with a filter, then hping3 from h1 (leaf l1) to h5
  (leaf l4) with one source port (-k -s): the path is exactly l1 -> one
  spine -> l4, with the real ports and links, ingress h1's port and
  egress h5's, every share 1. The time from hping3's first packet to the
  first GET that shows the whole path is printed.
- Without -k (hping3 moves its source port every packet) the same trace
  shows both spines, each with a share near 1/2.
- Bad filters give 400, unknown traces 404, DELETE removes it.
- Black hole by valley routing (LAB.md): with l4's route to h5 deleted,
  l4 sends h5's traffic back up to the spines, which send it down again
  until the TTL runs out. A valley event names l4 and 10.2.4.0/24, the
  spines hairpin, the TTL loops; all end after the route comes back and
  are stored.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from fablib import ok  # noqa: E402
import fablib  # noqa: E402

PREFIX = os.environ.get('LAB_PREFIX_TEST', f'tr{os.getpid() % 10000}')
LAB_ = fablib.Lab(PREFIX)
ENV = LAB_.env
LAB = LAB_.sh
lab, curl, get = LAB_.run, LAB_.curl, LAB_.get


def hping(h5, port, fixed):
    args = ['hping3', '-n', '-q', '-i', 'u2000', '--udp', '-p', str(port)]
    if fixed:
        args += ['-k', '-s', '40123']
    return subprocess.Popen([LAB, 'exec', 'h1', *args, h5], env=ENV,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def stop(p):
    p.terminate()
    p.wait(timeout=30)


def complete(path):
    return (path is not None and path['stages'] == 3 and
            path['ingress'] is not None and path['egress'] is not None)


def main():
    tmp = tempfile.mkdtemp(prefix='fabmon-trace-test-')
    procs = []
    try:
        r = lab('up', check=False)
        if not ok(r.returncode == 0, 'trace/lab up', r.stdout[-1500:]):
            return 1
        log = open(os.path.join(tmp, 'fabmond.log'), 'w')
        procs.append(LAB_.fabmond(os.path.join(tmp, 'state'), log,
                                  '-o', 'engine.push_ms=100',
                                  '-o', 'sflow.counters=0',
                                  '-o', 'blackhole.quiet_s=3'))
        lab('wait', check=False)
        I = LAB_.info()
        topo = LAB_.wait_links()
        ok(topo and len(topo['links']) == 8, 'trace/topology known')
        run(I, topo)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        lab('down', check=False)
        if fablib.failures:
            print('# fabmond log tail:\n# ' + open(os.path.join(
                tmp, 'fabmond.log')).read()[-2000:].replace('\n', '\n# '))
    return 1 if fablib.failures else 0


def run(I, topo):
    h1, h5 = I['host.h1.ip'], I['host.h5.ip']
    h1port = I['host.h1.port'].split(':')[1]
    h5port = I['host.h5.port'].split(':')[1]
    links = {l['name']: l for l in topo['links']}

    code, body = curl('/api/v1/trace', 'POST', json.dumps(
        {'filter': f'ipsource={h1}&ipdestination={h5}&udpdestinationport=9'}))
    ok(code == 201, 'trace/POST a trace', body)
    tid = json.loads(body)['id'] if code == 201 else 0
    p = hping(h5, 9, True)
    t0 = time.time()
    path, first = None, None
    while time.time() - t0 < 15:
        path = get(f'/api/v1/trace/{tid}')
        if complete(path) and first is None:
            first = time.time() - t0
        if first is not None and time.time() - t0 > first + 3:
            break  # let the rates settle
        time.sleep(0.1)
    path = get(f'/api/v1/trace/{tid}')
    stop(p)
    print(f'# first complete path {first and round(first, 2)} s after '
          f'hping3 started (engine.push_ms=100, GET every 0.1 s)')
    hops = path['hops'] if path else []
    print('# ' + json.dumps([(h['stage'], h['node'], h['inPort'],
                              h['outPort'], round(h['fps']),
                              round(h['share'], 2)) for h in hops]))
    ok(first is not None, 'trace/the path appears', path)
    ok(path and path['stages'] == 3 and len(hops) == 3 and
       [h['node'] for h in hops][0] == 'l1' and hops[2]['node'] == 'l4' and
       hops[1]['role'] == 'spine',
       'trace/one 5-tuple: exactly l1 -> one spine -> l4', hops)
    ok(path and path['ingress'] == {'node': 'l1', 'port': h1port,
                                    'host': 'h1'} and
       path['egress'] == {'node': 'l4', 'port': h5port, 'host': 'h5'},
       'trace/ingress is h1\'s port on l1, egress h5\'s on l4',
       path and (path['ingress'], path['egress']))
    if len(hops) == 3:
        spine = hops[1]['node']
        ok(hops[0]['outLink'] == hops[1]['inLink'] and
           hops[1]['outLink'] == hops[2]['inLink'] and
           hops[0]['outLink'] in links and hops[2]['inLink'] in links and
           hops[0]['to'] == spine and hops[2]['from'] == spine,
           'trace/the hops chain over real links', hops)
        ok(all(abs(h['share'] - 1) < 1e-9 for h in hops) and
           all(h['discard'] is None for h in hops) and
           hops[0]['ttl'] > hops[1]['ttl'] > hops[2]['ttl'],
           'trace/shares 1, no discard, TTL falls hop by hop', hops)
        ok(all(h['firstSeen'] <= h['lastSeen'] for h in hops),
           'trace/first and last seen', hops)

    # Many source ports: ECMP over both spines.
    code, body = curl('/api/v1/trace', 'POST', json.dumps(
        {'filter': f'ipsource={h1}&ipdestination={h5}&udpdestinationport=10'}))
    tid2 = json.loads(body)['id'] if code == 201 else 0
    p = hping(h5, 10, False)
    time.sleep(8)
    path = get(f'/api/v1/trace/{tid2}')
    stop(p)
    hops = path['hops'] if path else []
    print('# ' + json.dumps([(h['stage'], h['node'], h['inPort'],
                              h['outPort'], round(h['fps']),
                              round(h['share'], 2)) for h in hops]))
    spines = [h for h in hops if h['role'] == 'spine']
    ok(len(spines) == 2 and all(0.3 <= h['share'] <= 0.7 for h in spines),
       'trace/many source ports: both spines, shares near 1/2', spines)

    code, body = curl('/api/v1/trace', 'POST', json.dumps(
        {'filter': 'ipsource=10.0.0.0/33'}))
    ok(code == 400 and 'filter' in body, 'trace/a bad filter -> 400', body)
    code, body = curl('/api/v1/trace', 'POST', '{"filtr": "x"}')
    ok(code == 400, 'trace/no filter -> 400', body)
    ok(curl('/api/v1/trace/999')[0] == 404, 'trace/unknown -> 404')
    listed = get('/api/v1/trace') or []
    ok(sorted(t['id'] for t in listed) == sorted([tid, tid2]),
       'trace/GET /api/v1/trace lists both', listed)
    valley(I)
    code, _ = curl(f'/api/v1/trace/{tid}', 'DELETE')
    ok(code == 204 and curl(f'/api/v1/trace/{tid}')[0] == 404 and
       f'trace-{tid}' not in (get('/flow/json') or {}),
       'trace/DELETE removes it and its flow definition')


def valley(I):
    h5 = I['host.h5.ip']
    leaf, port = I['host.h5.port'].split(':')
    n = leaf[1:]
    prefix = '.'.join(h5.split('.')[:3]) + '.0/24'
    t0 = time.time()
    lab('exec', leaf, 'ip', 'route', 'del', f'{h5}/32')
    p = hping(h5, 11, True)
    ev, kinds = [], set()
    while time.time() - t0 < 20 and not {'valley', 'hairpin',
                                        'ttl_loop'} <= kinds:
        time.sleep(0.5)
        ev = (get('/api/v1/blackholes') or {}).get('events', [])
        kinds = {e['reason'] for e in ev}
    stop(p)
    lab('exec', leaf, 'ip', 'route', 'add', f'{h5}/32', 'dev', port, 'src',
        f'10.2.{n}.1')
    print('# ' + json.dumps([(e['type'], e['node'], e['prefix'],
                              e['reason'], round(e['fps'])) for e in ev]))
    v = [e for e in ev if e['reason'] == 'valley']
    ok(len(v) == 1 and v[0]['node'] == leaf and v[0]['prefix'] == prefix
       and v[0]['end'] is None and v[0]['evidence'],
       f'blackhole/valley routing: an event names {leaf} and {prefix}', ev)
    hp = [e for e in ev if e['reason'] == 'hairpin']
    ok(hp and all(e['node'] in ('s1', 's2') and e['prefix'] == prefix
                  for e in hp), 'blackhole/the spines hairpin', hp)
    ok(any(e['type'] == 'ttl_loop' and e['prefix'] == prefix for e in ev),
       'blackhole/the TTL loops', ev)
    # The route is back: every event ends once quiet (blackhole.quiet_s=3).
    deadline = time.time() + 20
    while time.time() < deadline:
        ev = (get('/api/v1/blackholes') or {}).get('events', [])
        if ev and all(e['end'] for e in ev):
            break
        time.sleep(0.5)
    ok(ev and all(e['end'] for e in ev),
       'blackhole/the events end after the route comes back', ev)
    time.sleep(2)  # the history thread stores them
    st = get(f'/api/v1/events?from={int(t0) - 5}&type=blackhole') or {}
    ok(any(e['reason'] == 'valley' and e['node'] == leaf and
           e['end'] for e in st.get('events', [])),
       'blackhole/stored with start and end', st)


if __name__ == '__main__':
    sys.exit(main())
