#!/usr/bin/env python3
"""compare.py --fabmond BIN [--rate N] NAME PCAP...: decode NAME's capture(s) with
`fabmond --decode A.pcap,B.pcap` and with tshark's cflow dissector (the
files concatenated by `mergecap -a`, since tshark reads one file: templates
first), and compare every NetFlow/IPFIX record field by field.

Prints `ok NAME (N records, M fields compared)` or `FAIL NAME: why` lines
(tests/golden/netflow.sh turns them into TAP). tshark is the oracle:
a field is compared when tshark shows it; fabmond must then show the same
value. Records are paired by frame, data set (in order) and position.
With --rate, every flow record must also carry that sampling rate (tshark
does not scale: the rate comes from the options data it shows).
"""
import argparse
import datetime
import ipaddress
import json
import os
import subprocess
import sys
import tempfile


def pairs_hook(pairs):
    """Keep duplicate keys (IPFIX reverse fields): the 2nd is 'key#2'."""
    d = {}
    for k, v in pairs:
        kk, n = k, 1
        while kk in d:
            n += 1
            kk = '%s#%d' % (k, n)
        d[kk] = v
    return d


def udp_ports(pcap):
    out = subprocess.run(['tshark', '-r', pcap, '-T', 'fields', '-e',
                          'udp.dstport'], capture_output=True, text=True)
    return sorted({p for p in out.stdout.split() if p.isdigit()})


def tshark_frames(pcap):
    """{frame: [set, ...]}: each data set {id, records: [dict]} in order."""
    cmd = ['tshark', '-r', pcap, '-T', 'json']
    for p in udp_ports(pcap):
        cmd += ['-d', 'udp.port==%s,cflow' % p]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    frames = {}
    for pkt in json.loads(out.stdout, object_pairs_hook=pairs_hook):
        layers = pkt['_source']['layers']
        num = int(layers['frame']['frame.number'])
        cf = layers.get('cflow')
        if cf is None:
            continue
        hdr = {k: v for k, v in cf.items() if not isinstance(v, dict)}
        for k, v in cf.items():
            if k.endswith('_tree') and isinstance(v, dict):
                hdr.update({kk: vv for kk, vv in v.items()
                            if not isinstance(vv, dict)})
        sets = []
        if cf.get('cflow.version') == '5':
            recs = [v for k, v in cf.items() if k.startswith('pdu ')]
            sets.append({'id': None, 'records': recs, 'notemplate': False})
        for k, v in cf.items():
            if not isinstance(v, dict) or 'cflow.flowset_id' not in v:
                continue
            sid = int(v['cflow.flowset_id'])
            if sid < 256:
                continue
            recs = [vv for kk, vv in v.items() if kk.startswith('Flow ')]
            sets.append({'id': sid, 'records': recs,
                         'notemplate': any('no_template' in kk or
                                           'no template' in kk
                                           for kk in json.dumps(v).split('"'))})
        frames[num] = (hdr, sets)
    return frames


def fabmond_frames(fabmond, files):
    env = dict(os.environ, TZ='UTC')
    out = subprocess.run([fabmond, '--decode', ','.join(files)],
                         capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError('fabmond exited %d: %s' % (out.returncode,
                                                       out.stderr.strip()))
    frames = {}
    for line in out.stdout.splitlines():
        d = json.loads(line)
        if d.get('datagramVersion') not in ('5', '9', '10'):
            continue
        sets = []
        for s in d.get('sets', []):
            if s.get('setType') == 'V5':
                sets.append({'id': None, 'records': s.get('records', []),
                             'error': s.get('decodeError')})
            elif int(s.get('setId', '0')) >= 256:
                sets.append({'id': int(s['setId']),
                             'records': s.get('records', []),
                             'error': s.get('decodeError')})
        frames[int(d['pcapFrame'])] = (d, sets)
    return frames


def find(d, *keys):
    """The first of keys found in d or in its (nested) frame section."""
    for k in keys:
        if k in d:
            return d[k]
    tree = d.get('cflow.data_link_frame_section_tree')
    if isinstance(tree, dict):
        for k in keys:
            proto = k.split('.')[0]
            if isinstance(tree.get(proto), dict) and k in tree[proto]:
                return tree[proto][k]
    return None


def norm_ip(v):
    return str(ipaddress.ip_address(v)) if v is not None else None


def norm_int(v):
    if v is None:
        return None
    return int(v, 16) if str(v).startswith('0x') else int(v)


def norm_mac(v):
    return v.replace(':', '').lower() if v is not None else None


def tshark_time(v):
    """'Jan 24, 2025 17:18:01.621000000 UTC' -> Unix ms."""
    base, frac = v.rsplit(' ', 1)[0].rsplit('.', 1)
    t = datetime.datetime.strptime(base, '%b %d, %Y %H:%M:%S')
    t = t.replace(tzinfo=datetime.timezone.utc)
    return int(t.timestamp()) * 1000 + int(frac[:3])


def rel_time(hdr, v):
    """A sysUpTime-relative time (seconds) made absolute as the header
    allows: export time - (sysUpTime - t)."""
    secs = hdr.get('cflow.unix_secs')
    up = hdr.get('cflow.sysuptime')
    if secs is None or up is None:
        return None
    nsecs = int(hdr.get('cflow.unix_nsecs', '0'))
    export_ms = int(secs) * 1000 + (nsecs // 1000000 if hdr.get(
        'cflow.version') == '5' else 0)
    up_ms = round(float(up) * 1000)
    return export_ms - (up_ms - round(float(v) * 1000))


def compare_flow(t, m, hdr, why):
    """Compare one flow record; returns the number of fields compared."""
    n = 0

    def cmp(name, tv, mv):
        nonlocal n
        if tv is None:
            return
        n += 1
        if tv != mv:
            why.append('%s: tshark %r, fabmond %r' % (name, tv, mv))

    v6 = 'srcIP6' in m or 'dstIP6' in m
    for side in ('src', 'dst'):
        mine = m.get(side + ('IP6' if v6 else 'IP'))
        if v6:
            tv = find(t, 'cflow.%saddrv6' % side, 'ipv6.%s' % side)
        else:
            tv = find(t, 'cflow.%saddr' % side, 'ip.%s' % side)
        cmp(side + ' address', norm_ip(tv), norm_ip(mine))
    for side in ('src', 'dst'):
        tv = find(t, 'cflow.%sport' % side, 'tcp.%sport' % side,
                  'udp.%sport' % side)
        cmp(side + ' port', norm_int(tv), norm_int(m.get(side + 'Port')))
    cmp('protocol', norm_int(find(t, 'cflow.protocol', 'ipv6.nxt' if v6
                                  else 'ip.proto')),
        norm_int(m.get('IPProtocol')))
    cmp('bytes', norm_int(find(t, 'cflow.octets', 'cflow.octets64',
                               'cflow.data_link_frame_size')),
        norm_int(m.get('bytes')))
    cmp('packets', norm_int(find(t, 'cflow.packets', 'cflow.packets64')),
        norm_int(m.get('packets')))
    cmp('input interface', norm_int(find(t, 'cflow.inputint',
                                         'cflow.ingress_physical_interface')),
        norm_int(m.get('inputPort')))
    cmp('output interface', norm_int(find(
        t, 'cflow.outputint', 'cflow.egress_physical_interface')),
        norm_int(m.get('outputPort')))
    cmp('tos', norm_int(find(t, 'cflow.tos')), norm_int(m.get('IPTOS')))
    cmp('tcp flags', norm_int(find(t, 'cflow.tcpflags')),
        norm_int(m.get('TCPFlags')))
    cmp('src mac', norm_mac(find(t, 'cflow.srcmac', 'eth.src')),
        m.get('srcMAC'))
    cmp('dst mac', norm_mac(find(t, 'cflow.dstmac', 'eth.dst')),
        m.get('dstMAC'))
    d = find(t, 'cflow.direction')
    cmp('direction', None if d is None else
        {'0': 'ingress', '1': 'egress'}.get(d, 'unknown'), m.get('direction'))
    cmp('vlan', norm_int(find(t, 'cflow.vlanid', 'cflow.dot1q_vlan_id',
                              'vlan.id')), norm_int(m.get('in_vlan')))
    cmp('post vlan', norm_int(find(t, 'cflow.post_vlanid',
                                   'cflow.post_dot1q_vlan_id')),
        norm_int(m.get('out_vlan')))
    cmp('sampler id', norm_int(find(t, 'cflow.sampler_id')),
        norm_int(m.get('samplerId')))
    cmp('src as', norm_int(find(t, 'cflow.srcas')), norm_int(m.get('srcAS')))
    cmp('dst as', norm_int(find(t, 'cflow.dstas')), norm_int(m.get('dstAS')))
    cmp('src mask', norm_int(find(t, 'cflow.srcmask')),
        norm_int(m.get('srcMask')))
    cmp('dst mask', norm_int(find(t, 'cflow.dstmask')),
        norm_int(m.get('dstMask')))
    cmp('next hop', norm_ip(find(t, 'cflow.nexthop')),
        norm_ip(m.get('nextHop')))
    sec = find(t, 'cflow.data_link_frame_section')
    cmp('frame section', sec.replace(':', '').upper() if sec else None,
        m.get('headerBytes', '').replace('-', '') or None)
    tree = t.get('cflow.timedelta_tree', {})
    for key, mk in (('start', 'firstSwitched'), ('end', 'lastSwitched')):
        if 'cflow.abstime' + key in tree:
            cmp('time ' + key, tshark_time(tree['cflow.abstime' + key]),
                norm_int(m.get(mk)))
        elif 'cflow.time' + key in tree:
            cmp('time ' + key, rel_time(hdr, tree['cflow.time' + key]),
                norm_int(m.get(mk)))
    return n


def compare_options(t, m, why):
    n = 0

    def cmp(name, tv, mv):
        nonlocal n
        if tv is None:
            return
        n += 1
        if tv != mv:
            why.append('%s: tshark %r, fabmond %r' % (name, tv, mv))

    cmp('sampler id', norm_int(find(t, 'cflow.sampler_id')),
        norm_int(m.get('samplerId')))
    rate = norm_int(find(t, 'cflow.sampler_random_interval',
                         'cflow.sampling_interval'))
    iv = norm_int(find(t, 'cflow.sampling_packet_interval'))
    if rate is None and iv:
        rate = (iv + norm_int(find(t, 'cflow.sampling_packet_space'))) // iv
    cmp('sampling rate', rate, norm_int(m.get('samplingRate')))
    cmp('scope template', norm_int(find(t, 'cflow.template_id')),
        norm_int(m.get('scopeTemplateId')))
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--fabmond', required=True)
    ap.add_argument('--rate', type=int, default=0,
                    help='every flow record must have this samplingRate')
    ap.add_argument('name')
    ap.add_argument('pcaps', nargs='+')
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        merged = os.path.join(tmp, 'merged.pcap')
        subprocess.run(['mergecap', '-a', '-F', 'pcap', '-w', merged] +
                       a.pcaps, check=True)
        try:
            ts = tshark_frames(merged)
            fm = fabmond_frames(a.fabmond, a.pcaps)
        except (RuntimeError, subprocess.CalledProcessError,
                ValueError) as e:
            print('FAIL %s: %s' % (a.name, e))
            return 1
    why = []
    nrec = nfield = 0
    if sorted(ts) != sorted(fm):
        why.append('NetFlow frames: tshark %s, fabmond %s' %
                   (sorted(ts), sorted(fm)))
    for frame in sorted(set(ts) & set(fm)):
        hdr, tsets = ts[frame]
        _, msets = fm[frame]
        if [s['id'] for s in tsets] != [s['id'] for s in msets]:
            why.append('frame %d: data sets tshark %s, fabmond %s' % (
                frame, [s['id'] for s in tsets], [s['id'] for s in msets]))
            continue
        for tset, mset in zip(tsets, msets):
            where = 'frame %d set %s' % (frame, tset['id'])
            if tset['notemplate'] != (mset['error'] == 'no_template'):
                why.append('%s: no template: tshark %s, fabmond %s' % (
                    where, tset['notemplate'], mset['error']))
            if len(tset['records']) != len(mset['records']):
                why.append('%s: %d records in tshark, %d in fabmond' % (
                    where, len(tset['records']), len(mset['records'])))
                continue
            for i, (t, m) in enumerate(zip(tset['records'], mset['records'])):
                w = []
                if m.get('recordType') == 'OPTIONS':
                    nfield += compare_options(t, m, w)
                else:
                    nfield += compare_flow(t, m, hdr, w)
                    if a.rate and norm_int(m.get('samplingRate')) != a.rate:
                        w.append('samplingRate %s, expected %d' % (
                            m.get('samplingRate'), a.rate))
                nrec += 1
                why += ['%s record %d: %s' % (where, i + 1, x) for x in w]
    if nrec == 0:
        why.append('no record compared')
    if why:
        for x in why[:20]:
            print('# ' + x)
        print('FAIL %s (%d records, %d fields compared, %d differences)' % (
            a.name, nrec, nfield, len(why)))
        return 1
    print('ok %s (%d records, %d fields compared)' % (a.name, nrec, nfield))
    return 0


if __name__ == '__main__':
    sys.exit(main())
