"""sflowgen: build sFlow v5 datagrams for the loopback daemon tests.

Only what the tests need: flow samples with a sampled Ethernet/IPv4/UDP
header, and counter samples with the generic interface record. The
layouts follow the sFlow v5 spec (sflow.org/sflow_version_5.txt).
"""
import socket
import struct


def u32(*v):
    return b''.join(struct.pack('>I', x) for x in v)


def u64(v):
    return struct.pack('>Q', v)


def _csum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('>%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def udp_frame(src, dst, sport, dport, payload=64, ttl=64):
    """An Ethernet/IPv4/UDP frame header (no payload bytes)."""
    eth = bytes.fromhex('020000000002' '020000000001') + b'\x08\x00'
    ulen = 8 + payload
    ip = struct.pack('>BBHHHBBH4s4s', 0x45, 0, 20 + ulen, 1, 0, ttl, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack('>H', _csum(ip)) + ip[12:]
    udp = struct.pack('>HHHH', sport, dport, ulen, 0)
    return eth + ip + udp, len(eth) + 20 + ulen


def flow_sample(seq, ifindex, rate, frame, frame_len, inp=None, out=0,
                pool=0):
    hdr = frame + b'\0' * (-len(frame) % 4)
    rec = u32(1, frame_len + 4, 0, len(frame)) + hdr  # proto 1 = Ethernet
    body = u32(seq, ifindex, rate, pool, 0,
               ifindex if inp is None else inp, out, 1)
    body += u32(1, len(rec)) + rec
    return u32(1, len(body)) + body


def counter_sample(seq, ifindex, speed, in_octets, out_octets, in_pkts=0,
                   out_pkts=0, in_disc=0, out_disc=0, in_err=0, out_err=0,
                   status=3):
    rec = (u32(ifindex, 6) + u64(speed) + u32(1, status) + u64(in_octets) +
           u32(in_pkts, 0, 0, in_disc, in_err, 0) + u64(out_octets) +
           u32(out_pkts, 0, 0, out_disc, out_err, 0))
    body = u32(seq, ifindex, 1) + u32(1, len(rec)) + rec
    return u32(2, len(body)) + body


def datagram(agent, seq, samples, uptime=1000):
    return (u32(5, 1) + socket.inet_aton(agent) +
            u32(0, seq, uptime, len(samples)) + b''.join(samples))
