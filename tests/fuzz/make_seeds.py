#!/usr/bin/env python3
"""make_seeds.py [--unit-bin BUILD/tests/test_sflow]: write the fuzz seeds.

tests/fuzz/corpus/sflow/   the UDP payloads of the sflow-*.pcap fixtures,
                           hostile datagrams built here, and (with
                           --unit-bin) every datagram test_sflow builds
                           (it writes them when FABMON_SEEDS=DIR is set);
tests/fuzz/corpus/packet/  the sampled headers of the fixtures and a few
                           built packets; the first byte picks the start
                           (mod 3: Ethernet, IPv4, IPv6), as in
                           fuzz_packet.c;
tests/fuzz/corpus/conf/    INI files: valid, invalid, every key.

Names are stable, so rerunning only rewrites the same files. Inputs the
fuzzers found are kept next to these as found-*; this script leaves them.
"""
import glob
import os
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.environ.get(
    'FIXTURES', os.path.join(os.path.dirname(REPO), 'shared', 'fixtures', 'pcap'))
sys.path.insert(0, os.path.join(REPO, 'tests', 'tools'))
from pcap_send import udp_payloads  # noqa: E402


def u32(*v):
    return b''.join(struct.pack('>I', x & 0xffffffff) for x in v)


def u64(v):
    return struct.pack('>Q', v)


def pad(b):
    return b + b'\0' * (-len(b) % 4)


def opaque(b):
    return u32(len(b)) + pad(b)


def tlv(tag, body):
    """A sample or record: tag, length, body (padded)."""
    return u32(tag, len(body)) + pad(body)


def dgram(samples, n=None, agent=b'\x0a\x00\x00\x01', seq=1, uptime=1000):
    atype = 1 if len(agent) == 4 else 2
    return (u32(5, atype) + agent + u32(0, seq, uptime,
            len(samples) if n is None else n) + b''.join(samples))


def flow(recs, n=None, seq=1, inp=1, out=2, drops=0):
    return tlv(1, u32(seq, 3, 100, 1000, drops, inp, out,
                      len(recs) if n is None else n) + b''.join(recs))


def counters(recs, n=None):
    return tlv(2, u32(1, 3, len(recs) if n is None else n) + b''.join(recs))


def header(pkt, proto=1, hlen=None):
    return tlv(1, u32(proto, len(pkt) + 4, 4,
                      len(pkt) if hlen is None else hlen) + pad(pkt))


# ---- packets ---------------------------------------------------------

def eth(payload, etype=0x0800, tags=()):
    b = bytes.fromhex('020000000001020000000002')
    for tpid, tci in tags:
        b += struct.pack('>HH', tpid, tci)
    return b + struct.pack('>H', etype) + payload


def ip4(proto, payload, frag=0, opts=b''):
    ihl = 5 + len(opts) // 4
    return struct.pack('>BBHHHBBH4s4s', 0x40 | ihl, 0, 4 * ihl + len(payload),
                       0x1234, frag, 64, proto, 0, bytes([10, 0, 1, 5]),
                       bytes([10, 2, 0, 9])) + opts + payload


def ip6(nh, payload):
    return (struct.pack('>IHBB', 0x6b812345, len(payload), nh, 64) +
            bytes.fromhex('20010db8' + '0' * 22 + '01') +
            bytes.fromhex('20010db8' + '0' * 22 + '02') + payload)


def udp(sport, dport, payload=b''):
    return struct.pack('>HHHH', sport, dport, 8 + len(payload), 0) + payload


def tcp(sport, dport, flags=0x12):
    return struct.pack('>HHIIBBHHH', sport, dport, 1, 0, 0x50, flags, 1000,
                       0, 0)


def vxlan(inner, vni=100):
    return udp(49152, 4789, struct.pack('>II', 0x08000000, vni << 8) + inner)


def ext6(nh, n8=0):
    return bytes([nh, n8]) + b'\0' * (6 + 8 * n8)


def built_packets():
    """(name, start, bytes) for the packet corpus and sampled headers."""
    inner = eth(ip4(6, tcp(8080, 80)))
    v6ext = ip6(0, ext6(60) + ext6(44, 1) +
                struct.pack('>BBHI', 17, 0, 1, 0xdeadbeef) + udp(53, 53, b'abcd'))
    many = ip6(60, b''.join(ext6(60) for _ in range(19)) + ext6(17) +
               udp(1, 2))
    return [
        ('eth-ip-tcp', 1, eth(ip4(6, tcp(43210, 443)))),
        ('qinq-udp', 1, eth(ip4(17, udp(4444, 53)), 0x0800,
                            ((0x88a8, 0x6000 | 200), (0x8100, 10)))),
        ('vxlan-tcp', 1, eth(ip4(17, vxlan(inner)))),
        ('vxlan-vxlan', 1, eth(ip4(17, vxlan(eth(ip4(17, vxlan(inner))))))),
        ('ip6-ext-udp', 1, eth(v6ext, 0x86dd)),
        ('ip6-ext-raw', 12, v6ext),
        ('ip6-20-ext', 12, many),
        ('ip6-frag', 12, ip6(44, struct.pack('>BBHI', 17, 0, 185 << 3, 7) +
                             udp(1, 2))),
        ('ip6-ah', 12, ip6(51, bytes([6, 4]) + b'\0' * 22 + tcp(22, 5000))),
        ('icmp6', 1, eth(ip6(58, bytes([135, 0, 0, 0, 0, 0, 0, 0])), 0x86dd)),
        ('icmp4', 11, ip4(1, bytes([3, 4, 0, 0, 0, 0, 5, 220]))),
        ('ip4-opts', 11, ip4(17, udp(520, 520), opts=b'\x94\x04\x00\x00')),
        ('ip4-frag', 1, eth(ip4(17, udp(1, 2), frag=0x2000 | 185))),
        ('arp', 1, eth(bytes(28), 0x0806)),
        ('snap', 1, eth(bytes.fromhex('aaaa03000000') + b'\x08\x00' +
                        ip4(17, udp(7, 9)), 0x0026)),
    ]


# ---- sflow hostile ---------------------------------------------------

def hostile():
    pkt = eth(ip4(17, udp(4444, 53, b'abcd')))
    gw_huge = tlv(1003, u32(1) + bytes(4) + u32(1, 2, 3, 0x7fffffff))
    gw_seg = tlv(1003, u32(1) + bytes(4) + u32(1, 2, 3, 1, 2, 0xffffffff))
    gw_zero = tlv(1003, u32(1) + bytes(4) + u32(1, 2, 3, 3, 2, 0, 1, 0, 2, 1,
                                                 7, 0, 100))
    adapters = tlv(2001, u32(0xffffffff, 1, 1) + bytes(8))
    adapters2 = tlv(2001, u32(1, 1, 0x20000000) + bytes(8))
    return {
        'empty': b'',
        'one-byte': b'\x05',
        'three-bytes': b'\x00\x00\x00',
        'version4': u32(4) + bytes(24),
        'address7': u32(5, 7) + bytes(24),
        'address6-cut': u32(5, 2) + bytes(10),
        'nsamples-max': dgram([counters([tlv(1005, opaque(b'swp1'))])],
                              n=0xffffffff),
        'sample-len-max': dgram([]) [:-4] + u32(1, 1, 0xffffffff) + bytes(16),
        'zero-samples': dgram([tlv(4096 * 7 + 1, b'')] * 200),
        'zero-records': dgram([flow([tlv(9999, b'')] * 100, n=0xffffffff)]),
        'nrecords-max': dgram([counters([], n=0xffffffff)]),
        'gw-huge': dgram([flow([gw_huge, gw_seg, gw_zero])]),
        'adapters-huge': dgram([counters([adapters, adapters2])]),
        'header-len-max': dgram([flow([header(pkt, hlen=0xffffffff)])]),
        'header-proto-unknown': dgram([flow([header(pkt, proto=15)])]),
        'header-ip6-many-ext': dgram([flow([header(
            built_packets()[6][2], proto=12)])]),
        'discard-reason-max': dgram([tlv(5, u32(1, 0, 1, 0, 1, 2, 0xffffffff,
                                                1) + header(pkt))]),
        'strings-max': dgram([flow([tlv(1041, u32(0xffffffff)),
                                    tlv(1038, u32(300) + bytes(300)),
                                    tlv(1042, u32(255) + b'\xff' * 255)])]),
        'ports-formats': dgram([flow([], inp=0xc0000001, out=0xffffffff)]),
        'agent6-expanded': dgram(
            [tlv(3, u32(1, 0, 0xffffffff, 1, 1, 0, 3, 9, 7, 8, 0)),
             tlv(4, u32(1, 0xffffffff, 0xffffffff, 0))],
            agent=bytes(15) + b'\x01'),
        'all-ff': b'\xff' * 64,
        'trailing': dgram([counters([])]) + b'\xff' * 32,
    }


# ---- fixtures --------------------------------------------------------

def sampled_headers(d):
    """Yield (header_protocol, bytes) of every sampled header in d."""
    def rd(o):
        return struct.unpack('>I', d[o:o + 4])[0]
    try:
        o = 8 + (4 if rd(4) == 1 else 16)
        o += 12
        n, o = rd(o), o + 4
        for _ in range(n):
            tag, ln, body = rd(o), rd(o + 4), o + 8
            o = body + ln
            skip = {1: 28, 3: 40, 5: 28}.get(tag)
            if skip is None:
                continue
            nrec, r = rd(body + skip), body + skip + 4
            for _ in range(nrec):
                rtag, rlen = rd(r), rd(r + 4)
                if rtag == 1:
                    proto, hlen = rd(r + 8), rd(r + 20)
                    yield proto, d[r + 24:r + 24 + hlen]
                r += 8 + rlen
    except struct.error:
        return


def write(d, name, data):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


CONF_ALL = """; every key
[sflow]
listen = 0.0.0.0:6343
listen = [::1]:6344
listen = :6345
rcvbuf = 1048576

[http]
listen = 127.0.0.1:8008

[store]
state_dir = /tmp/fabmon-state
db = /tmp/fabmon-state/x.db

[snmp]
seed = 10.0.0.0/24
seed = 192.0.2.1
community = s3cret

[engine]
push_ms = 250
max_agents = 1000

[log]
level = debug
"""

CONFS = {
    'empty.ini': '',
    'all-keys.ini': CONF_ALL,
    'minimal.ini': '[sflow]\nlisten = 6343\n',
    'addr-first-line.ini': '[2001:db8::1]:6343\n[sflow]\nlisten=[2001:db8::1]:6343\n',
    'bad-key.ini': '[sflow]\nlisten = 6343\nbogus = 1\n',
    'bad-int.ini': '[engine]\npush_ms = 99999999999999999999\n',
    'bad-level.ini': '[log]\nlevel = loud\n',
    'bad-addr.ini': '[http]\nlisten = [::1:80\n',
    'syntax.ini': '[sflow\nlisten 6343\n',
    'too-many.ini': '[sflow]\n' + ''.join(
        'listen = 10.0.0.%d:6343\n' % i for i in range(10)),
    'no-section.ini': 'listen = 1.2.3.4:5\n',
    'comments.ini': '# hash\n; semi\n[log] ; trailing\nlevel = warn ; c\n',
    'long-line.ini': '[store]\nstate_dir = /' + 'x' * 400 + '\n',
    'empty-value.ini': '[snmp]\ncommunity =\n',
}


def main(argv):
    unit_bin = None
    if argv[:1] == ['--unit-bin'] and len(argv) > 1:
        unit_bin = argv[1]
    corpus = os.path.join(HERE, 'corpus')
    sdir, pdir, cdir = (os.path.join(corpus, n)
                        for n in ('sflow', 'packet', 'conf'))
    starts = {1: 0, 11: 1, 12: 2}
    nhdr = 0
    for path in sorted(glob.glob(os.path.join(FIXTURES, 'sflow-*.pcap'))):
        base = os.path.basename(path)[:-5]
        for i, p in enumerate(udp_payloads(path)):
            write(sdir, 'fixture-%s-%d' % (base, i), p)
            for j, (proto, h) in enumerate(sampled_headers(p)):
                if proto in starts:
                    write(pdir, 'fixture-%s-%d-%d' % (base, i, j),
                          bytes([starts[proto]]) + h)
                    nhdr += 1
    for name, data in hostile().items():
        write(sdir, 'hostile-' + name, data)
    for name, start, pkt in built_packets():
        write(pdir, 'built-' + name, bytes([starts[start]]) + pkt)
    for name, text in CONFS.items():
        write(cdir, name, text.encode())
    if unit_bin:
        env = dict(os.environ, FABMON_SEEDS=sdir)
        subprocess.run([unit_bin], env=env, stdout=subprocess.DEVNULL,
                       check=False)
    for d in (sdir, pdir, cdir):
        print('%s: %d files' % (os.path.relpath(d, REPO), len(os.listdir(d))))


if __name__ == '__main__':
    main(sys.argv[1:])
