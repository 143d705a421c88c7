#!/usr/bin/env python3
"""lab_topology: fabmond discovers the lab fabric over SNMP/LLDP.

Profile A with snmpd+lldpd on every switch, one of them (l4) SNMPv3
authPriv only. fabmond A (collector c1) starts from ONE seed address;
fabmond B (c2) has SNMP disabled and gets the topology by PUT. Checks:
- A finds all 6 switches, all 8 leaf-spine links with the right ports and
  ifIndexes, the roles, and the host-facing edge ports; l4 through v3;
- `ip link set swp1 down` on a leaf uplink is a link-down event within one
  status-poll interval, and comes back up;
- a switch whose snmpd stops is marked unreachable while the others keep
  being polled, and comes back;
- B, fed A's GET /topology/json, answers the same agent+ifIndex lookups
  for every sFlow agent it receives samples from;
- bad topology bodies get 400/413, never a crash.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from fablib import ROOT, FABMOND, ok  # noqa: E402
import fablib  # noqa: E402

PREFIX = os.environ.get('LAB_PREFIX_TEST', f'fq{os.getpid() % 10000}')
ENV = dict(os.environ, LAB_PREFIX=PREFIX, LAB_SNMPV3='l4',
           SFLOW_TARGET='10.99.0.101:6343,10.99.0.102:6343')
LAB = os.path.join(ROOT, 'tests', 'lab', 'lab.sh')
STATUS_S = 2
V3 = ['-o', 'snmp.v3_user=fabmon', '-o', 'snmp.v3_auth=SHA',
      '-o', 'snmp.v3_auth_pass=fabmon-auth-pw', '-o', 'snmp.v3_priv=AES',
      '-o', 'snmp.v3_priv_pass=fabmon-priv-pw']


def lab(*args, check=True, **kw):
    return subprocess.run([LAB, *args], env=ENV, check=check, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          **kw)


def curl(node, path, method='GET', data=None):
    cmd = ['curl', '-s', '--max-time', '5', '-w', '\n%{http_code}',
           '-X', method, f'http://127.0.0.1:8008{path}']
    if data is not None:
        cmd += ['--data-binary', '@-']
    r = subprocess.run([LAB, 'exec', node, *cmd], env=ENV, input=data,
                       stdout=subprocess.PIPE, text=True)
    body, _, code = r.stdout.rpartition('\n')
    return int(code or 0), body


def api(node, path):
    code, body = curl(node, path)
    return json.loads(body) if code == 200 else None


def wait_for(pred, timeout, step=0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return None


def main():
    tmp = tempfile.mkdtemp(prefix='fabmon-topo-test-')
    procs = []
    try:
        r = lab('up', check=False)
        if not ok(r.returncode == 0, 'topo/lab up (l4 SNMPv3 only)',
                  r.stdout[-1500:]):
            return 1
        for node, extra in (('c1', ['--snmp-seed', '10.99.0.21', *V3]),
                            ('c2', ['-o', 'snmp.enable=0'])):
            ip = '10.99.0.101' if node == 'c1' else '10.99.0.102'
            log = open(os.path.join(tmp, f'fabmond-{node}.log'), 'w')
            procs.append(subprocess.Popen(
                [LAB, 'exec', node, FABMOND, '-d', '--sflow', f'{ip}:6343',
                 '--http', '127.0.0.1:8008', '--state-dir',
                 os.path.join(tmp, node), '-o', f'snmp.status_s={STATUS_S}',
                 '-o', 'snmp.poll_s=5', '-o', 'snmp.timeout_ms=500',
                 '-o', 'snmp.retries=1', *extra],
                env=ENV, stdout=log, stderr=subprocess.STDOUT))
        lab('wait', check=False)
        I = {}
        for line in lab('info').stdout.splitlines():
            k, _, v = line.partition('=')
            I[k] = v
        discovery(I)
        link_down(I)
        unreachable(I)
        # flow samples need traffic through every switch
        procs.append(subprocess.Popen(
            [os.path.join(ROOT, 'tests', 'lab', 'traffic.sh'), '60'],
            env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        import_and_lookups(I)
        bad_bodies()
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        lab('down', check=False)
        left = subprocess.run(['ip', 'netns', 'list'], text=True,
                              stdout=subprocess.PIPE).stdout
        ok(f'{PREFIX}-' not in left, 'topo/lab down leaves nothing', left)
        if fablib.failures:
            for node in ('c1', 'c2'):
                p = os.path.join(tmp, f'fabmond-{node}.log')
                if os.path.exists(p):
                    print(f'# {node} log tail:\n# ' + open(p).read()
                          [-1500:].replace('\n', '\n# '))
    return 1 if fablib.failures else 0


def expected_links(I):
    want = set()
    for sw in I['switches'].split():
        for p in I[f'switch.{sw}.ports'].split():
            peer = I[f'port.{sw}.{p}.peer']
            if I[f'port.{sw}.{p}.kind'] == 'fabric':
                pn, pp = peer.split(':')
                want.add(frozenset([(sw, p, int(I[f'port.{sw}.{p}.ifindex'])),
                                    (pn, pp, int(I[f'port.{pn}.{pp}.ifindex']))]))
    return want


def discovery(I):
    t0 = time.time()

    hosts = {(I[f'host.{h}.port'].split(':')[0],
              I[f'host.{h}.port'].split(':')[1]): h
             for h in I['hosts'].split()}

    def converged():
        d = api('c1', '/api/v1/topology')
        if d and len([n for n in d['nodes'] if n['reachable']]) == 6 and \
                len(d['links']) == 8:
            edge = {(e['node'], e['port']): e['peer'] for e in d['edgePorts']}
            # hosts' LLDP may reach a leaf after its first walk
            if all(edge.get(k) == v for k, v in hosts.items()):
                return d
    d = wait_for(converged, 40)
    ok(d is not None, 'topo/from one seed: 6 switches and 8 links',
       json.dumps(api('c1', '/api/v1/topology'))[:1500])
    if d is None:
        return
    print(f'# converged in {time.time() - t0:.1f}s from one seed')
    got = {frozenset([(l['node1'], l['port1'], l['ifindex1']),
                      (l['node2'], l['port2'], l['ifindex2'])])
           for l in d['links']}
    want = expected_links(I)
    ok(got == want, 'topo/links: the right ports and ifIndexes',
       f'missing {want - got}, extra {got - want}')
    roles = {n['name']: n['role'] for n in d['nodes']}
    ok(roles == {'s1': 'spine', 's2': 'spine', 'l1': 'leaf', 'l2': 'leaf',
                 'l3': 'leaf', 'l4': 'leaf'}, 'topo/roles inferred', roles)
    edge = {(e['node'], e['port']): e['peer'] for e in d['edgePorts']}
    ok(all(edge.get(k) == v for k, v in hosts.items()),
       'topo/host-facing ports are edge ports, named by the host',
       f'{hosts} vs {edge}')
    fabric = {(n, p) for l in got for (n, p, _) in l}
    ok(not fabric & set(edge), 'topo/fabric ports are not edge ports',
       fabric & set(edge))
    cred = {t['node']: t['credentials'] for t in d['targets']}
    ok(cred.get('l4') == 'v3' and cred.get('l1') == 'v2c',
       'topo/l4 discovered with SNMPv3 authPriv credentials', cred)


def link_status(name):
    d = api('c1', '/api/v1/topology')
    for l in (d or {}).get('links', []):
        if l['name'] == name:
            return l['status']


def link_down(I):
    name = 'l1:swp1-s1:swp1'
    t0 = time.time()
    lab('exec', 'l1', 'ip', 'link', 'set', 'swp1', 'down')
    down = wait_for(lambda: link_status(name) == 'down', STATUS_S + 6)
    dt = time.time() - t0
    ok(down, f'topo/swp1 down on l1: link down within one status poll '
       f'({dt:.1f}s, interval {STATUS_S}s)')
    ev = [e for e in api('c1', '/api/v1/topology')['events']
          if e['type'] == 'link_down' and name in e['text']]
    ok(ev, 'topo/link_down event recorded')
    lab('exec', 'l1', 'ip', 'link', 'set', 'swp1', 'up')
    up = wait_for(lambda: link_status(name) == 'up', STATUS_S + 6)
    ok(up, 'topo/and back up: link up')


def snmpd_pid(sw):
    pids = os.path.join(f'/tmp/fabmon-lab-{PREFIX}', 'pids')
    for line in open(pids):
        f = line.split()
        if len(f) >= 4 and f[2] == sw and f[3] == 'snmpd':
            return int(f[0])


def reach(name):
    d = api('c1', '/api/v1/topology')
    nodes = {n['name']: n for n in (d or {}).get('nodes', [])}
    return nodes.get(name)


def unreachable(I):
    pid = snmpd_pid('s2')
    if not ok(pid, 'topo/found s2 snmpd pid'):
        return
    before = {n: reach(n)['lastPoll'] for n in ('l1', 's1')}
    os.kill(pid, signal.SIGSTOP)
    try:
        gone = wait_for(lambda: reach('s2') and not reach('s2')['reachable'],
                        STATUS_S + 8)
        ok(gone, 'topo/s2 snmpd stopped: s2 unreachable')
        after = {n: reach(n)['lastPoll'] for n in ('l1', 's1')}
        ok(all(after[n] > before[n] for n in after) and
           reach('l1')['reachable'],
           'topo/the other switches keep being polled', f'{before} {after}')
        ev = [e for e in api('c1', '/api/v1/topology')['events']
              if e['type'] == 'node_unreachable' and 's2' in e['text']]
        ok(ev, 'topo/node_unreachable event recorded')
    finally:
        os.kill(pid, signal.SIGCONT)
    back = wait_for(lambda: reach('s2')['reachable'], STATUS_S + 8)
    ok(back, 'topo/s2 reachable again')


def lookup(node, agent, ifindex):
    d = api(node, f'/api/v1/topology/lookup?agent={agent}&ifindex={ifindex}')
    if d:
        d.pop('version', None)
        d.pop('role', None)  # B infers roles without hosts: compared apart
    return d


def import_and_lookups(I):
    code, doc = curl('c1', '/topology/json')
    ok(code == 200, 'import/GET /topology/json from A')
    code, body = curl('c2', '/topology/json', 'PUT', doc)
    ok(code == 200, 'import/PUT it into B (SNMP disabled)', body)
    d = wait_for(lambda: (lambda d: d if d and len(d['links']) == 8 else None)
                 (api('c2', '/api/v1/topology')), 10)
    ok(d and all(l['source'] == 'import' for l in d['links']),
       'import/B holds the 8 links, from the import')
    roles = {n['name']: n['role'] for n in (d or {}).get('nodes', [])}
    ok(roles.get('s1') == 'spine' and roles.get('l1') == 'leaf',
       'import/B infers roles from the imported links', roles)
    # The sFlow agents B hears from (real samples) get the same lookups.
    h = wait_for(lambda: (lambda h: h if h and len(
        [a for a in h['agents'] if a['flowSamples'] > 0 or
         a['counterSamples'] > 0]) == 6 else None)(api('c2', '/api/v1/health')),
        20)
    agents = [a['agent'] for a in (h or {}).get('agents', []) if a['agent']]
    ok(len(agents) == 6, 'import/B receives sFlow from the 6 switches',
       agents)
    diffs, n, links, answered = [], 0, 0, 0
    for a in agents:
        for ifx in range(0, 8):
            la, lb = lookup('c1', a, ifx), lookup('c2', a, ifx)
            n += 1
            answered += la is not None and lb is not None
            links += bool(la and la['link'])
            if la != lb:
                diffs.append((a, ifx, la, lb))
    # 16 fabric ports (8 links, both ends) must name their link.
    ok(not diffs and n == 48 and answered == 48 and links == 16,
       f'import/{n} agent+ifIndex lookups: B == A ({links} on links)',
       f'answered {answered}, links {links}: {diffs[:3]}')
    hit = lookup('c2', I['switch.l1.mgmt'], int(I['port.l1.swp1.ifindex']))
    ok(hit and hit['link'] == 'l1:swp1-s1:swp1' and hit['peerNode'] == 's1',
       'import/lookup names the link and its far end', hit)
    miss = lookup('c2', '192.0.2.77', 2)
    ok(miss and miss['node'] is None and miss['link'] is None,
       'import/unknown agent: a null lookup', miss)


def bad_bodies():
    for body, want, name in (
            ('{"nodes":', 400, 'truncated JSON'),
            ('{"links":{"x":{"node1":"a"}}}', 400, 'link to nowhere'),
            ('[' * 100000, 400, 'deep nesting'),
            ('{"nodes":{' + ','.join(f'"n{i}":{{}}' for i in range(10))
             + '}}', 200, 'ten empty nodes')):
        code, out = curl('c2', '/topology/json', 'PUT', body)
        ok(code == want, f'import/bad body: {name} -> {want}', f'{code} {out[:200]}')
    code, _ = curl('c2', '/topology/json', 'PUT', 'x' * (9 << 20))
    ok(code == 413, 'import/a 9 MiB body -> 413', code)
    ok(api('c2', '/api/v1/health') is not None, 'import/B still serving')


if __name__ == '__main__':
    sys.exit(main())
