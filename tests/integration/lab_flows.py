#!/usr/bin/env python3
"""lab_flows: sFlow-RT-style flow definitions against the lab fabric.

A script drives fabmond the way sFlow-RT users' scripts do (PUT a flow,
poll /activeflows) while hping3 sends one UDP 5-tuple from h1 (leaf l1)
to h5 (leaf l4). Checks:
- keys `link:inputifindex` give exactly the two fabric links the stream
  crossed (l1 -> one spine -> l4), named as the topology names them;
- edge top-N reports the stream's rate once, within the sampling error,
  while aggMode=sum counts it at every switch on its path (three times);
- bad definitions are refused with the position of the error.
"""
import json
import os
import re
import subprocess
import sys
import shutil
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from fablib import ok  # noqa: E402
import fablib  # noqa: E402

PREFIX = os.environ.get('LAB_PREFIX_TEST', f'fl{os.getpid() % 10000}')
LAB_ = fablib.Lab(PREFIX)
ENV = LAB_.env
LAB = LAB_.sh
lab, curl, get = LAB_.run, LAB_.curl, LAB_.get


def put_flow(name, spec):
    return curl(f'/flow/{name}/json', 'PUT', json.dumps(spec))


def main():
    tmp = tempfile.mkdtemp(prefix='fabmon-flows-test-')
    procs = []
    try:
        r = lab('up', check=False)
        if not ok(r.returncode == 0, 'flows/lab up', r.stdout[-1500:]):
            return 1
        log = open(os.path.join(tmp, 'fabmond.log'), 'w')
        procs.append(LAB_.fabmond(os.path.join(tmp, 'state'), log,
                                  '-o', 'engine.push_ms=500',
                                  '-o', 'snmp.counters_s=3',
                                  '-o', 'sflow.counters=0'))
        lab('wait', check=False)
        I = LAB_.info()
        topo = LAB_.wait_links()
        ok(topo and len(topo['links']) == 8, 'flows/topology known')
        run(I)
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


def run(I):
    h1, h5 = I['host.h1.ip'], I['host.h5.ip']
    flt = f'ipsource={h1}&ipdestination={h5}&udpdestinationport=53'
    code, body = put_flow('links', {'keys': 'link:inputifindex',
                                    'value': 'frames', 'filter': flt,
                                    'log': True, 'flowStart': True})
    ok(code == 204, 'flows/PUT a flow keyed by link:inputifindex, logged',
       body)
    # An sFlow-RT script: loop on /flows/json with flowID, print the keys.
    logged, stop = [], threading.Event()

    def flow_script():
        flow_id = -1
        while not stop.is_set():
            # fabmond listens inside the collector's namespace: curl there.
            code, body = curl('/flows/json?name=links&maxFlows=10&'
                              f'timeout=2&flowID={flow_id}')
            if code != 200:
                time.sleep(0.5)
                continue
            flows = json.loads(body)
            if not flows:
                continue
            flow_id = flows[0]['flowID']
            for f in reversed(flows):
                print(f"# flow log: {f['flowKeys']} agent {f['agent']} "
                      f"dataSource {f['dataSource']}")
                logged.append(f)
    script = threading.Thread(target=flow_script, daemon=True)
    script.start()
    code, body = put_flow('edge5', {
        'keys': 'ipsource,ipdestination,udpsourceport,udpdestinationport',
        'value': 'frames', 'filter': flt, 't': 2})
    ok(code == 204, 'flows/PUT a 5-tuple flow', body)
    code, body = put_flow('edge5', {
        'keys': 'ipsource,ipdestination,udpsourceport,udpdestinationport',
        'value': 'frames', 'filter': flt, 't': 2})
    ok(code == 204, 'flows/PUT it again: idempotent', body)
    listed = get('/flow/json')
    # ... beside the built-in definitions (history.h, topn.h)
    ok(listed and set(listed) == {'links', 'edge5', 'fabmon_links',
                                  'fabmon_flows'} and
       listed['links']['keys'] == 'link:inputifindex',
       'flows/GET /flow/json lists both, and the built-in ones', listed)

    def rx(node, port):  # noqa: E306
        return int(lab('exec', node, 'cat',
                       f'/sys/class/net/{port}/statistics/rx_packets').stdout)
    h1port = I['host.h1.port'].split(':')[1]
    # About 25 s of traffic; measure while it flows, past the smoothing:
    # the flows from 3 s to 8 s, the SNMP counters from 3 s to 22 s.
    hp = subprocess.Popen(
        [LAB, 'exec', 'h1', 'hping3', '-n', '-q', '-c', '22000', '-i',
         'u1000', '--udp', '-k', '-s', '40053', '-p', '53', h5], env=ENV,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    t_hp = time.time()
    time.sleep(3)
    # The agents export in bursts, so one reading ripples around the rate:
    # average readings taken every 0.5 s over the window the oracle spans.
    key = f'{h1},{h5},40053,53'
    rx0, t0 = rx('l1', h1port), time.time()
    reads = {'edge': [], 'sum': [], 'max': []}
    # SNMP IF-MIB counters (uacctd's counter samples are unusable): the
    # host port's input packet rate, one value per fabmond poll (every
    # 3 s), each poll's time from lastUpdate.
    polls = {}
    l1 = I['switch.l1.mgmt']

    def snmp_read():
        table = get(f'/table/{l1}/ifname,ifinpkts/json') or []
        now = time.time()
        for r in table:
            if r[0]['metricValue'] != h1port:
                continue
            t = now - r[1]['lastUpdate'] / 1000
            same = [k for k in polls if abs(k - t) < 0.3]
            polls[same[0] if same else t] = r[1]['metricValue']
    while time.time() - t0 < 5:
        for mode in reads:
            got = get(f'/activeflows/ALL/edge5/json?aggMode={mode}') or []
            reads[mode] += [f['value'] for f in got if f['key'] == key]
        snmp_read()
        time.sleep(0.5)
    # The oracle: the packets l1's host port really received meanwhile.
    rx1, t1 = rx('l1', h1port), time.time()
    links = get('/activeflows/ALL/links/json?maxFlows=10')
    pps = (rx1 - rx0) / (t1 - t0)
    while time.time() - t_hp < 22:
        snmp_read()
        time.sleep(0.5)
    rx2, t2, running = rx('l1', h1port), time.time(), hp.poll() is None
    snmp_pps = (rx2 - rx0) / (t2 - t0)
    prom = curl('/prometheus/metrics/ALL/ifinpkts,ifoututilization/txt')[1]
    hp.terminate()
    hp.wait(timeout=30)
    avg = {m: sum(v) / len(v) if v else 0 for m, v in reads.items()}
    print(f'# l1 {h1port} received {rx1 - rx0} packets in {t1 - t0:.1f}s '
          f'= {pps:.0f} pps; averages of {len(reads["edge"])} readings: '
          f'{ {m: round(v) for m, v in avg.items()} }')
    print(f'# links {links}')
    # Each top-N answer must hold the stream exactly once.
    edge = [{'key': key, 'value': avg['edge']}] if reads['edge'] else []
    summ = [{'key': key, 'value': avg['sum']}] if reads['sum'] else []
    mx = [{'key': key, 'value': avg['max']}] if reads['max'] else []
    e = [f['value'] for f in edge or [] if f['key'] == key]
    s = [f['value'] for f in summ or [] if f['key'] == key]
    x = [f['value'] for f in mx or [] if f['key'] == key]
    ok(len(e) == 1 and 0.6 * pps <= e[0] <= 1.4 * pps,
       f'flows/edge top-N: the stream once, within the sampling error '
       f'({e} vs {pps:.0f} pps)')
    ok(len(x) == 1 and 0.6 * pps <= x[0] <= 1.4 * pps,
       f'flows/max: not doubled by the switches it crosses ({x})')
    ok(len(s) == 1 and len(e) == 1 and 2.2 <= s[0] / e[0] <= 3.8,
       f'flows/sum: counted at each of the 3 switches ({s} vs {e})')
    # The links crossed: l1's uplink to one spine, that spine's link to l4.
    names = {f['key'] for f in links or []}
    lk = {l['name']: l for l in get('/api/v1/topology')['links']}
    spines = {lk[n]['node2'] if lk[n]['node1'].startswith('l')
              else lk[n]['node1'] for n in names if n in lk}
    ends = {tuple(sorted((lk[n]['node1'], lk[n]['node2'])))
            for n in names if n in lk}
    ok(len(names) == 2 and len(spines) == 1 and
       {e2[0] for e2 in ends} == {'l1', 'l4'},
       'flows/link:inputifindex names the two links crossed '
       '(l1 - spine - l4)', names)
    # The script saw the same links in the flow log.
    time.sleep(1.5)
    stop.set()
    script.join(timeout=10)
    lognames = {f['flowKeys'] for f in logged}
    ok(lognames == names and all(f['name'] == 'links' for f in logged),
       'flows/flow log (flowID loop): the links crossed, each once',
       (sorted(lognames), sorted(names)))
    # snmpd answers from a cache it refreshes every ~3 s, so a poll's
    # counters are up to 3 s older than the poll: one rate can be off by
    # up to 3 s / 3 s. Rates times their intervals add up to the counter's
    # increase, so the time-weighted mean over n polls is off by at most
    # 3 s / (the polls' span). Only intervals that start 3.5 s into the
    # traffic count: their baseline counters were read after it began.
    ts = sorted(polls)
    iv = [(ts[i] - ts[i - 1], polls[ts[i]]) for i in range(1, len(ts))
          if ts[i - 1] >= t_hp + 3.5]
    span = sum(d for d, _ in iv)
    snmp_avg = sum(d * v for d, v in iv) / span if span else 0
    ok(running and span >= 12 and
       0.75 * snmp_pps <= snmp_avg <= 1.25 * snmp_pps,
       f'metrics/SNMP ifinpkts of the host port matches the kernel '
       f'(mean {snmp_avg:.0f} over {span:.1f} s of polls '
       f'{[(round(t - t_hp, 1), round(polls[t])) for t in ts]} vs '
       f'{snmp_pps:.0f} pps; traffic still running: {running})')
    ok(re.search(r'sflow_ifinpkts\{agent="[0-9.]+",datasource="\d+",'
                 r'ifname="swp\d",node="l1"\} ', prom or '') is not None,
       'prometheus/series carry node and ifname labels from the topology',
       (prom or '')[:400])
    if shutil.which('promtool'):
        p = subprocess.run(['promtool', 'check', 'metrics'], input=prom,
                           capture_output=True, text=True)
        ok(p.returncode == 0, 'prometheus/lab output passes promtool',
           p.stdout + p.stderr)
    # Errors name the problem and its position.
    code, body = put_flow('bad', {'keys': 'ipsource', 'filter':
                                  'ipsource=10.0.0.0/8&(udpdestinationport=53'})
    ok(code == 400 and 'filter' in body and re.search(r'\d', body),
       'flows/bad filter -> 400 with its position', body)
    code, body = put_flow('bad', {'keys': 'ipsourc'})
    ok(code == 400 and 'ipsourc' in body, 'flows/unknown key -> 400', body)
    code, body = put_flow('bad', {'keys': 'ipsource', 'fliter': 'x'})
    ok(code == 400 and 'fliter' in body, 'flows/unknown field -> 400', body)
    code, _ = curl('/flow/links/json', 'DELETE')
    ok(code == 204 and get('/flow/links/json') is None and
       curl('/activeflows/ALL/links/json')[0] == 404,
       'flows/DELETE removes it')


if __name__ == '__main__':
    sys.exit(main())
