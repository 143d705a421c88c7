#!/usr/bin/env python3
"""lab_sflow: fabmond in the namespace lab (profile A) receives real sFlow.

Builds the leaf-spine lab with its own prefix, runs fabmond in collector c1
and a capture beside it, sends hping3 UDP from h1 (leaf l1) to h5 (leaf l4)
with one fixed 5-tuple, and checks:
- fabmond counts datagrams from all 6 switch agents, with no decode error;
- the flow samples of that 5-tuple (decoded by `fabmond --decode` from the
  capture) name the real switch ports: h1's port -> an uplink on l1, the
  matching spine ports, then a spine-facing port -> h5's port on l4;
- the capture decodes identically in fabmond and tshark (the oracle).
"""
import os
import subprocess
import sys
import tempfile
import time
import json
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from fablib import ROOT, BUILD, FABMOND, ok  # noqa: E402
import fablib  # noqa: E402

PREFIX = os.environ.get('LAB_PREFIX_TEST', f'ft{os.getpid() % 10000}')
ENV = dict(os.environ, LAB_PREFIX=PREFIX)
LAB = os.path.join(ROOT, 'tests', 'lab', 'lab.sh')


def lab(*args, check=True, **kw):
    return subprocess.run([LAB, *args], env=ENV, check=check,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, **kw)


def lab_bg(node, *cmd, out):
    return subprocess.Popen([LAB, 'exec', node, *cmd], env=ENV, stdout=out,
                            stderr=subprocess.STDOUT)


def info():
    d = {}
    for line in lab('info').stdout.splitlines():
        if '=' in line:
            k, v = line.split('=', 1)
            d[k] = v
    return d


def health():
    out = lab('exec', 'c1', 'curl', '-s', '--max-time', '5',
              'http://127.0.0.1:8008/api/v1/health', check=False).stdout
    return json.loads(out)


def main():
    tmp = tempfile.mkdtemp(prefix='fabmon-lab-test-')
    procs = []
    try:
        t0 = time.time()
        r = lab('up', check=False)
        if not ok(r.returncode == 0, 'lab/up', r.stdout[-2000:]):
            return 1
        print(f'# lab up in {time.time() - t0:.1f}s')
        log = open(os.path.join(tmp, 'fabmond.log'), 'w+')
        fab = lab_bg('c1', FABMOND, '-d', '--sflow', '10.99.0.101:6343',
                     '--http', '127.0.0.1:8008', '--state-dir',
                     os.path.join(tmp, 'state'), '-o', 'engine.push_ms=200',
                     out=log)
        procs.append(fab)
        pcap = os.path.join(tmp, 'lab.pcap')
        cap = lab_bg('c1', 'tshark', '-q', '-n', '-i', 'eth0', '-f',
                     'udp dst port 6343', '-w', pcap,
                     out=open(os.path.join(tmp, 'tshark.log'), 'w'))
        procs.append(cap)
        r = lab('wait', check=False)
        ok(r.returncode == 0, 'lab/wait: fabric forwards, LLDP converged',
           r.stdout[-1000:])
        I = info()
        # The capture must be running before the traffic starts.
        time.sleep(2)
        traffic = subprocess.Popen(
            [os.path.join(ROOT, 'tests', 'lab', 'traffic.sh'), '8'],
            env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(traffic)
        h1, h5 = I['host.h1.ip'], I['host.h5.ip']
        r = lab('exec', 'h1', 'hping3', '-n', '-q', '-c', '1500', '-i', 'u1000',
                '--udp', '-k', '-s', '40053', '-p', '53', h5, check=False,
                timeout=60)
        ok('1500 packets transmitted' in r.stdout,
           'lab/hping3 h1 -> h5 ran', r.stdout[-500:])
        traffic.wait(timeout=30)
        time.sleep(2)  # the agents flush, fabmond publishes
        h = health()
        switches = {I[f'switch.{s}.mgmt']: s for s in I['switches'].split()}
        seen = {a['agent']: a for a in h['agents'] if a['agent']}
        missing = [s for ip, s in switches.items()
                   if ip not in seen or seen[ip]['flowSamples'] == 0]
        ok(not missing, 'lab/fabmond receives flow samples from all 6 '
           'switches', f'missing {missing}; seen {list(seen)}')
        errs = {ip: {k: v for k, v in a['errors'].items() if v}
                for ip, a in seen.items()}
        ok(all(not e for e in errs.values()) and
           h['ingest']['kernelDrops'] == 0,
           'lab/no decode errors, no kernel drops', str(errs))
        # No seed was given: the sFlow agents alone lead to the fabric.
        def topo():
            out = lab('exec', 'c1', 'curl', '-s', '--max-time', '5',
                      'http://127.0.0.1:8008/api/v1/topology',
                      check=False).stdout
            try:
                d = json.loads(out)
            except ValueError:
                return None
            return d if len(d['links']) == 8 else None
        deadline = time.time() + 20
        d = topo()
        while d is None and time.time() < deadline:
            time.sleep(0.5)
            d = topo()
        ok(d is not None and 'agent' in {t['why'] for t in d['targets']}
           and 'seed' not in {t['why'] for t in d['targets']},
           'lab/topology discovered from the sFlow agents alone (no seed)',
           str(d)[:500] if d else 'no topology')
        for p in (cap,):
            subprocess.run(['kill', '-INT', str(p.pid)])
        # lab.sh exec may wrap: stop tshark inside the namespace too.
        lab('exec', 'c1', 'pkill', '-INT', '-x', 'tshark', check=False)
        cap.wait(timeout=10)
        check_path(I, pcap, h1, h5)
        r = subprocess.run([sys.executable, os.path.join(
            ROOT, 'tests', 'tools', 'tshark_compare.py'), '--fabmond',
            FABMOND, pcap], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True)
        ok(r.returncode == 0, 'lab/live capture: fabmond == tshark',
           r.stdout[-1500:])
        print('# ' + r.stdout.strip().splitlines()[0] if r.stdout else '')
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        lab('down', check=False)
        left = subprocess.run(['ip', 'netns', 'list'], stdout=subprocess.PIPE,
                              text=True).stdout
        ok(f'{PREFIX}-' not in left, 'lab/down leaves no namespace', left)
        if fablib.failures and os.path.exists(os.path.join(tmp,
                                                            'fabmond.log')):
            print('# fabmond log tail:\n# ' + open(os.path.join(
                tmp, 'fabmond.log')).read()[-2000:].replace('\n', '\n# '))
    return 1 if fablib.failures else 0


def check_path(I, pcap, src, dst):
    """The 5-tuple's samples name the real ports along l1 -> spine -> l4."""
    out = subprocess.run([FABMOND, '--decode', pcap], stdout=subprocess.PIPE,
                         text=True).stdout
    hops = {}  # agent -> set of (in, out)
    for line in out.splitlines():
        d = json.loads(line)
        for s in d['samples']:
            if s.get('sampleType') != 'FLOWSAMPLE':
                continue
            for e in s['elements']:
                if (e.get('srcIP') == src and e.get('dstIP') == dst and
                        e.get('UDPDstPort') == '53' and
                        e.get('UDPSrcPort') == '40053'):
                    hops.setdefault(d['agent'], set()).add(
                        (int(s['inputPort']), int(s['outputPort'])))
    ifx = lambda sw, p: int(I[f'port.{sw}.{p}.ifindex'])
    name = {I[f'switch.{s}.mgmt']: s for s in I['switches'].split()}
    byname = {name.get(a, a): v for a, v in hops.items()}
    print(f'# samples of the 5-tuple per switch: {byname}')
    # Expected: l1 from h1's port to one uplink; that spine from l1 to l4;
    # l4 from that spine to h5's port. One 5-tuple takes one ECMP branch.
    h1_port = I['host.h1.port'].split(':')[1]
    h5_port = I['host.h5.port'].split(':')[1]
    ok(set(byname) >= {'l1', 'l4'} and
       len([s for s in byname if s.startswith('s')]) == 1,
       'path/the 5-tuple is seen on l1, exactly one spine, and l4',
       str(byname))
    spine = [s for s in byname if s.startswith('s')]
    if not spine or 'l1' not in byname or 'l4' not in byname:
        return
    spine = spine[0]
    # l1's uplink to that spine, and the spine's ports to l1 and l4
    up = [p for p in ('swp1', 'swp2')
          if I[f'port.l1.{p}.peer'].startswith(spine + ':')][0]
    s_in = I[f'port.l1.{up}.peer'].split(':')[1]
    s_out = [p for p in I[f'switch.{spine}.ports'].split()
             if I[f'port.{spine}.{p}.peer'].startswith('l4:')][0]
    l4_in = I[f'port.{spine}.{s_out}.peer'].split(':')[1]
    want = {'l1': {(ifx('l1', h1_port), ifx('l1', up))},
            spine: {(ifx(spine, s_in), ifx(spine, s_out))},
            'l4': {(ifx('l4', l4_in), ifx('l4', h5_port))}}
    for sw, w in want.items():
        ok(byname.get(sw) == w, f'path/{sw} input/output ifIndex are the '
           'real ports', f'got {byname.get(sw)}, want {w}')


if __name__ == '__main__':
    sys.exit(main())
