#!/usr/bin/env python3
"""Send the UDP payloads of a classic pcap (Ethernet/raw/SLL) to HOST:PORT.

Usage: pcap_send.py [--count N] [--raw FILE]... HOST:PORT [PCAP...]
  --raw FILE   send FILE's bytes as one datagram (for hostile inputs)
Used by the tests to replay real captures into a running fabmond.
"""
import socket
import struct
import sys


def udp_payloads(path):
    data = open(path, 'rb').read()
    magic = struct.unpack('<I', data[:4])[0]
    if magic in (0xa1b2c3d4, 0xa1b23c4d):
        e = '<'
    elif magic in (0xd4c3b2a1, 0x4d3cb2a1):
        e = '>'
    else:
        raise SystemExit(f'{path}: not a classic pcap file')
    linktype = struct.unpack(e + 'I', data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(e + 'IIII', data[off:off + 16])
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if linktype == 1:        # Ethernet
            p, etype = 14, struct.unpack('>H', pkt[12:14])[0]
            while etype in (0x8100, 0x88a8):
                etype = struct.unpack('>H', pkt[p + 2:p + 4])[0]
                p += 4
        elif linktype == 113:    # Linux SLL
            p, etype = 16, struct.unpack('>H', pkt[14:16])[0]
        elif linktype in (101, 228, 229, 12):  # raw IP
            p, etype = 0, 0x86dd if pkt[0] >> 4 == 6 else 0x800
        else:
            continue
        if etype == 0x800:
            ihl = (pkt[p] & 15) * 4
            proto = pkt[p + 9]
            p += ihl
        elif etype == 0x86dd:
            proto = pkt[p + 6]
            p += 40
        else:
            continue
        if proto != 17:
            continue
        ulen = struct.unpack('>H', pkt[p + 4:p + 6])[0]
        yield pkt[p + 8:p + ulen]


def main(argv):
    count, raws, args = 1, [], []
    it = iter(argv)
    for a in it:
        if a == '--count':
            count = int(next(it))
        elif a == '--raw':
            raws.append(open(next(it), 'rb').read())
        else:
            args.append(a)
    if not args:
        raise SystemExit(__doc__)
    host, port = args[0].rsplit(':', 1)
    host = host.strip('[]')
    fam = socket.AF_INET6 if ':' in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    payloads = raws + [p for f in args[1:] for p in udp_payloads(f)]
    n = 0
    for _ in range(count):
        for p in payloads:
            s.sendto(p, (host, int(port)))
            n += 1
    print(n)


if __name__ == '__main__':
    main(sys.argv[1:])
