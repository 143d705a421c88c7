#!/usr/bin/env python3
"""daemon_hasync: configuration sync between the two daemons of an HA pair.

Two fabmonds on loopback, each other's ha.peer, the same ha.secret, each
with a notify FIFO that this test writes keepalived's lines into (so the
roles are real roles, without keepalived). Checked:
- a flow definition, a threshold and the topology import written to one
  daemon appear on the other (and a deletion deletes), both ways, and are
  stored there (they survive its restart);
- forged sync messages are refused and counted: a wrong secret, a
  missing signature, a stale timestamp; the write token does not open it;
- a pull: while A (MASTER) writes with B down, and B had a definition of
  its own, B restarted as BACKUP takes the MASTER's set: the missing one
  added, its own deleted;
- NetFlow templates: a v9 template that only the MASTER got from an
  exporter reaches the BACKUP by the pull, which then decodes that
  exporter's data with no template in it, and keeps the template stored;
  a bad template message is a 400.
Expected values come from what the test wrote, never from fabmond.
"""
import hashlib
import hmac
import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from fablib import Fabmond, ok, free_port  # noqa: E402
import fablib  # noqa: E402
from daemon_netflow import v9, v9_data, v9_template, sender  # noqa: E402

SECRET = 'pair-secret'
TOKEN = 'tok'


def req(fab, path, method='GET', body=None, headers=None, token=True):
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
    r = urllib.request.Request(fab.url(path), method=method, data=data)
    if token:
        r.add_header('Authorization', f'Bearer {TOKEN}')
    for k, v in (headers or {}).items():
        r.add_header(k, v)
    try:
        with urllib.request.urlopen(r, timeout=5) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw) if raw else None
        except ValueError:
            return e.code, raw


NF = {}  # daemon name -> its NetFlow port


def start(tmp, name, http_port, peer_port):
    NF.setdefault(name, free_port())
    d = os.path.join(tmp, name)
    os.makedirs(d, exist_ok=True)
    fifo = os.path.join(d, 'notify.fifo')
    f = Fabmond(d, http_port=http_port, extra=(
        '-o', f'ha.peer=127.0.0.1:{peer_port}', '-o', f'ha.secret={SECRET}',
        '-o', f'ha.notify_fifo={fifo}', '-o', 'ha.instance=fm',
        '-o', f'http.token={TOKEN}', '-o', 'snmp.enable=0',
        '-o', f'netflow.listen=127.0.0.1:{NF[name]}'))
    f.fifo = fifo
    return f


def role(f, r):
    fd = os.open(f.fifo, os.O_WRONLY | os.O_NONBLOCK)
    os.write(fd, f'INSTANCE "fm" {r} 100\n'.encode())
    os.close(fd)


def wait(pred, timeout=8):
    return fablib.wait_for(pred, timeout, 0.2)


def flow(f, name):
    st, d = req(f, f'/flow/{name}/json')
    return d if st == 200 else None


def signed(body, secret=SECRET):
    return 'sha256=' + hmac.new(secret.encode(), body,
                                hashlib.sha256).hexdigest()


def sync_msg(name, js, ts=None, kind='flow'):
    return json.dumps({'ts': int((ts or time.time()) * 1000), 'kind': kind,
                       'name': name, 'json': js, 'origin': 'peer'}).encode()


def netflow(f):
    st, h = req(f, '/api/v1/health')
    return (h or {}).get('netflow') or {} if st == 200 else {}


def exporter(f, addr):
    for e in netflow(f).get('exporters', []):
        if e['address'] == addr:
            return e
    return {}


def stored_templates(f):
    q = f'kind=netflow_template&ts={int(time.time() * 1000)}'
    st, d = req(f, f'/api/v1/ha/sync?{q}', token=False,
                headers={'X-Fabmon-Signature': signed(q.encode())})
    return [x['name'] for x in (d or {}).get('defs', [])] if st == 200 \
        else None


def templates(tmp, a, b, pa, pb):
    """A is MASTER, b BACKUP. Returns b (restarted)."""
    s = sender('127.0.0.1')
    up = 500000
    rec = {'src': '10.9.0.1', 'dst': '10.9.0.2', 'sport': 4321,
           'dport': 443, 'proto': 6, 'packets': 10, 'bytes': 15000,
           'in_if': 3, 'out_if': 4, 'first': up - 1000, 'last': up}
    s.sendto(v9([v9_template()], seq=1, uptime=up), ('127.0.0.1', NF['a']))
    name = '9/127.0.0.1/0/256'
    got = wait(lambda: name in (stored_templates(a) or []))
    ok(got, 'hasync/netflow: the MASTER learns and stores a v9 template',
       stored_templates(a))
    ok(name not in (stored_templates(b) or []) and
       netflow(b).get('templates') == 0,
       'hasync/netflow: the BACKUP has not seen it', netflow(b))
    b.stop()
    b = start(tmp, 'b', pb, pa)
    role(b, 'BACKUP')
    got = wait(lambda: netflow(b).get('templatesFromPeer', {}).get(
        'learned') == 1, timeout=12)
    ok(got, 'hasync/netflow: the BACKUP pulls the MASTER\'s template',
       netflow(b))
    s.sendto(v9([v9_data(rec)], seq=2, uptime=up), ('127.0.0.1', NF['b']))
    got = wait(lambda: exporter(b, '127.0.0.1').get('records') == 1)
    e = exporter(b, '127.0.0.1')
    ok(got and e.get('pendingDecoded') == 0 and netflow(b).get(
        'pending') == 0 and e.get('errors', {}).get('no_template', 0) == 0,
       'hasync/netflow: the BACKUP decodes the exporter\'s data at once, '
       'with no template in it', e)
    got = wait(lambda: name in (stored_templates(b) or []))
    ok(got, 'hasync/netflow: the BACKUP stores the pulled template')
    # bad template messages, signed: refused with a 400
    for js, why in (('{"exporter":"x"}', 'bad JSON'),
                    (json.dumps({'exporter': '127.0.0.1', 'domain': 0,
                                 'version': 9, 'id': 257, 'options': False,
                                 'scope': 0, 'fields': [[8, 4, 0]]}),
                     'a name that is not the template\'s')):
        body = sync_msg(name, js, kind='netflow_template')
        st, _ = req(b, '/api/v1/ha/sync', 'POST', body,
                    {'X-Fabmon-Signature': signed(body)}, token=False)
        ok(st == 400, f'hasync/netflow: a template with {why} is a 400', st)
    return b


def main():
    tmp = tempfile.mkdtemp(prefix='fabmon-hasync-')
    pa, pb = free_port(), free_port()
    a = b = None
    try:
        a = start(tmp, 'a', pa, pb)
        b = start(tmp, 'b', pb, pa)
        # -- incremental, both ways
        spec = {'keys': 'ipsource,ipdestination', 'value': 'bytes'}
        st, _ = req(a, '/flow/web/json', 'PUT', spec)
        ok(st in (200, 201, 204), 'hasync/PUT a flow on A', st)
        got = wait(lambda: flow(b, 'web'))
        ok(got is not None and got.get('keys') == spec['keys'],
           'hasync/the flow reaches B', str(got))
        th = {'metric': 'web', 'value': 1000, 'byFlow': True}
        st, _ = req(b, '/threshold/big/json', 'PUT', th)
        got = wait(lambda: req(a, '/threshold/big/json')[0] == 200)
        ok(got, 'hasync/a threshold written on B reaches A')
        topo = {'nodes': {'x1': {'agent': '192.0.2.1',
                                 'ports': {'swp1': {'ifindex': '1'}}}},
                'links': {}}
        st, _ = req(a, '/topology/json', 'PUT', topo)
        got = wait(lambda: 'x1' in json.dumps(req(b, '/topology/json')[1]))
        ok(got, 'hasync/the topology import reaches B')
        st, _ = req(a, '/flow/tmp/json', 'PUT', spec)
        wait(lambda: flow(b, 'tmp'))
        st, _ = req(a, '/flow/tmp/json', 'DELETE')
        got = wait(lambda: flow(b, 'tmp') is None and flow(a, 'tmp') is None)
        ok(got, 'hasync/a deletion on A deletes on B')
        _, ha = req(b, '/api/v1/ha')
        s = (ha or {}).get('sync', {})
        ok(s.get('applied', 0) >= 4 and s.get('sent', 0) >= 1,
           'hasync/counted in /api/v1/ha sync', str(s))
        # -- forged messages
        body = sync_msg('evil', json.dumps(spec))
        st, _ = req(b, '/api/v1/ha/sync', 'POST', body,
                    {'X-Fabmon-Signature': signed(body, 'wrong')})
        ok(st == 403, 'hasync/a wrong secret is refused (403)', st)
        st, _ = req(b, '/api/v1/ha/sync', 'POST', body)
        ok(st == 403, 'hasync/no signature (even with the token) is refused',
           st)
        old = sync_msg('evil', json.dumps(spec), ts=time.time() - 3600)
        st, _ = req(b, '/api/v1/ha/sync', 'POST', old,
                    {'X-Fabmon-Signature': signed(old)}, token=False)
        ok(st == 403, 'hasync/a stale timestamp is refused', st)
        st, _ = req(b, '/api/v1/ha/sync', 'POST', b'{',
                    {'X-Fabmon-Signature': signed(b'{')}, token=False)
        ok(st == 400, 'hasync/signed garbage is a 400', st)
        ok(flow(b, 'evil') is None and flow(a, 'evil') is None,
           'hasync/nothing forged was applied')
        _, ha = req(b, '/api/v1/ha')
        ok(ha.get('sync', {}).get('refused', 0) >= 4,
           'hasync/refusals counted', str(ha.get('sync')))
        # a signed message from "the peer" is applied without the token
        good = sync_msg('viapeer', json.dumps(spec))
        st, _ = req(b, '/api/v1/ha/sync', 'POST', good,
                    {'X-Fabmon-Signature': signed(good)}, token=False)
        ok(st in (200, 201, 204) and flow(b, 'viapeer') is not None,
           'hasync/a signed message is applied', st)
        req(b, '/flow/viapeer/json', 'DELETE')
        # -- stored: B restarted keeps what came from A
        b.stop()
        b = start(tmp, 'b', pb, pa)
        ok(flow(b, 'web') is not None, 'hasync/B stored what A sent it')
        # -- the pull: A MASTER writes while B is down; B had its own
        st, _ = req(b, '/flow/onlyb/json', 'PUT', spec)
        wait(lambda: flow(a, 'onlyb'))
        a.stop()
        a = None
        st, _ = req(b, '/flow/onlyb2/json', 'PUT', spec)  # A misses it
        b.stop()
        b = None
        a = start(tmp, 'a', pa, pb)
        role(a, 'MASTER')
        req(a, '/flow/onlya/json', 'PUT', spec)          # B misses it
        req(a, '/flow/onlyb/json', 'DELETE')             # and this
        b = start(tmp, 'b', pb, pa)
        role(b, 'BACKUP')
        got = wait(lambda: flow(b, 'onlya') is not None and
                   flow(b, 'onlyb2') is None and flow(b, 'onlyb') is None,
                   timeout=12)
        _, ha = req(b, '/api/v1/ha')
        ok(got, 'hasync/B as BACKUP pulls the MASTER\'s set: missing ones '
           'added, its own deleted', str(ha.get('sync')))
        ok(ha.get('sync', {}).get('pulls', 0) >= 1 and
           ha['sync'].get('peerRole') == 'MASTER' and
           ha['sync'].get('selfRole') == 'BACKUP',
           'hasync/the pull counted, roles seen', str(ha.get('sync')))
        ok(flow(a, 'onlyb2') is None and flow(a, 'onlya') is not None,
           'hasync/the MASTER kept its own set')
        b = templates(tmp, a, b, pa, pb)
    finally:
        fablib.cleanup(tmp, (a, b), [(n, os.path.join(tmp, n, 'fabmond.log'))
                                     for n in ('a', 'b')])
    return 1 if fablib.failures else 0


if __name__ == '__main__':
    sys.exit(main())
