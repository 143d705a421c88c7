#!/usr/bin/env python3
"""lab_netflow: real softflowd exporters in the lab fabric, hping3 traffic.

The switches' sFlow goes to a port nobody listens on, so fabmond sees the
flows only through NetFlow: softflowd on leaf l1's edge port to h1
exports NetFlow v5, softflowd on leaf l2's edge port to h3 exports v9
(its templates, then data), both to fabmond's UDP 2055 in c1, with short
timeouts (maxlife 5 s: a record every ~5 s per flow). Meanwhile hping3
sends h1 -> h5 and h3 -> h6. Checks:
- both exporters in /api/v1/health with their version, records and no
  errors; v9's templates learned;
- the edge top-N shows each stream once, entering at the right leaf and
  port (the exporter's ifIndex mapped through the SNMP topology), at the
  rate h5/h6 received, within the export granularity (IP bytes: NetFlow
  counts no Ethernet header);
- the JSON flow log carries both streams with exporter, node, in_port,
  addresses, ports and bytes.
Expected values come from the lab (lab.sh info, interface counters), never
from fabmond.
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

PREFIX = os.environ.get('LAB_PREFIX_TEST', f'nf{os.getpid() % 10000}')
LAB_ = fablib.Lab(PREFIX)
# uacctd's sFlow goes nowhere: NetFlow is the only flow source here
LAB_.env['SFLOW_TARGET'] = '10.99.0.101:6399'
LAB = LAB_.sh
PAYLOAD = 400
IP_BYTES = PAYLOAD + 8 + 20  # what NetFlow counts per packet


def lab(*args):
    return subprocess.run([LAB, *args], env=LAB_.env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def bg(node, *cmd, log=None):
    return subprocess.Popen([LAB, 'exec', node, *cmd], env=LAB_.env,
                            stdout=log or subprocess.DEVNULL,
                            stderr=subprocess.STDOUT if log else
                            subprocess.DEVNULL)


def stop(p):
    """lab.sh exec execs the command: p is it (never pkill by name)."""
    fablib.terminate(p, 15)


def rx_packets(host):
    r = lab('exec', host, 'cat', '/sys/class/net/eth0/statistics/rx_packets')
    return int(r.stdout.split()[0])


def edge_port(I, leaf, host):
    for k, v in I.items():
        if k.startswith(f'port.{leaf}.') and k.endswith('.peer') and \
                v.split(':')[0] == host:
            return k.split('.')[2]
    return None


def softflowd(tmp, node, port, ifindex, version, logs):
    log = open(os.path.join(tmp, f'softflowd-{node}.log'), 'w')
    logs.append(log)
    return bg(node, 'softflowd', '-d', '-i', f'{ifindex}:{port}',
              '-n', '10.99.0.101:2055', '-v', str(version),
              '-t', 'maxlife=5', '-t', 'expint=1',
              '-p', os.path.join(tmp, f'sf-{node}.pid'),
              '-c', os.path.join(tmp, f'sf-{node}.ctl'), log=log)


def run(tmp, I):
    h1, h3 = I['host.h1.ip'], I['host.h3.ip']
    h5, h6 = I['host.h5.ip'], I['host.h6.ip']
    p1, p2 = edge_port(I, 'l1', 'h1'), edge_port(I, 'l2', 'h3')
    mg1, mg2 = I['switch.l1.mgmt'], I['switch.l2.mgmt']
    procs, logs = [], []
    try:
        procs.append(softflowd(tmp, 'l1', p1, I[f'port.l1.{p1}.ifindex'], 5,
                               logs))
        procs.append(softflowd(tmp, 'l2', p2, I[f'port.l2.{p2}.ifindex'], 9,
                               logs))
        time.sleep(1)
        streams = {
            'v5': dict(src=h1, dst=h5, sport=40123, dport=53, node='l1',
                       port=p1, exporter=mg1, rx='h5', source='netflow5'),
            'v9': dict(src=h3, dst=h6, sport=40124, dport=54, node='l2',
                       port=p2, exporter=mg2, rx='h6', source='netflow9'),
        }
        for s in streams.values():
            procs.append(bg(s['src'] == h1 and 'h1' or 'h3', 'hping3', '-n',
                            '-q', '-i', 'u2000', '--udp', '-p',
                            str(s['dport']), '-k', '-s', str(s['sport']),
                            '-d', str(PAYLOAD), s['dst']))
        # two export rounds (maxlife 5 s + expint 1 s), and the spread
        # replay warmed up
        time.sleep(14)
        n1 = {k: rx_packets(s['rx']) for k, s in streams.items()}
        t1 = time.time()
        rates = {k: [] for k in streams}
        last = None
        while time.time() - t1 < 15:
            top = LAB_.get('/api/v1/top?max=50')
            if top:
                last = top
                for k, s in streams.items():
                    key = f"{s['src']},{s['dst']},17,{s['sport']},{s['dport']}"
                    rates[k] += [f['bps'] for f in top['flows']
                                 if f['key'] == key]
            time.sleep(1)
        dt = time.time() - t1
        n2 = {k: rx_packets(s['rx']) for k, s in streams.items()}
        for k, s in streams.items():
            key = f"{s['src']},{s['dst']},17,{s['sport']},{s['dport']}"
            pps = (n2[k] - n1[k]) / dt
            want = pps * IP_BYTES * 8
            got = sum(rates[k]) / len(rates[k]) if rates[k] else 0
            print(f'# {k}: edge top-N {got / 1e3:.0f} kb/s (mean of '
                  f'{len(rates[k])} reads), {want / 1e3:.0f} kb/s received '
                  f'by {s["rx"]} ({pps:.0f} pps of {IP_BYTES} IP bytes)')
            ok(len(rates[k]) >= 10,
               f'netflow-lab/{k}: the stream is in the edge top-N',
               f'{len(rates[k])} of 15 reads')
            ok(0.75 * want < got < 1.25 * want,
               f'netflow-lab/{k}: its rate within the export granularity, '
               'not doubled', f'{got:.0f} vs {want:.0f}')
            ent = [f for f in (last or {}).get('flows', [])
                   if f['key'] == key]
            ing = ent[0].get('ingress') if ent else None
            ok(ing is not None and ing.get('node') == s['node'] and
               ing.get('port') == s['port'],
               f'netflow-lab/{k}: ingress {s["node"]} {s["port"]} from the '
               'exporter\'s ifIndex', str(ent))
        h = LAB_.get('/api/v1/health')
        exps = {e['address']: e for e in (h or {}).get('netflow', {}).get(
            'exporters', [])}
        for k, s in streams.items():
            e = exps.get(s['exporter'], {})
            ok(e.get('version') == (5 if k == 'v5' else 9) and
               e.get('records', 0) >= 4 and not e.get('errors'),
               f'netflow-lab/{k}: exporter {s["exporter"]} counted, no '
               'errors', json.dumps(e))
        ok(exps.get(mg2, {}).get('templatesNew', 0) >= 1,
           'netflow-lab/v9: templates learned from softflowd',
           json.dumps(exps.get(mg2)))
        lines = []
        with open(os.path.join(tmp, 'flows.json')) as f:
            for ln in f:
                lines.append(json.loads(ln))
        for k, s in streams.items():
            mine = [ln for ln in lines if ln.get('src_ip') == s['src'] and
                    ln.get('dst_ip') == s['dst'] and
                    ln.get('dst_port') == s['dport']]
            good = [ln for ln in mine if ln.get('exporter') == s['exporter']
                    and ln.get('node') == s['node'] and
                    ln.get('in_port') == s['port'] and
                    ln.get('source') == s['source'] and
                    ln.get('src_port') == s['sport'] and
                    ln.get('protocol') == 17 and
                    ln.get('bytes', 0) >= IP_BYTES and
                    ln.get('bytes', 0) % IP_BYTES == 0 and
                    ln.get('packets', 0) * IP_BYTES == ln.get('bytes')]
            ok(len(mine) >= 3 and len(good) == len(mine),
               f'netflow-lab/{k}: JSON flow log lines with exporter, node, '
               'port, addresses and bytes',
               f'{len(good)}/{len(mine)} good: {mine[:2]}')
    finally:
        for p in procs:
            stop(p)
        for log in logs:
            log.close()


def main():
    tmp = tempfile.mkdtemp(prefix='fabmon-nf-lab-')
    fm = None
    try:
        r = lab('up')
        if not ok(r.returncode == 0, 'netflow-lab/lab up', r.stdout[-800:]):
            return 1
        lab('wait')
        I = LAB_.info()
        log = open(os.path.join(tmp, 'fabmond.log'), 'w')
        fm = LAB_.fabmond(os.path.join(tmp, 'state'), log,
                          '-o', 'netflow.listen=10.99.0.101:2055',
                          '-o', 'flowlog.json_file=' +
                          os.path.join(tmp, 'flows.json'),
                          '-o', 'sflow.counters=0')
        ok(LAB_.wait_links() is not None, 'netflow-lab/fabmond sees 8 links')
        run(tmp, I)
    finally:
        if fm is not None:
            st = fablib.terminate(fm, 15)
            ok(st == 0, 'netflow-lab/fabmond exits cleanly', st)
        lab('down')
        if fablib.failures:
            print('# fabmond log tail:\n# ' + open(os.path.join(
                tmp, 'fabmond.log')).read()[-2000:].replace('\n', '\n# '))
            for n in ('l1', 'l2'):
                p = os.path.join(tmp, f'softflowd-{n}.log')
                if os.path.exists(p):
                    print(f'# softflowd {n}:\n# ' + open(p).read()[-800:]
                          .replace('\n', '\n# '))
    return 1 if fablib.failures else 0


if __name__ == '__main__':
    sys.exit(main())
