#!/usr/bin/env python3
"""daemon_netflow: NetFlow v5/v9 and IPFIX through a local fabmond's
listener into the engine, the health counters and the JSON flow log.

Checked, with datagrams built here (so the expected values come from what
was sent, never from fabmond):
- a v5 record: the JSON flow log line (addresses, ports, protocol, bytes
  and packets scaled by the header's sampling interval, in/out ifIndex,
  exporter, start/end) and the flow in a definition's top-N;
- a v9 data set sent before its template: buffered, decoded when the
  template comes (pendingDecoded), never lost;
- a 10 s v9 record spread over 10 s: the rate a 1 s-smoothed definition
  shows is the record's bytes / 10 s, not a spike;
- IPFIX over IPv6 (the [::1] listener);
- bad input counted per exporter and per class (bad_version, truncated,
  bad_length, bad_template, no_template), the daemon alive;
- templates kept across a restart: v9 data right after the restart
  decodes with no template refresh;
- forwarding NetFlow to a second fabmond with "relay": the second one
  sees the real exporter (not the forwarder), learns its v9 template and
  decodes its data; a relay frame from an address not allowed to relay
  is refused and counted; plain NetFlow forwarding sends the datagram
  unchanged (to a UDP socket of the test's own);
- every NetFlow/IPFIX fixture pcap replayed (each from its own loopback
  address): the records fabmond counts for that exporter equal the
  records tshark's cflow dissector shows.
"""
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from fablib import Fabmond, ok, free_port  # noqa: E402
import fablib  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'tools'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'golden', 'netflow'))
from pcap_send import udp_payloads  # noqa: E402

FIXTURES = os.environ.get('FIXTURES', os.path.join(
    ROOT, '..', 'shared', 'fixtures', 'pcap'))


def ip4(s):
    return socket.inet_aton(s)


def v5(recs, seq=0, interval=10, uptime=100000, secs=None):
    """A v5 datagram: recs are dicts (src, dst, sport, dport, proto,
    packets, bytes, first, last, in_if, out_if)."""
    secs = int(time.time()) if secs is None else secs
    h = struct.pack('>HHIIIIBBH', 5, len(recs), uptime, secs, 0, seq, 0, 0,
                    (1 << 14) | interval)
    body = b''
    for r in recs:
        body += (ip4(r['src']) + ip4(r['dst']) + ip4('0.0.0.0') +
                 struct.pack('>HHIIIIHHBBBBHHBBH', r['in_if'], r['out_if'],
                             r['packets'], r['bytes'], r['first'],
                             r['last'], r['sport'], r['dport'], 0,
                             r.get('flags', 0x18), r['proto'], 0, 0, 0, 24,
                             24, 0))
    return h + body


# v9: id, length of the fields the tests use.
V9_FIELDS = [(1, 4), (2, 4), (4, 1), (7, 2), (8, 4), (10, 2), (11, 2),
             (12, 4), (14, 2), (21, 4), (22, 4)]


def v9_header(count, seq, uptime, secs, source_id=0):
    return struct.pack('>HHIIII', 9, count, uptime, secs, seq, source_id)


def v9_template(tid=256):
    body = struct.pack('>HH', tid, len(V9_FIELDS))
    for f, ln in V9_FIELDS:
        body += struct.pack('>HH', f, ln)
    return struct.pack('>HH', 0, 4 + len(body)) + body


def v9_data(r, tid=256):
    rec = (struct.pack('>IIB', r['bytes'], r['packets'], r['proto']) +
           struct.pack('>H', r['sport']) + ip4(r['src']) +
           struct.pack('>HH', r['in_if'], r['dport']) + ip4(r['dst']) +
           struct.pack('>HII', r['out_if'], r['last'], r['first']))
    pad = (-len(rec)) % 4
    return struct.pack('>HH', tid, 4 + len(rec) + pad) + rec + b'\0' * pad


def v9(sets, seq, uptime=500000, secs=None):
    secs = int(time.time()) if secs is None else secs
    return v9_header(len(sets), seq, uptime, secs) + b''.join(sets)


def ipfix(sets, seq, domain=1):
    body = b''.join(sets)
    return struct.pack('>HHIII', 10, 16 + len(body), int(time.time()), seq,
                       domain) + body


def ipfix_template(tid=300):
    # sourceIPv6Address, destinationIPv6Address, protocolIdentifier,
    # sourceTransportPort, destinationTransportPort, octetDeltaCount,
    # packetDeltaCount, ingressInterface, egressInterface
    f = [(27, 16), (28, 16), (4, 1), (7, 2), (11, 2), (1, 8), (2, 8),
         (10, 4), (14, 4)]
    body = struct.pack('>HH', tid, len(f))
    for i, ln in f:
        body += struct.pack('>HH', i, ln)
    return struct.pack('>HH', 2, 4 + len(body)) + body


def ipfix_data(src, dst, nbytes, npkts, tid=300):
    rec = (socket.inet_pton(socket.AF_INET6, src) +
           socket.inet_pton(socket.AF_INET6, dst) +
           struct.pack('>BHHQQII', 17, 5353, 53, nbytes, npkts, 7, 8))
    return struct.pack('>HH', tid, 4 + len(rec)) + rec


def sender(addr):
    fam = socket.AF_INET6 if ':' in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((addr, 0))
    return s


def exporter(h, addr):
    for e in (h.get('netflow') or {}).get('exporters', []):
        if e['address'] == addr:
            return e
    return {}


def req(fab, path, method='GET', body=None):
    data = json.dumps(body).encode() if body is not None else None
    r = urllib.request.Request(fab.url(path), method=method, data=data)
    with urllib.request.urlopen(r, timeout=5) as resp:
        return resp.status, json.loads(resp.read() or b'null')


def log_lines(path):
    out = []
    try:
        with open(path) as f:
            for ln in f:
                out.append(json.loads(ln))
    except FileNotFoundError:
        pass
    return out


def wait(pred, timeout=10):
    return fablib.wait_for(pred, timeout, 0.1)


def start(tmp, nf_port, logfile):
    return Fabmond(tmp, extra=(
        '-o', f'netflow.listen=127.0.0.1:{nf_port}',
        '-o', f'netflow.listen=[::1]:{nf_port}',
        '-o', f'flowlog.json_file={logfile}',
        '-o', 'netflow.pending_s=5', '-o', 'snmp.enable=0'))


def test_v5(fab, nf_port, logfile):
    s = sender('127.0.0.2')
    now_up = 100000
    rec = dict(src='10.9.0.1', dst='10.9.0.2', sport=40000, dport=80,
               proto=6, packets=100, bytes=150000, first=now_up - 50,
               last=now_up - 50, in_if=3, out_if=1)
    st, _ = req(fab, '/flow/nfv5/json', 'PUT',
                {'keys': 'ipsource,ipdestination,tcpdestinationport',
                 'value': 'bytes', 't': 2})
    ok(st in (200, 201, 204), 'netflow/v5 flow definition accepted')
    time.sleep(0.3)
    s.sendto(v5([rec], seq=0, uptime=now_up), ('127.0.0.1', nf_port))
    lines = wait(lambda: [ln for ln in log_lines(logfile)
                          if ln.get('src_ip') == '10.9.0.1'])
    ok(len(lines) == 1, 'netflow/v5 one JSON log line per record',
       f'{len(lines)} lines')
    if lines:
        ln = lines[0]
        want = {'source': 'netflow5', 'exporter': '127.0.0.2',
                'dst_ip': '10.9.0.2', 'src_port': 40000, 'dst_port': 80,
                'protocol': 6, 'bytes': 1500000, 'packets': 1000,
                'sampling_rate': 10, 'in_if': 3, 'out_if': 1}
        bad = {k: (ln.get(k), v) for k, v in want.items() if ln.get(k) != v}
        ok(not bad, 'netflow/v5 JSON log fields', str(bad))
        ok('start' in ln and 'end' in ln and 'time' in ln,
           'netflow/v5 JSON log has start, end and time', str(ln))
    h = fab.wait_health(lambda h: exporter(h, '127.0.0.2').get('records'))
    e = exporter(h, '127.0.0.2')
    ok(e.get('records') == 1 and e.get('version') == 5 and
       e.get('samplingRate') == 10, 'netflow/v5 exporter counted', str(e))
    _, top = req(fab, '/activeflows/ALL/nfv5/json')
    keys = [f.get('key') for f in top or []]
    ok('10.9.0.1,10.9.0.2,80' in keys, 'netflow/v5 flow in the top-N',
       str(top))
    # a sequence gap of 5 records: the next datagram says seq 6, not 1
    s.sendto(v5([rec], seq=6, uptime=now_up + 10), ('127.0.0.1', nf_port))
    h = fab.wait_health(
        lambda h: exporter(h, '127.0.0.2').get('records') == 2)
    e = exporter(h, '127.0.0.2')
    ok(e.get('seqGaps') == 1 and e.get('seqLost') == 5,
       'netflow/v5 sequence gap counted', str(e))
    s.close()


def test_v9_pending_and_spread(fab, nf_port, logfile):
    s = sender('127.0.0.3')
    up = 500000
    st, _ = req(fab, '/flow/nfv9/json', 'PUT',
                {'keys': 'ipsource,ipdestination', 'value': 'bytes',
                 't': 2})
    time.sleep(0.3)
    # 10 s of traffic in one record: 1,000,000 bytes -> 100 kB/s
    rec = dict(src='10.9.1.1', dst='10.9.1.2', sport=5001, dport=5201,
               proto=17, packets=1000, bytes=1000000, first=up - 10000,
               last=up, in_if=4, out_if=2)
    s.sendto(v9([v9_data(rec)], seq=1, uptime=up), ('127.0.0.1', nf_port))
    h = fab.wait_health(
        lambda h: exporter(h, '127.0.0.3').get('errors', {}).get(
            'no_template'))
    e = exporter(h, '127.0.0.3')
    ok(e.get('errors', {}).get('no_template') == 1 and
       h['netflow'].get('pending') == 1 and not e.get('records'),
       'netflow/v9 data before its template is buffered',
       json.dumps(h.get('netflow'))[:400])
    s.sendto(v9([v9_template()], seq=2, uptime=up), ('127.0.0.1', nf_port))
    t0 = time.time()
    h = fab.wait_health(
        lambda h: exporter(h, '127.0.0.3').get('records') == 1)
    e = exporter(h, '127.0.0.3')
    ok(e.get('pendingDecoded') == 1 and e.get('records') == 1 and
       h['netflow'].get('pending') == 0,
       'netflow/v9 buffered set decoded when the template came', str(e))
    ok(e.get('templatesNew') == 1, 'netflow/v9 template counted', str(e))
    lines = [ln for ln in log_lines(logfile) if ln.get('src_ip') == '10.9.1.1']
    ok(len(lines) == 1 and lines[0].get('bytes') == 1000000 and
       lines[0].get('source') == 'netflow9',
       'netflow/v9 JSON log line for the buffered record', str(lines))
    if lines:
        dur = (parse_time(lines[0]['end']) - parse_time(lines[0]['start']))
        ok(abs(dur - 10.0) < 0.01, 'netflow/v9 JSON log start/end span '
           'the record', f'{dur} s')
    # spread: sample the smoothed rate between 3 and 8 s after it came
    vals = []
    while time.time() - t0 < 8:
        time.sleep(0.5)
        if time.time() - t0 < 3:
            continue
        _, top = req(fab, '/activeflows/ALL/nfv9/json')
        for f in top or []:
            if f.get('key') == '10.9.1.1,10.9.1.2':
                vals.append(f['value'])
    # 100 kB each second smoothed over 2 s swings 77-127 kB/s; counted
    # at once it would be 500 kB/s, then gone
    mean = sum(vals) / len(vals) if vals else 0
    ok(len(vals) >= 6 and all(60000 < v < 140000 for v in vals) and
       abs(mean - 100000) < 20000,
       'netflow/v9 a 10 s record shows as ~100 kB/s for 10 s, not a spike',
       str([round(v) for v in vals]))
    h = fab.json('/api/v1/health')
    sp = h['netflow'].get('spread', {})
    ok(sp.get('spread', 0) >= 1, 'netflow/v9 spread counted', str(sp))
    s.close()


def parse_time(s):
    import datetime
    return datetime.datetime.fromisoformat(
        s.replace('Z', '+00:00')).timestamp()


def test_ipfix_v6(fab, nf_port, logfile):
    s = sender('::1')
    s.sendto(ipfix([ipfix_template(), ipfix_data('2001:db8::5', '2001:db8::6',
                                                 4242, 7)], seq=0),
             ('::1', nf_port))
    lines = wait(lambda: [ln for ln in log_lines(logfile)
                          if ln.get('src_ip') == '2001:db8::5'])
    ok(len(lines) == 1 and lines[0].get('dst_ip') == '2001:db8::6' and
       lines[0].get('bytes') == 4242 and lines[0].get('packets') == 7 and
       lines[0].get('source') == 'ipfix' and lines[0].get('exporter') == '::1'
       and lines[0].get('in_if') == 7 and lines[0].get('out_if') == 8,
       'netflow/ipfix over IPv6 to the JSON log', str(lines))
    s.close()


def test_bad_input(fab, nf_port):
    s = sender('127.0.0.4')
    to = ('127.0.0.1', nf_port)
    up = 1000
    bad = [
        struct.pack('>HH', 7, 1) + b'\0' * 20,            # bad_version
        struct.pack('>HH', 9, 1) + b'\0' * 6,             # truncated
        v9_header(1, 0, up, 1) + struct.pack('>HH', 0, 2000),  # bad_length
        # a template claiming 1000 fields in a short set: bad_template
        v9_header(1, 1, up, 1) + struct.pack('>HHHH', 0, 12, 257, 1000) +
        struct.pack('>HH', 8, 4),
        # a template whose fields are all zero-length: bad_template
        v9_header(1, 2, up, 1) + struct.pack('>HHHHHH', 0, 12, 258, 1, 8, 0),
        # data for a template never sent: no_template (and buffered)
        v9_header(1, 3, up, 1) + struct.pack('>HH', 999, 8) + b'\1\2\3\4',
        b'', b'\0', b'\xff' * 3000,
    ]
    for b in bad:
        s.sendto(b, to)
    h = fab.wait_health(lambda h: exporter(h, '127.0.0.4').get(
        'datagrams') == len(bad))
    e = exporter(h, '127.0.0.4')
    errs = e.get('errors', {})
    for cls in ('bad_version', 'truncated', 'bad_length', 'bad_template',
                'no_template'):
        ok(errs.get(cls, 0) >= 1, f'netflow/bad input counted as {cls}',
           str(errs))
    ok(errs.get('bad_template', 0) >= 2,
       'netflow/bad input both bad templates counted', str(errs))
    ok(fab.alive(), 'netflow/bad input: fabmond alive')
    # the buffered set expires (pending_s=5) and is counted, not silent
    h = fab.wait_health(lambda h: exporter(h, '127.0.0.4').get(
        'pendingExpired'), timeout=12)
    ok(exporter(h, '127.0.0.4').get('pendingExpired') == 1,
       'netflow/a set whose template never comes expires, counted',
       str(exporter(h, '127.0.0.4')))
    s.close()


def test_restart(tmp, fab, nf_port, logfile):
    """The template of 127.0.0.3 (v9) was learned above; restart."""
    fab.stop()
    fab2 = Fabmond(tmp, extra=(
        '-o', f'netflow.listen=127.0.0.1:{nf_port}',
        '-o', f'flowlog.json_file={logfile}', '-o', 'snmp.enable=0'))
    h = fab2.json('/api/v1/health')
    ok(h['netflow'].get('templatesRestored', 0) >= 1,
       'netflow/restart restores the stored templates',
       str(h['netflow'].get('templatesRestored')))
    s = sender('127.0.0.3')
    up = 900000
    rec = dict(src='10.9.2.1', dst='10.9.2.2', sport=1, dport=2, proto=6,
               packets=3, bytes=300, first=up - 10, last=up - 10, in_if=4,
               out_if=2)
    s.sendto(v9([v9_data(rec)], seq=50, uptime=up), ('127.0.0.1', nf_port))
    h = fab2.wait_health(
        lambda h: exporter(h, '127.0.0.3').get('records') == 1)
    e = exporter(h, '127.0.0.3')
    ok(e.get('records') == 1 and not e.get('errors', {}).get('no_template'),
       'netflow/restart: v9 data decodes with no template refresh', str(e))
    s.close()
    return fab2


def test_relay(tmp, fab, nf_port):
    tmp2 = os.path.join(tmp, 'b')
    os.makedirs(tmp2)
    nf2 = free_port(socket.SOCK_DGRAM)
    fb = Fabmond(tmp2, extra=(
        '-o', f'netflow.listen=127.0.0.1:{nf2}',
        '-o', 'netflow.relay_from=127.0.0.1', '-o', 'snmp.enable=0'))
    plain = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    plain.bind(('127.0.0.1', 0))
    plain.settimeout(5)
    try:
        st, _ = req(fab, '/forwarding/peer/json', 'PUT',
                    {'address': '127.0.0.1', 'port': nf2,
                     'protocol': 'netflow', 'relay': True})
        ok(st in (200, 201, 204), 'netflow/relay forwarding target PUT')
        st, _ = req(fab, '/forwarding/plain/json', 'PUT',
                    {'address': '127.0.0.1', 'protocol': 'netflow',
                     'port': plain.getsockname()[1]})
        _, d = req(fab, '/forwarding/peer/json')
        ok(d.get('protocol') == 'netflow' and d.get('relay') is True,
           'netflow/relay target GET shows protocol and relay', str(d))
        time.sleep(0.3)
        s = sender('127.0.0.6')
        up = 700000
        rec = dict(src='10.9.3.1', dst='10.9.3.2', sport=7, dport=8,
                   proto=6, packets=2, bytes=200, first=up - 5, last=up - 5,
                   in_if=1, out_if=2)
        dg = v9([v9_template(), v9_data(rec)], seq=1, uptime=up)
        s.sendto(dg, ('127.0.0.1', nf_port))
        s.close()
        h = fb.wait_health(
            lambda h: exporter(h, '127.0.0.6').get('records') == 1)
        e = exporter(h, '127.0.0.6')
        ok(e.get('records') == 1 and e.get('templatesNew') == 1 and
           not e.get('errors'),
           'netflow/relay: the peer sees the real exporter, its template '
           'and data', json.dumps(h.get('netflow'))[:600])
        ok(h['netflow'].get('relayed') == 1,
           'netflow/relay: counted as relayed', str(h['netflow'].get(
               'relayed')))
        try:
            got, _ = plain.recvfrom(65535)
        except socket.timeout:
            got = None
        ok(got == dg, 'netflow/plain forwarding sends the datagram as is')
        # a relay frame from an address not in relay_from: refused
        bad = sender('127.0.0.7')
        bad.sendto(b'FMR1\x04\x00\x00\x01' + socket.inet_aton('10.0.0.1') +
                   b'\0' * 12 + dg, ('127.0.0.1', nf_port))
        bad.close()
        h = fab.wait_health(
            lambda h: h['netflow'].get('relayRefused') == 1)
        ok(h['netflow'].get('relayRefused') == 1 and
           not exporter(h, '10.0.0.1'),
           'netflow/relay frame from a stranger refused, counted',
           str(h['netflow'].get('relayRefused')))
        st, _ = req(fab, '/forwarding/peer/json', 'DELETE')
        st, _ = req(fab, '/forwarding/plain/json', 'DELETE')
    finally:
        plain.close()
        fb.stop()


def tshark_records(files):
    """Records (flow and options) tshark shows in data sets it decoded."""
    import compare
    merged = tempfile.mktemp(suffix='.pcap')
    subprocess.run(['mergecap', '-F', 'pcap', '-a', '-w', merged, *files],
                   check=True)
    try:
        frames = compare.tshark_frames(merged)
    finally:
        os.unlink(merged)
    done = sum(len(s['records']) for _, sets in frames.values()
               for s in sets if not s['notemplate'])
    waiting = sum(1 for _, sets in frames.values()
                  for s in sets if s['notemplate'])
    return done, waiting


def test_fixtures(fab, nf_port):
    if shutil.which('tshark') is None:
        ok(False, 'netflow/fixtures: tshark is missing (make deps)')
        return
    names = sorted(f[:-5] for f in os.listdir(FIXTURES)
                   if f.startswith('netflow-') and f.endswith('.pcap'))
    cases = []
    for n in names:
        if n.endswith('-template') or n.endswith('-templates'):
            continue
        files = []
        if n.endswith('-data'):
            for t in (n[:-5] + '-template', n[:-5] + '-templates'):
                if t in names:
                    files.append(os.path.join(FIXTURES, t + '.pcap'))
        files.append(os.path.join(FIXTURES, n + '.pcap'))
        cases.append((n, files))
    ok(len(cases) >= 5, 'netflow/fixtures found', str(len(cases)))
    for i, (n, files) in enumerate(cases):
        addr = f'127.0.1.{10 + i}'
        s = sender(addr)
        sent = 0
        for f in files:
            for p in udp_payloads(f):
                s.sendto(p, ('127.0.0.1', nf_port))
                sent += 1
                time.sleep(0.002)
        s.close()
        want, waiting = tshark_records(files)
        h = fab.wait_health(lambda h: exporter(h, addr).get(
            'datagrams') == sent)
        e = exporter(h, addr)
        # tshark leaves a data set that came before its template
        # undecoded; fabmond buffers it and decodes it once the template
        # comes (pendingRecords): those are compared apart
        got = (e.get('records', 0) + e.get('optionsRecords', 0) -
               e.get('pendingRecords', 0))
        ok(got == want and e.get('datagrams') == sent,
           f'netflow/fixture {n}: {want} records as tshark',
           f'fabmond {got} ({e.get("datagrams")}/{sent} datagrams, '
           f'errors {e.get("errors")})')
        if waiting:
            ok(e.get('pendingDecoded') == waiting and
               e.get('pendingRecords', 0) > 0,
               f'netflow/fixture {n}: the {waiting} set(s) before their '
               'template decoded once it came', str(e))


def main():
    tmp = tempfile.mkdtemp(prefix='fabmon-nf-')
    nf_port = free_port(socket.SOCK_DGRAM)
    logfile = os.path.join(tmp, 'flows.json')
    fab = start(tmp, nf_port, logfile)
    fab2 = None
    try:
        h = fab.json('/api/v1/health')
        protos = [(l['address'], l.get('protocol'))
                  for l in h['ingest']['listen']]
        ok((f'127.0.0.1:{nf_port}', 'netflow') in protos and
           (f'[::1]:{nf_port}', 'netflow') in protos,
           'netflow/listeners in health', str(protos))
        ok(h.get('jsonlog', {}).get('enabled') is True and
           h['jsonlog'].get('target', '').endswith('flows.json'),
           'netflow/JSON log in health', str(h.get('jsonlog')))
        test_v5(fab, nf_port, logfile)
        test_v9_pending_and_spread(fab, nf_port, logfile)
        test_ipfix_v6(fab, nf_port, logfile)
        test_bad_input(fab, nf_port)
        test_relay(tmp, fab, nf_port)
        test_fixtures(fab, nf_port)
        h = fab.json('/api/v1/health')
        ok(h['jsonlog'].get('droppedFull') == 0 and
           h['jsonlog'].get('writeErrors') == 0 and
           h['jsonlog'].get('written', 0) >= 3,
           'netflow/JSON log wrote everything', str(h['jsonlog']))
        fab2 = test_restart(tmp, fab, nf_port, logfile)
    finally:
        fablib.cleanup(tmp, (fab, fab2))
    return 1 if fablib.failures else 0


if __name__ == '__main__':
    sys.exit(main())
