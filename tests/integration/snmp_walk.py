#!/usr/bin/env python3
"""snmp_walk: the SNMP poller (topology/snmp.c) against real agents.

Runs $BUILD/tests/snmpwalk_tool (a CLI around the poller) against:
- snmpd instances it starts on loopback, on free high ports, each with its
  own directory and SNMP_PERSISTENT_DIR: one for SNMPv2c (127.0.0.1 and
  ::1), one for SNMPv3 authPriv SHA/AES only (createUser in its config);
- a port where nothing listens (a dead switch);
- a hostile fake agent in this process (loops, odd types, endless tables,
  tooBig, garbage).
`snmpwalk -On` from the snmp package on the same agent is the oracle.
Prints "ok - name" / "not ok - name: why"; every process it starts is
stopped by PID. Needs snmpd and snmpwalk (make deps), not root.
"""
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
BUILD = os.environ.get('BUILD', 'build')
TOOL = os.environ.get('SNMPWALK_TOOL',
                      os.path.join(ROOT, BUILD, 'tests', 'snmpwalk_tool'))
USER, AUTH, PRIV = 'fabmon', 'fabmon-auth-pw', 'fabmon-priv-pw'
IFNAME = '1.3.6.1.2.1.31.1.1.1.1'
IFDESCR = '1.3.6.1.2.1.2.2.1.2'
IFTYPE = '1.3.6.1.2.1.2.2.1.3'
IFHIGHSPEED = '1.3.6.1.2.1.31.1.1.1.15'
SYSNAME = '1.3.6.1.2.1.1.5'
SYSOBJECTID = '1.3.6.1.2.1.1.2'

failures = 0
procs = []


def ok(cond, name, why=''):
    global failures
    if cond:
        print(f'ok - {name}', flush=True)
    else:
        failures += 1
        print(f'not ok - {name}' + (f': {why}' if why else ''), flush=True)
    return cond


def note(msg):
    print('# ' + msg.replace('\n', '\n# '), flush=True)


def free_udp_port(family=socket.AF_INET):
    """A UDP port free on both 127.0.0.1 and ::1."""
    for _ in range(50):
        s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s4.bind(('127.0.0.1', 0))
        port = s4.getsockname()[1]
        try:
            s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            s6.bind(('::1', port))
            s6.close()
        except OSError:
            s4.close()
            continue
        s4.close()
        return port
    raise RuntimeError('no free UDP port')


# ---------------------------------------------------------------- snmpd

class Snmpd:
    def __init__(self, tmp, name, conf_lines, port):
        self.dir = os.path.join(tmp, name)
        os.makedirs(os.path.join(self.dir, 'snmp'))
        self.port = port
        self.conf = os.path.join(self.dir, 'snmpd.conf')
        with open(self.conf, 'w') as f:
            f.write(f'agentAddress udp:127.0.0.1:{port},udp6:[::1]:{port}\n')
            f.write('dontLogTCPWrappersConnects yes\n')
            f.write('\n'.join(conf_lines) + '\n')
        env = dict(os.environ, SNMP_PERSISTENT_DIR=os.path.join(
            self.dir, 'snmp'), MIBS='')
        self.log = os.path.join(self.dir, 'snmpd.log')
        self.proc = subprocess.Popen(
            ['snmpd', '-f', '-C', '-c', self.conf, '-p',
             os.path.join(self.dir, 'snmpd.pid'), '-I', '-smux',
             '-Lf', self.log],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        procs.append(self.proc)

    def wait_ready(self, oracle_args):
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('snmpd died: ' + self.logtext())
            r = snmpget(oracle_args + [f'127.0.0.1:{self.port}',
                                       SYSNAME + '.0'])
            if r.returncode == 0 and 'STRING' in r.stdout:
                return
            time.sleep(0.1)
        raise RuntimeError('snmpd not answering: ' + self.logtext())

    def logtext(self):
        try:
            with open(self.log) as f:
                return f.read()[-2000:]
        except OSError:
            return ''


def stop_all():
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def snmpget(args):
    return subprocess.run(['snmpget', '-On', '-t', '1', '-r', '0'] + args,
                          capture_output=True, text=True,
                          env=dict(os.environ, MIBS=''), timeout=30)


def oracle(args, target, subtrees):
    """snmpwalk -On -Ox -Ot of each subtree, parsed."""
    out = []
    for st in subtrees:
        r = subprocess.run(['snmpwalk', '-On', '-Ox', '-Ot', '-Oe', '-t', '2',
                            '-r', '1'] + args + [target, st],
                           capture_output=True, text=True,
                           env=dict(os.environ, MIBS=''), timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f'snmpwalk {target} {st}: {r.stderr}')
        out += parse_lines(r.stdout)
    return out


# ---------------------------------------------------------------- output

def norm_value(typ, val):
    """(type, value) in a form both snmpwalk and the tool map to."""
    val = val.strip()
    if typ in ('STRING', 'Hex-STRING'):
        if typ == 'STRING':
            if val.startswith('"') and val.endswith('"') and len(val) >= 2:
                val = val[1:-1]
            return ('STR', val.encode().hex())
        return ('STR', ''.join(val.split()).lower())
    if typ in ('Counter32', 'Gauge32', 'Timeticks', 'Unsigned32', 'UINT'):
        return ('UINT', int(val.strip('()').split()[0]))
    if typ == 'INTEGER':
        return ('INT', int(val))
    if typ == 'Counter64':
        return ('U64', int(val))
    if typ == 'OID':
        return ('OID', val)
    if typ == 'IpAddress':
        return ('IP', val)
    return (typ, val)


def parse_lines(text):
    """'.OID = TYPE: value' lines (snmpwalk may wrap hex strings) -> list."""
    rows = []
    for line in text.splitlines():
        if line.startswith('#') or line.startswith('status='):
            continue
        m = re.match(r'^(\.[0-9.]+) = (?:([A-Za-z0-9-]+): ?)?(.*)$', line)
        if m:
            typ = m.group(2) or ''
            val = m.group(3)
            if typ == '' and val == '""':
                typ, val = 'STRING', '""'
            elif typ == '' and val == 'NULL':
                typ = 'NULL'
            rows.append([m.group(1), typ, val])
        elif rows and line.strip():
            rows[-1][2] += ' ' + line.strip()  # continued hex string
    return [(o, norm_value(t, v)) for o, t, v in rows]


def tool(args, timeout=120):
    t0 = time.monotonic()
    r = subprocess.run([TOOL] + args, capture_output=True, text=True,
                       timeout=timeout)
    r.wall_ms = (time.monotonic() - t0) * 1000
    return r


def statuses(text):
    """status lines -> list of dicts, in the order printed."""
    out = []
    for line in text.splitlines():
        if not line.startswith('status='):
            continue
        d = dict(re.findall(r'(\w+)=("[^"]*"|\S+)', line))
        d = {k: v.strip('"') for k, v in d.items()}
        for k in ('requests', 'ms', 'vbs', 'end_ms'):
            d[k] = int(d[k])
        out.append(d)
    return out


def sanitizer_clean(r):
    return ('AddressSanitizer' not in r.stderr and
            'runtime error' not in r.stderr and r.returncode in (0, 1))


# ---------------------------------------------------------------- fake agent

def ber_len(n):
    if n < 128:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, 'big')
    return bytes([0x80 | len(b)]) + b


def tlv(tag, body):
    return bytes([tag]) + ber_len(len(body)) + body


def ber_int(v, tag=0x02):
    n = 1
    while not -(1 << (8 * n - 1)) <= v < (1 << (8 * n - 1)):
        n += 1
    return tlv(tag, v.to_bytes(n, 'big', signed=True))


def ber_oid(arcs):
    body = bytearray()
    subs = [arcs[0] * 40 + arcs[1]] + list(arcs[2:])
    for s in subs:
        enc = [s & 0x7f]
        s >>= 7
        while s:
            enc.append(0x80 | (s & 0x7f))
            s >>= 7
        body += bytes(reversed(enc))
    return tlv(0x06, bytes(body))


def ber_read(buf, i):
    """(tag, body_start, body_end) of the TLV at buf[i]."""
    tag = buf[i]
    n = buf[i + 1]
    j = i + 2
    if n & 0x80:
        k = n & 0x7f
        n = int.from_bytes(buf[j:j + k], 'big')
        j += k
    return tag, j, j + n


def oid_decode(b):
    arcs, v = [], 0
    for c in b:
        v = (v << 7) | (c & 0x7f)
        if not c & 0x80:
            arcs.append(v)
            v = 0
    first = arcs[0]
    return [min(first // 40, 2), first - 40 * min(first // 40, 2)] + arcs[1:]


def parse_request(buf):
    _, s, _ = ber_read(buf, 0)
    _, vs, ve = ber_read(buf, s)              # version
    _, cs, ce = ber_read(buf, ve)             # community
    ptag, ps, _ = ber_read(buf, ce)           # PDU
    _, rs, re_ = ber_read(buf, ps)            # request-id
    reqid = int.from_bytes(buf[rs:re_], 'big', signed=True)
    _, a, b = ber_read(buf, re_)              # non-repeaters
    _, c, d = ber_read(buf, b)                # max-repetitions
    maxrep = int.from_bytes(buf[c:d], 'big')
    _, ls, _ = ber_read(buf, d)               # varbind list
    _, vbs, _ = ber_read(buf, ls)             # first varbind
    _, os_, oe = ber_read(buf, vbs)           # its OID
    return (buf[cs:ce].decode(), ptag, reqid, maxrep,
            oid_decode(buf[os_:oe]))


def response(community, reqid, vbs, errstat=0, errindex=0):
    vbl = b''.join(tlv(0x30, ber_oid(o) + v) for o, v in vbs)
    pdu = tlv(0xA2, ber_int(reqid) + ber_int(errstat) + ber_int(errindex) +
              tlv(0x30, vbl))
    return tlv(0x30, ber_int(1) + tlv(0x04, community.encode()) + pdu)


FAKE_ROOT = [1, 3, 6, 1, 4, 1, 99999, 1]


def fake_answer(community, ptag, reqid, maxrep, oid):
    """The hostile agent: its behaviour is chosen by the community."""
    root = FAKE_ROOT
    after = oid[len(root)] if len(oid) > len(root) and \
        oid[:len(root)] == root else 0
    if community == 'loop':
        # always the same OID: the walk would never end
        return response(community, reqid, [(root + [1], ber_int(1))])
    if community == 'silent':
        return None
    if community == 'garbage':
        return bytes(random.getrandbits(8) for _ in range(60))
    if community == 'endless':
        n = max(1, min(maxrep, 50))
        return response(community, reqid,
                        [(root + [after + k + 1], ber_int(after + k + 1))
                         for k in range(n)])
    if community == 'dies':
        # answers the first request, then never again: a switch that dies
        # in the middle of a walk
        if after > 0:
            return None
        return response(community, reqid,
                        [(root + [k + 1], ber_int(k)) for k in range(10)])
    if community == 'toobig':
        if maxrep > 4:
            return response(community, reqid, [(oid, tlv(0x05, b''))],
                            errstat=1)
        if after >= 20:
            return response(community, reqid,
                            [([1, 3, 6, 1, 4, 1, 99999, 2], ber_int(0))])
        n = min(maxrep, 20 - after)
        return response(community, reqid,
                        [(root + [after + k + 1], ber_int(7))
                         for k in range(n)])
    if community == 'badip':
        # net-snmp's parser refuses the whole PDU (an IpAddress of 3 bytes)
        return response(community, reqid,
                        [(root + [1], tlv(0x40, b'\x0a\x00\x01'))])
    if community == 'types':
        if after >= 1:
            return response(community, reqid, [(oid, tlv(0x82, b''))])
        return response(community, reqid, [
            (root + [1], tlv(0x40, b'\x0a\x00\x01\x02')),  # IpAddress
            (root + [2], tlv(0x46, b'\x01\x02\x03\x04\x05')),  # Counter64
            (root + [3], tlv(0x41, b'\x00\xff\xff\xff\xff')),  # Counter32 max
            (root + [4], ber_oid([1, 3] + [7] * 100)),     # OID of 102 arcs
            (root + [5] + [1] * 70, ber_int(5)),           # name of 78 arcs
            (root + [6], tlv(0x05, b'')),                  # NULL
            (root + [7], tlv(0x44, b'\x9f\x78\x04\x40\x49\x0f\xdb')),  # float
            (root + [8], tlv(0x03, b'\x00\xff')),          # BIT STRING
            (root + [9], tlv(0x04, bytes(range(256)) * 4)),  # 1 KiB string
            (root + [10], ber_int(-5)),
            (root + [11], tlv(0x43, b'\x00\x80\x00\x00\x00')),  # TimeTicks
            (root + [12], tlv(0x81, b'')),                 # noSuchInstance
        ])
    return None


class FakeAgent(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(('127.0.0.1', 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop = False
        self.requests = 0

    def run(self):
        while not self.stop:
            try:
                buf, peer = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            self.requests += 1
            try:
                ans = fake_answer(*parse_request(buf))
            except (IndexError, ValueError, UnicodeDecodeError):
                continue
            if ans is not None:
                self.sock.sendto(ans, peer)

    def close(self):
        self.stop = True
        self.join(timeout=2)
        self.sock.close()


# ---------------------------------------------------------------- tests

def test_v2c(a):
    v2 = ['-v2c', '-c', 'public']
    sub = [IFNAME, SYSNAME, IFDESCR, IFTYPE, IFHIGHSPEED, SYSOBJECTID]
    for name, target, otarget in (
            ('ipv4', f'127.0.0.1:{a.port}', f'127.0.0.1:{a.port}'),
            ('ipv6', f'[::1]:{a.port}', f'udp6:[::1]:{a.port}')):
        want = oracle(v2, otarget, sub)
        r = tool(['-v', '2c', '-c', 'public', '-H', target] + sub)
        st = statuses(r.stdout)
        got = parse_lines(r.stdout)
        ok(r.returncode == 0 and len(st) == 1 and st[0]['status'] == 'ok',
           f'v2c/{name}: walk ok', r.stdout[-300:] + r.stderr[-500:])
        ok(got == want and len(want) > 4,
           f'v2c/{name}: ifName, sysName, ifDescr, ifType, ifHighSpeed, '
           f'sysObjectID match snmpwalk -On ({len(want)} varbinds)',
           f'tool {got[:6]}... oracle {want[:6]}...')
        if st:
            note(f'v2c/{name}: {st[0]["vbs"]} varbinds, '
                 f'{st[0]["requests"]} requests, {st[0]["ms"]} ms')
    # a scalar instance as the subtree: snmpwalk GETs it; so do we
    r = tool(['-c', 'public', f'127.0.0.1:{a.port}', SYSNAME + '.0'])
    ok(parse_lines(r.stdout) == oracle(v2, f'127.0.0.1:{a.port}',
                                       [SYSNAME + '.0']) and
       'agent-v2' in r.stdout, 'v2c: subtree that is an instance (GET)',
       r.stdout)
    # an empty subtree: ok, nothing
    r = tool(['-c', 'public', f'127.0.0.1:{a.port}', '1.3.6.1.4.1.99999'])
    st = statuses(r.stdout)
    ok(st and st[0]['status'] == 'ok' and st[0]['vbs'] == 0,
       'v2c: empty subtree is ok with 0 varbinds', r.stdout)
    r = tool(['-t', '300', '-r', '0', '-c', 'wrong', f'127.0.0.1:{a.port}',
              SYSNAME])
    st = statuses(r.stdout)
    ok(st and st[0]['status'] == 'timeout',
       'v2c: wrong community times out (the agent stays silent)', r.stdout)
    r = tool(['-c', 'public', '-m', '3', f'127.0.0.1:{a.port}', IFNAME,
              SYSNAME])
    st = statuses(r.stdout)
    ok(st and st[0]['status'] == 'partial' and st[0]['vbs'] == 3,
       'v2c: max_vbs bound gives partial', r.stdout)


def test_v3(b):
    v3 = ['-v3', '-l', 'authPriv', '-u', USER, '-a', 'SHA', '-A', AUTH, '-x',
          'AES', '-X', PRIV]
    mine = ['-v', '3', '-u', USER, '-a', 'SHA', '-A', AUTH, '-x', 'AES',
            '-X', PRIV]
    sub = [IFNAME, SYSNAME]
    for name, target, otarget in (
            ('ipv4', f'127.0.0.1:{b.port}', f'127.0.0.1:{b.port}'),
            ('ipv6', f'[::1]:{b.port}', f'udp6:[::1]:{b.port}')):
        want = oracle(v3, otarget, sub)
        r = tool(mine + ['-H', target] + sub)
        st = statuses(r.stdout)
        ok(r.returncode == 0 and st and st[0]['status'] == 'ok' and
           parse_lines(r.stdout) == want and len(want) > 1,
           f'v3/{name}: authPriv SHA/AES walk matches snmpwalk',
           r.stdout[-400:] + r.stderr[-400:])
        if st:
            note(f'v3/{name}: {st[0]["vbs"]} varbinds, {st[0]["requests"]} '
                 f'requests (engine-ID probe included), {st[0]["ms"]} ms')
    for user, auth, priv in (('md5des', 'MD5', 'DES'),
                             ('sha256', 'SHA-256', 'AES')):
        r = tool(['-v', '3', '-u', user, '-a', auth, '-A', AUTH, '-x', priv,
                  '-X', PRIV, f'127.0.0.1:{b.port}', SYSNAME])
        st = statuses(r.stdout)
        ok(st and st[0]['status'] == 'ok' and 'agent-v3' in r.stdout,
           f'v3: authPriv {auth}/{priv}', r.stdout + r.stderr[-400:])
    r = tool(['-t', '300', '-r', '0', '-c', 'public', f'127.0.0.1:{b.port}',
              SYSNAME])
    st = statuses(r.stdout)
    ok(st and st[0]['status'] == 'timeout', 'v3 agent: v2c is refused',
       r.stdout)

    def bad(args, want_status, want_err, name):
        r = tool(['-t', '500', '-r', '1', '-v', '3', '-u', USER] + args +
                 [f'127.0.0.1:{b.port}', SYSNAME])
        st = statuses(r.stdout)
        good = (st and st[0]['status'] == want_status and
                re.search(want_err, st[0].get('err', ''), re.I) and
                sanitizer_clean(r))
        ok(good, f'v3: {name} -> {want_status}', r.stdout + r.stderr[-500:])
        if st:
            note(f'v3 {name}: status={st[0]["status"]} '
                 f'requests={st[0]["requests"]} ms={st[0]["ms"]} '
                 f'err="{st[0].get("err", "")}"')
        return st

    st = bad(['-A', 'wrong-auth-pw', '-X', PRIV], 'auth', 'authentication',
             'wrong auth pass phrase')
    ok(st and st[0]['ms'] < 500, 'v3: wrong auth pass phrase fails fast '
       '(a Report, no timeout)', str(st))
    bad(['-a', 'MD5', '-A', AUTH, '-X', PRIV], 'auth', 'authentication',
        'wrong auth protocol')
    bad(['-u', 'nobody', '-A', AUTH, '-X', PRIV], 'auth', 'unknown user',
        'unknown user')
    # snmpd drops what it cannot decrypt without a Report (snmpwalk times
    # out too): a wrong privacy pass phrase is a timeout
    bad(['-A', AUTH, '-X', 'wrong-priv-pw'], 'timeout', 'timeout',
        'wrong priv pass phrase')
    bad(['-A', AUTH], 'error', 'authorization', 'authNoPriv for an '
        'authPriv-only user')
    # the process-wide USM table follows a pass phrase change
    r = tool(['-v', '3', '-u', USER, '-A', 'wrong-auth-pw', '-X', PRIV,
              '-Z', AUTH, f'127.0.0.1:{b.port}', SYSNAME])
    st = statuses(r.stdout)
    ok(len(st) == 2 and st[0]['status'] == 'auth' and
       st[1]['status'] == 'ok' and 'agent-v3' in r.stdout,
       'v3: wrong then right pass phrase in one process', r.stdout)


def test_dead_and_parallel(a, b):
    dead = free_udp_port()
    live = f'127.0.0.1:{a.port}'
    r = tool(['-q', '-t', '1000', '-r', '2', f'127.0.0.1:{dead},{live}',
              IFNAME, SYSNAME])
    st = statuses(r.stdout)
    by = {s['target']: s for s in st}
    d, li = by.get(f'127.0.0.1:{dead}'), by.get(live)
    ok(d is not None and li is not None and st[0] is li and
       li['status'] == 'ok' and li['end_ms'] < 500,
       'dead+live: the live walk completes first, unhindered',
       r.stdout)
    ok(d is not None and d['status'] == 'timeout' and d['requests'] == 3 and
       2900 <= d['ms'] <= 3600,
       'dead+live: the dead one times out after timeout*(retries+1)',
       r.stdout)
    if d and li:
        note(f'dead+live (timeout 1000 ms, 2 retries): live ok in '
             f'{li["ms"]} ms (done at {li["end_ms"]} ms), dead timeout '
             f'after {d["ms"]} ms and {d["requests"]} requests')
    # the same with SNMPv3: the engine-ID probe of the dead one must not
    # block (net-snmp's own probe would be synchronous)
    mine = ['-v', '3', '-u', USER, '-A', AUTH, '-X', PRIV]
    liv3 = f'[::1]:{b.port}'
    r = tool(mine + ['-q', '-t', '1000', '-r', '1',
                     f'127.0.0.1:{dead},{liv3}', SYSNAME, IFNAME])
    st = statuses(r.stdout)
    by = {s['target']: s for s in st}
    d, li = by.get(f'127.0.0.1:{dead}'), by.get(liv3)
    ok(d is not None and li is not None and st[0] is li and
       li['status'] == 'ok' and li['end_ms'] < 500 and
       d['status'] == 'timeout' and 1900 <= d['ms'] <= 2600,
       'dead+live v3: the live one first; the dead probe times out',
       r.stdout)
    if d and li:
        note(f'dead+live v3 (timeout 1000 ms, 1 retry): live ok at '
             f'{li["end_ms"]} ms, dead timeout after {d["ms"]} ms')
    for par, name in ((64, '50 concurrent walks'),
                      (8, '50 walks, 8 at a time')):
        r = tool(['-q', '-n', '50', '-P', str(par), live, IFNAME, SYSNAME,
                  IFDESCR])
        st = statuses(r.stdout)
        nok = sum(1 for s in st if s['status'] == 'ok')
        same = len({s['vbs'] for s in st}) == 1
        ok(r.returncode == 0 and len(st) == 50 and nok == 50 and same,
           f'v2c: {name} all complete', f'{nok}/{len(st)} ok')
        if st:
            note(f'{name}: all done in {max(s["end_ms"] for s in st)} ms '
                 f'(wall {r.wall_ms:.0f} ms), per walk max '
                 f'{max(s["ms"] for s in st)} ms')
    r = tool(mine + ['-q', '-n', '50', f'127.0.0.1:{b.port}', IFNAME,
                     SYSNAME])
    st = statuses(r.stdout)
    nok = sum(1 for s in st if s['status'] == 'ok')
    ok(len(st) == 50 and nok == 50, 'v3: 50 concurrent walks all complete',
       f'{nok}/{len(st)} ok')
    if st:
        note(f'v3 50 concurrent: all done in '
             f'{max(s["end_ms"] for s in st)} ms')
    # 3 dead then 1 live with 2 slots: the live one waits in the queue for
    # a slot (300 ms), then completes before the last dead one
    deads = [f'127.0.0.1:{free_udp_port()}' for _ in range(3)]
    r = tool(['-q', '-t', '300', '-r', '0', '-P', '2',
              ','.join(deads + [live]), SYSNAME])
    st = statuses(r.stdout)
    order = [s['target'] for s in st]
    li = st[order.index(live)] if live in order else {}
    ok(len(st) == 4 and li.get('status') == 'ok' and
       set(order[:2]) == set(deads[:2]) and order[2:] == [live, deads[2]] and
       250 <= li.get('end_ms', 0) < 550,
       'max_parallel 2: a live walk queued behind dead ones starts when a '
       'slot frees and ends before the last dead one', r.stdout)


def test_hostile():
    fa = FakeAgent()
    fa.start()
    target = f'127.0.0.1:{fa.port}'
    sub = '.'.join(map(str, FAKE_ROOT))
    try:
        def run(comm, *extra):
            r = tool(['-t', '300', '-r', '0', '-c', comm] + list(extra) +
                     [target, sub])
            st = statuses(r.stdout)
            return r, (st[0] if st else {})

        r, s = run('loop')
        ok(sanitizer_clean(r) and s.get('status') == 'partial' and
           'not increasing' in s.get('err', '') and s.get('vbs') == 1,
           'hostile: a looping agent stops the subtree with an error',
           r.stdout + r.stderr[-800:])
        r, s = run('endless', '-m', '120')
        ok(sanitizer_clean(r) and s.get('status') == 'partial' and
           s.get('vbs') == 120, 'hostile: an endless table stops at max_vbs',
           r.stdout[-300:] + r.stderr[-800:])
        r, s = run('dies', '-R', '10')
        ok(sanitizer_clean(r) and s.get('status') == 'partial' and
           s.get('vbs') == 10 and 'timeout' in s.get('err', ''),
           'hostile: an agent dying mid-walk gives partial (timeout), the '
           'varbinds so far kept', r.stdout[-300:] + r.stderr[-800:])
        r, s = run('toobig', '-R', '25')
        ok(sanitizer_clean(r) and s.get('status') == 'ok' and
           s.get('vbs') == 20 and s.get('requests', 0) >= 3,
           'hostile: tooBig halves max-repetitions and goes on',
           r.stdout[-300:] + r.stderr[-800:])
        r, s = run('types')
        rows = dict(parse_lines(r.stdout))
        ok(sanitizer_clean(r) and s.get('status') == 'ok',
           'hostile: odd types and lengths do not crash',
           r.stdout + r.stderr[-1500:])
        base = '.' + sub
        ok(rows.get(base + '.1') == ('IP', '10.0.1.2') and
           rows.get(base + '.2') == ('U64', 0x0102030405) and
           rows.get(base + '.3') == ('UINT', 4294967295) and
           rows.get(base + '.4', ('?',))[0] == 'NULL' and
           rows.get(base + '.6', ('?',))[0] == 'NULL' and
           rows.get(base + '.7', ('?',))[0] == 'NULL' and
           rows.get(base + '.11') == ('UINT', 2147483648) and
           base + '.12' not in rows and
           not any(k.startswith(base + '.5.') for k in rows) and
           rows.get(base + '.9', ('?', ''))[1] == (bytes(range(256)) *
                                                  4).hex() and
           rows.get(base + '.10') == ('INT', -5),
           'hostile: an OID value too long and exotic types stored as NULL, '
           'a too-long name skipped, the rest intact', r.stdout[-1500:])
        r, s = run('badip')
        ok(sanitizer_clean(r) and s.get('status') == 'timeout',
           'hostile: a PDU net-snmp cannot parse is dropped (timeout)',
           r.stdout + r.stderr[-800:])
        r, s = run('garbage')
        ok(sanitizer_clean(r) and s.get('status') == 'timeout',
           'hostile: garbage answers are dropped (timeout)',
           r.stdout + r.stderr[-800:])
    finally:
        fa.close()


def test_bad_usage():
    r = tool(['-c', 'public', 'switch1.example', SYSNAME])
    ok(r.returncode == 2 and 'bad target' in r.stderr,
       'a host name is refused (addresses only, no DNS)', r.stderr)
    r = tool(['-c', 'public', '127.0.0.1:16101', 'ifName'])
    ok(r.returncode == 2, 'a symbolic OID is refused (numeric only)',
       r.stderr)
    r = tool(['-v', '3', '-u', USER, '-A', 'short', '127.0.0.1', SYSNAME])
    ok(r.returncode == 2 and '8' in r.stderr,
       'a v3 pass phrase under 8 characters is refused', r.stderr)


def main():
    for prog in ('snmpd', 'snmpwalk', 'snmpget'):
        if shutil.which(prog) is None:
            ok(False, f'{prog} installed', 'run make deps')
            return 1
    if not os.access(TOOL, os.X_OK):
        ok(False, 'snmpwalk_tool built', TOOL)
        return 1
    tmp = tempfile.mkdtemp(prefix='fabmon-snmp-')
    try:
        a = Snmpd(tmp, 'v2', ['rocommunity public 127.0.0.1',
                              'rocommunity6 public ::1',
                              'sysName agent-v2'], free_udp_port())
        b = Snmpd(tmp, 'v3', [f'createUser {USER} SHA {AUTH} AES {PRIV}',
                              f'rouser {USER} priv',
                              f'createUser md5des MD5 {AUTH} DES {PRIV}',
                              'rouser md5des priv',
                              f'createUser sha256 SHA-256 {AUTH} AES {PRIV}',
                              'rouser sha256 priv',
                              'sysName agent-v3'],
                  free_udp_port())
        a.wait_ready(['-v2c', '-c', 'public'])
        b.wait_ready(['-v3', '-l', 'authPriv', '-u', USER, '-a', 'SHA', '-A',
                      AUTH, '-x', 'AES', '-X', PRIV])
        test_bad_usage()
        test_v2c(a)
        test_v3(b)
        test_dead_and_parallel(a, b)
        test_hostile()
    except Exception as e:  # a broken set-up is one failure, not a crash
        ok(False, 'snmp_walk set-up', repr(e))
    finally:
        stop_all()
        leftover = [p.pid for p in procs if p.poll() is None]
        ok(not leftover, 'every snmpd stopped', str(leftover))
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
