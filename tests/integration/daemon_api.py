#!/usr/bin/env python3
"""daemon_api: sFlow-RT's REST API on loopback, fed synthetic sFlow.

The way sFlow-RT users' scripts drive it: the flow log long-poll looping
on flowID, thresholds and the /events/json long-poll, counter metrics
(/metric, /table, Prometheus checked by promtool), and forwarding to a
second fabmond, whose health counts what arrived. Expected values are
computed here from what the test sent, never read back from fabmond.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from fablib import Fabmond, ok  # noqa: E402
import fablib  # noqa: E402
import sflowgen as g  # noqa: E402

AGENT = '192.0.2.1'


def call(fab, method, path, body=None, timeout=10):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(fab.url(path), method=method, data=data)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, raw


class Sender:
    """sFlow from one agent, from 127.0.0.2 (so that a forwarding
    target on 127.0.0.1 is not mistaken for the sender)."""

    def __init__(self, fab, agent=AGENT):
        self.fab, self.agent, self.seq = fab, agent, 0
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(('127.0.0.2', 0))

    def send(self, samples):
        self.seq += 1
        self.s.sendto(g.datagram(self.agent, self.seq, samples),
                      ('127.0.0.1', self.fab.sflow_port))

    def flow(self, sport, dport, n=1, rate=100, ifindex=3):
        f, flen = g.udp_frame('10.0.0.1', '10.0.0.2', sport, dport)
        for _ in range(n):
            self.send([g.flow_sample(self.seq + 1, ifindex, rate, f, flen)])


def flow_log(fab):
    """sFlow-RT's flow log loop: PUT with log+flowStart, then long-poll
    /flows/json on flowID."""
    st, _ = call(fab, 'PUT', '/flow/udp/json', {
        'keys': 'ipsource,ipdestination,udpdestinationport',
        'value': 'frames', 'filter': 'udpdestinationport=53',
        'log': True, 'flowStart': True})
    ok(st == 204, 'flowlog/PUT a logged flow', st)
    t0 = time.time()
    st, got = call(fab, 'GET', '/flows/json?name=udp&maxFlows=10&timeout=0')
    ok(st == 200 and got == [] and time.time() - t0 < 1,
       'flowlog/timeout=0 answers at once, empty', got)

    snd = Sender(fab)
    res = {}

    def poll():
        t = time.time()
        res['r'] = call(fab, 'GET',
                        '/flows/json?name=udp&flowID=-1&timeout=20',
                        timeout=30)
        res['t'] = time.time() - t
    th = threading.Thread(target=poll)
    th.start()
    time.sleep(1.0)
    snd.flow(40000, 53, n=3, rate=100)
    snd.flow(40000, 80, n=3)  # filtered out
    th.join()
    st, recs = res['r']
    ok(st == 200 and len(recs) == 1 and 0.9 < res['t'] < 3,
       'flowlog/long-poll answered when the flow starts, not at timeout',
       f"{res.get('t'):.2f}s {recs}")
    r = recs[0] if recs else {}
    ok(r.get('flowKeys') == '10.0.0.1,10.0.0.2,53' and
       r.get('agent') == AGENT and r.get('dataSource') == '3' and
       r.get('name') == 'udp' and r.get('value') == 100 and
       r.get('start') == r.get('end') and
       abs(r.get('start', 0) / 1000 - time.time()) < 5,
       'flowlog/flowStart record: keys, agent, dataSource, first sample',
       r)
    fid = r.get('flowID', 0)
    t0 = time.time()
    st, got = call(fab, 'GET', f'/flows/json?name=udp&flowID={fid}&timeout=1')
    ok(st == 200 and got == [] and 0.9 < time.time() - t0 < 2.5,
       'flowlog/nothing newer than flowID: empty after the timeout',
       f'{time.time() - t0:.2f}s {got}')
    # The same key again is the same flow: no record. Two new sources
    # are two new flows, listed newest first.
    snd.flow(40001, 53)
    for src in ('10.0.0.3', '10.0.0.4'):
        f, flen = g.udp_frame(src, '10.0.0.2', 1, 53)
        snd.send([g.flow_sample(snd.seq + 1, 3, 100, f, flen)])
        time.sleep(0.05)
    time.sleep(0.5)
    st, got = call(fab, 'GET', f'/flows/json?name=udp&flowID={fid}&timeout=5')
    keys = [x['flowKeys'] for x in got]
    ids = [x['flowID'] for x in got]
    ok(st == 200 and keys == ['10.0.0.4,10.0.0.2,53', '10.0.0.3,10.0.0.2,53']
       and ids == sorted(ids, reverse=True) and ids[-1] > fid,
       'flowlog/new flows after flowID, newest first; a known one is not '
       'logged again', got)

    # activeTimeout: a long flow without flowStart is logged every
    # timeout, and the records' values add up to what was sent.
    st, _ = call(fab, 'PUT', '/flow/long/json', {
        'keys': 'udpdestinationport', 'value': 'frames',
        'filter': 'udpdestinationport=5000', 'log': True,
        'activeTimeout': 1})
    last = max([fid] + ids)
    time.sleep(0.3)
    for _ in range(10):
        snd.flow(40000, 5000, n=2, rate=10)
        time.sleep(0.25)
    time.sleep(2.5)
    st, got = call(fab, 'GET', f'/flows/json?name=long&flowID={last}&timeout=0')
    total = sum(x['value'] for x in got)
    ok(st == 200 and len(got) >= 2 and abs(total - 200) < 1e-6 and
       all(x['end'] >= x['start'] for x in got),
       'flowlog/activeTimeout: several records summing to the 200 frames '
       'sent', [(x['start'], x['end'], x['value']) for x in got])

    for q, why in (('flowID=abc', 'flowID'), ('maxFlows=0', 'maxFlows'),
                   ('timeout=99999', 'timeout'), ('name=a/b', 'name')):
        st, body = call(fab, 'GET', '/flows/json?' + q)
        ok(st == 400 and why in json.dumps(body),
           f'flowlog/bad {why} is a 400 naming it', body)

    # Many parked polls answered together, and a client that hangs up
    # while parked leaves fabmond well.
    s = socket.create_connection(('127.0.0.1', fab.http_port))
    s.sendall(b'GET /flows/json?flowID=999999999&timeout=30 HTTP/1.1\r\n'
              b'Host: x\r\n\r\n')
    s.close()
    out = []

    def waiter():
        out.append(call(fab, 'GET',
                        f'/flows/json?name=udp&flowID={last}&timeout=20',
                        timeout=30))
    ws = [threading.Thread(target=waiter) for _ in range(8)]
    for w in ws:
        w.start()
    time.sleep(1)
    snd.flow(40000, 53, n=1)  # same key: not a new flow
    f, flen = g.udp_frame('10.0.0.9', '10.0.0.2', 1, 53)
    snd.send([g.flow_sample(snd.seq + 1, 3, 100, f, flen)])
    for w in ws:
        w.join()
    ok(len(out) == 8 and all(st == 200 and len(r) == 1 and
                              r[0]['flowKeys'] == '10.0.0.9,10.0.0.2,53'
                              for st, r in out),
       'flowlog/8 parked polls all answered with the new flow',
       [(st, len(r)) for st, r in out])


def thresholds(fab):
    st, _ = call(fab, 'PUT', '/flow/bytes53/json', {
        'keys': 'ipsource', 'value': 'frames',
        'filter': 'udpdestinationport=53', 't': 1})
    st, _ = call(fab, 'PUT', '/threshold/busy/json', {
        'metric': 'bytes53', 'value': 500, 'byFlow': True, 'timeout': 60,
        'filter': {'agent': [AGENT]}})
    ok(st == 204, 'threshold/PUT', st)
    st, got = call(fab, 'GET', '/threshold/busy/json')
    ok(st == 200 and got.get('metric') == 'bytes53' and
       got.get('value') == 500 and got.get('byFlow') is True,
       'threshold/GET returns it', got)
    st, body = call(fab, 'PUT', '/threshold/bad/json', {'metrc': 'x'})
    ok(st == 400 and 'metrc' in json.dumps(body),
       'threshold/unknown field is a 400 naming it', body)
    st, ev0 = call(fab, 'GET', '/events/json?maxEvents=100')
    last = max([e['eventID'] for e in ev0] or [-1])
    res = {}

    def poll():
        res['r'] = call(fab, 'GET',
                        f'/events/json?eventID={last}&timeout=20', timeout=30)
    th = threading.Thread(target=poll)
    th.start()
    snd = Sender(fab)
    # 10 samples x rate 100 in 1 s: about 1000 frames/s with t=1, well
    # over 500; an agent the filter leaves out sends the same.
    other = Sender(fab, agent='192.0.2.77')
    for _ in range(10):
        snd.flow(1, 53)
        other.flow(1, 53)
        time.sleep(0.1)
    th.join()
    st, evs = res['r']
    ok(st == 200 and len(evs) == 1 and evs[0]['thresholdID'] == 'busy' and
       evs[0]['agent'] == AGENT and evs[0]['dataSource'] == '3' and
       evs[0]['flowKey'] == '10.0.0.1' and evs[0]['value'] >= 500 and
       evs[0]['threshold'] == 500,
       'threshold/one event, filtered agent only, with its flowKey', evs)
    # Still above: no second event (the key stays disarmed).
    for _ in range(5):
        snd.flow(1, 53)
        time.sleep(0.1)
    eid = evs[0]['eventID'] if evs else last
    st, more = call(fab, 'GET', f'/events/json?eventID={eid}&timeout=1')
    ok(st == 200 and more == [], 'threshold/no repeat while above', more)
    st, _ = call(fab, 'DELETE', '/threshold/busy/json')
    st2, _ = call(fab, 'GET', '/threshold/busy/json')
    ok(st == 204 and st2 == 404, 'threshold/DELETE', (st, st2))


def metrics(fab):
    snd = Sender(fab, agent='192.0.2.5')
    # 1 Gb/s port; in: 12.5 MB per second (10%), out: 2.5 MB/s.
    for k in range(4):
        snd.send([g.counter_sample(k + 1, 7, 10**9, 10**6 + k * 12500000,
                                   k * 2500000, in_pkts=k * 1000,
                                   in_disc=k * 5)])
        time.sleep(1)
    time.sleep(0.3)
    st, m = call(fab, 'GET', '/metric/192.0.2.5/ifinutilization,'
                 'ifoutoctets,ifindiscards,ifoperstatus/json')
    vals = {x['metricName']: x.get('metricValue') for x in m}
    ok(st == 200 and abs(vals.get('ifinutilization', 0) - 10) < 1.5 and
       abs(vals.get('ifoutoctets', 0) - 2500000) < 400000 and
       abs(vals.get('ifindiscards', 0) - 5) < 1 and
       vals.get('ifoperstatus') == 'up',
       'metrics/utilisation, rates and status from counter samples', m)
    st, t = call(fab, 'GET', '/table/192.0.2.5/ifindex,ifinoctets/json')
    ok(st == 200 and len(t) == 1 and t[0][0]['metricValue'] == 7,
       'metrics/table: one row per interface', t)
    st, body = call(fab, 'GET', '/metric/ALL/ifnosuch/json')
    ok(st == 400 and 'ifnosuch' in json.dumps(body),
       'metrics/unknown metric is a 400 naming it', body)
    with urllib.request.urlopen(fab.url(
            '/prometheus/metrics/ALL/ALL/txt')) as r:
        text = r.read().decode()
        ctype = r.headers.get('Content-Type', '')
    ok('sflow_ifinutilization{agent="192.0.2.5",datasource="7"}' in text
       and ctype.startswith('text/plain'),
       'prometheus/series sflow_<metric> with agent and datasource labels',
       text[:300])
    if shutil.which('promtool'):
        p = subprocess.run(['promtool', 'check', 'metrics'], input=text,
                           capture_output=True, text=True)
        ok(p.returncode == 0, 'prometheus/promtool check metrics passes',
           p.stdout + p.stderr)
    else:
        ok(False, 'prometheus/promtool check metrics passes',
           'promtool missing: make deps installs prometheus')


def forwarding(fab, tmp):
    os.makedirs(os.path.join(tmp, 'peer'))
    peer = Fabmond(os.path.join(tmp, 'peer'), extra=['-o', 'snmp.enable=0'])
    try:
        st, _ = call(fab, 'PUT', '/forwarding/peer/json',
                     {'address': '127.0.0.1', 'port': peer.sflow_port})
        st2, _ = call(fab, 'PUT', '/forwarding/only77/json',
                      {'address': '127.0.0.1', 'port': peer.sflow_port,
                       'agents': ['192.0.2.77']})
        ok(st == 204 and st2 == 204, 'forwarding/PUT', (st, st2))
        st, body = call(fab, 'PUT', '/forwarding/x/json',
                        {'address': 'collector.example'})
        ok(st == 400 and 'address' in json.dumps(body),
           'forwarding/a hostname is refused (no DNS)', body)
        time.sleep(0.3)
        a, b = Sender(fab, agent='192.0.2.31'), Sender(fab, agent='192.0.2.77')
        for _ in range(20):
            a.flow(1, 53)
        for _ in range(5):
            b.flow(1, 53)
        h = peer.wait_health(lambda h: h['ingest']['datagrams'] >= 30)
        per = {x['agent']: x['datagrams'] for x in h['agents']}
        ok(per == {'192.0.2.31': 20, '192.0.2.77': 10},
           'forwarding/the peer counts every datagram once per target '
           '(agents filter honoured)', per)
        st, f = call(fab, 'GET', '/forwarding/only77/json')
        ok(st == 200 and f['datagrams'] == 5 and f['skipped'] >= 20,
           'forwarding/counters: sent and skipped', f)
        # The peer forwarding back to us: no loop.
        call(peer, 'PUT', '/forwarding/back/json',
             {'address': '127.0.0.1', 'port': fab.sflow_port})
        time.sleep(0.3)
        before = fab.json('/api/v1/health')['ingest']['datagrams']
        a.flow(2, 53)
        time.sleep(1)
        after = fab.json('/api/v1/health')['ingest']['datagrams']
        st, back = call(peer, 'GET', '/forwarding/back/json')
        ok(after - before == 1 and back['looped'] >= 1 and
           back['datagrams'] == 0,
           'forwarding/two daemons forwarding to each other: no loop',
           (after - before, back))
        call(fab, 'DELETE', '/forwarding/only77/json')
        st, _ = call(fab, 'GET', '/forwarding/only77/json')
        ok(st == 404, 'forwarding/DELETE', st)
    finally:
        peer.stop()


def main():
    tmp = tempfile.mkdtemp(prefix='fabmon-api-')
    fab = Fabmond(tmp, extra=['-o', 'snmp.enable=0'])
    try:
        flow_log(fab)
        thresholds(fab)
        metrics(fab)
        forwarding(fab, tmp)
        ok(fab.alive(), 'api/fabmond alive after it all')
    finally:
        st = fab.stop()
        ok(st == 0, 'api/clean exit', st)
        if fablib.failures:
            print('# fabmond log:\n# ' +
                  fab.logtext().replace('\n', '\n# ')[-3000:])
    return 1 if fablib.failures else 0


if __name__ == '__main__':
    sys.exit(main())
