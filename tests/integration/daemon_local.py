#!/usr/bin/env python3
"""daemon_local: fabmond on loopback, fed real captures and hostile input.

Checks that good datagrams are counted per agent, that each class of bad
input is counted per agent and per error class in /api/v1/health, that
garbage HTTP requests get 4xx and a counter, and that fabmond never dies.
"""
import json
import os
import random
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from fablib import FIXTURES, Fabmond, ok  # noqa: E402
import fablib  # noqa: E402
from pcap_send import udp_payloads  # noqa: E402


def u32(*v):
    return b''.join(struct.pack('>I', x) for x in v)


def header(agent=b'\xc0\x00\x02\x09', seq=1, nsamples=1, version=5,
           atype=1):
    return u32(version, atype) + agent + u32(0, seq, 1000, nsamples)


def flow_sample(seq=1):
    # A compact flow sample with no records.
    body = u32(seq, 3, 10, 100, 0, 3, 4, 0)
    return u32(1, len(body)) + body


def main():
    tmp = tempfile.mkdtemp(prefix='fabmon-local-')
    fab = Fabmond(tmp)
    try:
        run(fab)
    finally:
        st = fab.stop()
        ok(st == 0, 'daemon/clean exit on SIGTERM', f'status {st}')
        if fablib.failures:
            print('# fabmond log:\n# ' +
                  fab.logtext().replace('\n', '\n# ')[-3000:])
    dual_stack(tempfile.mkdtemp(prefix='fabmon-local6-'))
    idle(tempfile.mkdtemp(prefix='fabmon-idle-'))
    discard_event(tempfile.mkdtemp(prefix='fabmon-discard-'))
    return 1 if fablib.failures else 0


def discard_event(tmp):
    """A real capture of a discarded packet (output format 1, host
    unreachable), sent three times: a discard black-hole event, its
    reason, node and destination prefix; it ends once quiet."""
    fab = Fabmond(tmp, extra=['-o', 'snmp.enable=0',
                              '-o', 'blackhole.quiet_s=2'])
    try:
        dg = list(udp_payloads(os.path.join(
            FIXTURES, 'sflow-data-discard-interface.pcap')))
        fab.send(dg * 3)
        ev = []
        deadline = time.time() + 10
        while time.time() < deadline and not ev:
            ev = fab.json('/api/v1/blackholes')['events']
            time.sleep(0.2)
        e = ev[0] if ev else {}
        ok(len(ev) == 1 and e['type'] == 'discard' and
           e['reason'] == 'host_unreachable' and e['node'] == '172.16.0.3'
           and e['prefix'].endswith('/64') and e['end'] is None and
           e['samples'] == 3 and e['evidence'][0]['inPort'] == '27',
           'blackhole/a discard sample from a real capture opens an event',
           ev)
        prom = fab.get('/api/v1/prometheus')[1]
        if isinstance(prom, bytes):
            prom = prom.decode()
        ok('fabmon_blackhole_active{type="discard",node="172.16.0.3",'
           'prefix="' in prom and 'reason="host_unreachable"} 1' in prom,
           'blackhole/exported to Prometheus while open', prom[:600])
        if shutil.which('promtool'):
            p = subprocess.run(['promtool', 'check', 'metrics'], input=prom,
                               capture_output=True, text=True)
            ok(p.returncode == 0, 'blackhole/the export passes promtool',
               p.stdout + p.stderr)
        deadline = time.time() + 10
        while time.time() < deadline and ev and ev[0]['end'] is None:
            ev = fab.json('/api/v1/blackholes')['events']
            time.sleep(0.3)
        ok(ev and ev[0]['end'] is not None,
           'blackhole/the event ends once quiet (blackhole.quiet_s)', ev)
        stored = fab.json('/api/v1/events?from=-600&type=blackhole')
        deadline = time.time() + 5
        while time.time() < deadline and not any(
                x['end'] for x in stored['events']):
            time.sleep(0.3)
            stored = fab.json('/api/v1/events?from=-600&type=blackhole')
        ok(len(stored['events']) == 1 and stored['events'][0]['end'] and
           stored['events'][0]['reason'] == 'discard:host_unreachable',
           'blackhole/stored as one event with its end', stored)
    finally:
        fab.stop()


def cpu_ticks(pid):
    with open(f'/proc/{pid}/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def thread_nice(pid):
    """{thread name: [nice values]} of pid's threads, from /proc."""
    out = {}
    for tid in os.listdir(f'/proc/{pid}/task'):
        try:
            with open(f'/proc/{pid}/task/{tid}/stat') as f:
                st = f.read()
        except FileNotFoundError:
            continue
        name = st[st.index('(') + 1:st.rindex(')')]
        nice = int(st.rsplit(')', 1)[1].split()[16])
        out.setdefault(name, []).append(nice)
    return out


def roles(pid):
    """The threads are named, and those that do bulk work (the store,
    the history, the topology) run 10 nice steps below the ingest thread
    and the service loop: on a busy CPU they must not stop the ingest
    thread long enough for the kernel to drop datagrams."""
    th = thread_nice(pid)
    main = th.get('fabmond', [None])[0]
    ok(main is not None and all(
        th.get(k) == [main + inc] for k, inc in
        (('fab-ingest', 0), ('fab-store', 10), ('fab-history', 10),
         ('fab-topology', 10))),
       'daemon/threads named; bulk threads 10 nice steps below ingest',
       th)


def idle(tmp):
    """An idle fabmond sleeps: no thread may spin (the topology thread
    once did, between SNMP polls and always with snmp.enable=0)."""
    fab = Fabmond(tmp, extra=['-o', 'snmp.enable=0'])
    try:
        time.sleep(1)
        hz = os.sysconf('SC_CLK_TCK')
        c0, t0 = cpu_ticks(fab.proc.pid), time.time()
        time.sleep(3)
        used = (cpu_ticks(fab.proc.pid) - c0) / hz / (time.time() - t0)
        ok(used < 0.10, 'daemon/idle fabmond (snmp.enable=0) uses under '
           '10% of a core', f'{used:.0%}')
        roles(fab.proc.pid)
    finally:
        fab.stop()


def dual_stack(tmp):
    """One [::] socket takes IPv4 (v4-mapped, shown as IPv4) and IPv6."""
    fab = Fabmond(tmp, sflow_host='::')
    try:
        a4, a6 = b'\xc0\x00\x02\x04', b'\xc0\x00\x02\x06'
        fab.send([header(a4, 1) + flow_sample()], to='127.0.0.1')
        fab.send([header(a6, 1) + flow_sample()], to='::1')
        h = fab.wait_health(lambda h: h['ingest']['datagrams'] >= 2)
        src = {a['agent']: a['source'] for a in h['agents']}
        ok(src.get('192.0.2.4') == '127.0.0.1' and
           src.get('192.0.2.6') == '::1',
           'ingest/dual-stack [::] listener: IPv4 and IPv6 sources', src)
    finally:
        fab.stop()


def run(fab):
    h = fab.json('/api/v1/health')
    ok(h['status'] == 'ok' and h['ingest']['alive'], 'health/starts ok',
       h['status'])
    st, body = fab.get('/version')
    ok(st == 200 and body.strip() == b'0.1.0', 'api/version', body)

    # A flow definition, so that every datagram below also goes through
    # the engine (keys, filter, table).
    req = urllib.request.Request(
        fab.url('/flow/pairs/json'), method='PUT', data=json.dumps({
            'keys': 'ipsource,ipdestination,stack', 'value': 'bytes',
            'filter': 'ipprotocol=6,17|icmptype!=null'}).encode())
    with urllib.request.urlopen(req, timeout=5) as r:
        ok(r.status == 204, 'flows/PUT a flow before the traffic')

    # Real captures: every fixture datagram counted under its agent.
    good = []
    for f in sorted(os.listdir(FIXTURES)):
        if f.startswith('sflow-'):
            good += list(udp_payloads(os.path.join(FIXTURES, f)))
    fab.send(good)
    h = fab.wait_health(lambda h: h['ingest']['datagrams'] >= len(good))
    ok(h['ingest']['datagrams'] == len(good), 'ingest/all fixture datagrams',
       f"{h['ingest']['datagrams']} of {len(good)}")
    agents = {(a['agent'], a['subAgentId']): a for a in h['agents']}
    ok(('172.16.0.3', 0) in agents and ('49.49.49.49', 1) in agents,
       'ingest/agents keyed by agent address and sub-agent', list(agents))
    ok(sum(a['errors'][k] for a in h['agents'] for k in a['errors']) == 0,
       'ingest/real captures decode without errors')
    ok(sum(a['samples'] for a in h['agents']) == h['ingest']['samples'] > 0,
       'ingest/samples summed per agent')
    rt = fab.json('/agents/json')
    ok('172.16.0.3' in rt and rt['172.16.0.3']['sFlowFlowSamples'] >= 1,
       'api/agents/json sFlow-RT shape', str(list(rt))[:200])

    # Sequence gaps: agent 192.0.2.50 sends 1, 2, 5 -> 2 lost.
    a50 = b'\xc0\x00\x02\x32'
    fab.send([header(a50, s) + flow_sample(s) for s in (1, 2, 5)])
    h = fab.wait_health(lambda h: any(
        a['agent'] == '192.0.2.50' and a['datagrams'] == 3
        for a in h['agents']))
    a = [a for a in h['agents'] if a['agent'] == '192.0.2.50']
    ok(a and a[0]['seqLost'] == 2, 'ingest/sequence-gap loss per agent',
       a and a[0]['seqLost'])

    # Hostile input, one class each, from agent 192.0.2.9 where the
    # header holds, else keyed by the UDP source (127.0.0.1).
    a9 = b'\xc0\x00\x02\x09'
    hostile = {
        'truncated': [b'', b'\x00\x00', header()[:10]],
        'bad_version': [header(version=4), header(version=0xffffffff)],
        'bad_address_type': [header(atype=7)],
        'bad_count': [header(a9, 10, nsamples=0xffffffff) + flow_sample()],
        'sample_overrun': [header(a9, 11) + u32(1, 0x7fffffff) + b'x' * 40],
        # an extended-switch record (16 bytes) declared 8 bytes long
        'length_mismatch': [header(a9, 12) + u32(1, 48) +
                            u32(1, 3, 10, 100, 0, 3, 4, 1) +
                            u32(1001, 8, 10, 0)],
        'oversize': [header(a9, 13) + flow_sample() + b'\0' * 20000],
    }
    before = h['ingest']['errors']
    sent = 0
    for cls, dgs in hostile.items():
        fab.send(dgs)
        sent += len(dgs)
    total = h['ingest']['datagrams'] + sent
    h = fab.wait_health(lambda h: h['ingest']['datagrams'] >= total)
    ok(h['ingest']['datagrams'] == total, 'hostile/every datagram counted',
       f"{h['ingest']['datagrams']} of {total}")
    for cls, dgs in hostile.items():
        got = h['ingest']['errors'][cls] - before[cls]
        ok(got >= len(dgs), f'hostile/{cls} counted',
           f'{got} < {len(dgs)}')
    by_src = [a for a in h['agents'] if a['agent'] is None]
    ok(by_src and by_src[0]['source'] == '127.0.0.1' and
       by_src[0]['errors']['bad_version'] == 2,
       'hostile/undecodable datagrams keyed by UDP source',
       str(by_src)[:300])
    a = [a for a in h['agents'] if a['agent'] == '192.0.2.9']
    ok(a and a[0]['errors']['bad_count'] == 1 and
       a[0]['errors']['sample_overrun'] == 1 and
       a[0]['errors']['length_mismatch'] == 1,
       'hostile/errors counted per agent and class', str(a)[:400])

    # Random garbage: many datagrams, fabmond survives and counts them.
    rnd = random.Random(42)
    junk = []
    for i in range(3000):
        n = rnd.choice([1, 7, 28, 100, 600, 1400])
        b = bytearray(rnd.getrandbits(8) for _ in range(n))
        if i % 2 and n >= 28:
            b[0:8] = u32(5, 1)  # plausible header, garbage after
        junk.append(bytes(b))
    fab.send(junk)
    total += len(junk)
    h = fab.wait_health(lambda h: h['ingest']['datagrams'] + h['ingest']
                        ['kernelDrops'] >= total, timeout=20)
    ok(fab.alive() and h['ingest']['datagrams'] + h['ingest']['kernelDrops']
       == total, 'hostile/3000 random datagrams survived and counted',
       f"{h['ingest']['datagrams']}+{h['ingest']['kernelDrops']} of {total}")

    # The ingest thread's pauses: each kind timed; a batch of datagrams
    # took some time; the longest since the start is at least the
    # period's.
    ing = h['ingest']
    kinds = {'tick', 'batch', 'publish'}
    ok(set(ing['pauseMs']) == kinds == set(ing['pauseMaxMs']) and
       all(0 <= ing['pauseMs'][k] <= ing['pauseMaxMs'][k] < 60000
           for k in kinds) and ing['pauseMaxMs']['batch'] > 0,
       'health/the ingest thread\'s pauses (pauseMs, pauseMaxMs)',
       (ing['pauseMs'], ing['pauseMaxMs']))

    top = fab.json('/activeflows/ALL/pairs/json?maxFlows=50')
    fl = [f for f in fab.json('/api/v1/health')['flows'] if f['name'] == 'pairs']
    ok(fab.alive() and len(top) > 0 and fl and fl[0]['entries'] > 0,
       'flows/the engine survived the hostile input and holds flows',
       f'{len(top)} flows, health {fl}')

    # Query arguments: any order, a long one first, missing ones.
    for q in ('agent=192.0.2.77&ifindex=2', 'ifindex=2&agent=192.0.2.77',
              'x=' + 'y' * 1500 + '&agent=192.0.2.77&ifindex=2'):
        j = fab.json('/api/v1/topology/lookup?' + q)
        ok(j['node'] is None and 'version' in j,
           f'api/lookup query arguments ({q[:30]})', j)
    try:
        fab.get('/api/v1/topology/lookup?agent=192.0.2.77')
        ok(False, 'api/lookup without ifindex is a 400')
    except urllib.error.HTTPError as e:
        ok(e.code == 400, 'api/lookup without ifindex is a 400', e.code)

    # Garbage HTTP: answered with 4xx or closed; counted; still serving.
    bad_before = h['httpBadRequests']
    for req in [b'GET /nope HTTP/1.1\r\nHost: x\r\n\r\n',
                b'DELETE /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n',
                b'GET /' + b'a' * 9000 + b' HTTP/1.1\r\nHost: x\r\n\r\n',
                b'\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03' + b'\0' * 64,
                b'BREW /pot HTCPCP/1.0\r\n\r\n']:
        s = socket.create_connection(('127.0.0.1', fab.http_port), 5)
        s.settimeout(5)
        try:
            s.sendall(req)
            s.recv(4096)
        except OSError:
            pass
        s.close()
    h = fab.json('/api/v1/health')
    ok(fab.alive() and h['httpBadRequests'] >= bad_before + 2,
       'http/garbage requests counted, daemon serving',
       f"{h['httpBadRequests']} vs {bad_before}")


if __name__ == '__main__':
    sys.exit(main())
