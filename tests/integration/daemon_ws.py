#!/usr/bin/env python3
"""daemon_ws: the /ws push channel (daemon/API.md) against a local fabmond.

A small imported fabric (l1, l2 under s1) and synthetic sFlow from l1's
edge port. Checked: the handshake's refusals (subprotocol, path, Origin),
hello, subscribe/unsubscribe, one frame per topic per push period, the
fabric topic only on a new topology version, the top topic's edge flow at
the rate that was sent, trace and untrace over the socket with and
without the token, bad and oversize and fragmented messages, and a slow
client that gets the latest frames instead of a backlog. Expected values
come from what the test sent, never from fabmond.
"""
import json
import os
import shutil
import socket
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from fablib import Fabmond, ok  # noqa: E402
import fablib  # noqa: E402
import sflowgen as g  # noqa: E402
import wslib  # noqa: E402

TOKEN = 's3cret'
L1, L2, S1 = '192.0.2.11', '192.0.2.12', '192.0.2.1'
RATE, FLEN = 100, 1000  # sampling 1 in 100, 1000-byte frames


def topology(extra_port=False):
    ports = {'swp1': {'ifindex': '1'}, 'swp3': {'ifindex': '3'}}
    if extra_port:
        ports['swp4'] = {'ifindex': '4'}
    return {
        'nodes': {
            'l1': {'agent': L1, 'ports': ports},
            'l2': {'agent': L2, 'ports': {'swp1': {'ifindex': '1'},
                                          'swp3': {'ifindex': '3'}}},
            's1': {'agent': S1, 'ports': {'swp1': {'ifindex': '1'},
                                          'swp2': {'ifindex': '2'}}}},
        'links': {
            'l1-s1': {'node1': 'l1', 'port1': 'swp1', 'node2': 's1',
                      'port2': 'swp1'},
            'l2-s1': {'node1': 'l2', 'port1': 'swp1', 'node2': 's1',
                      'port2': 'swp2'}}}


def call(fab, method, path, body=None, token=TOKEN):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(fab.url(path), method=method, data=data)
    if token:
        req.add_header('Authorization', f'Bearer {token}')
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        return e.code, None


def connect(fab, **kw):
    return wslib.WS('127.0.0.1', fab.http_port, **kw)


def refused(fab, **kw):
    try:
        connect(fab, **kw).close()
        return False
    except (wslib.HandshakeError, ConnectionError):
        return True


def frames(w, seconds):
    """Every message for `seconds`."""
    out, end = [], time.time() + seconds
    while time.time() < end:
        m = w.recv(max(0.05, end - time.time()))
        if m is not None:
            out.append(m)
    return out


def send_flows(fab, seconds, per_s=50):
    """Samples of one UDP flow entering l1 at its edge port swp3 (ifIndex
    3) towards swp1, then at s1 and l2: the edge must count it once.
    Returns the bits/s they stand for."""
    seq = {L1: 0, S1: 0, L2: 0}
    hops = [(L1, 3, 1, 64), (S1, 1, 2, 63), (L2, 1, 3, 62)]
    t_end = time.time() + seconds
    while time.time() < t_end:
        for agent, inp, out, ttl in hops:
            frame, flen = g.udp_frame('10.1.0.1', '10.2.0.2', 1234, 53,
                                      payload=FLEN - 42, ttl=ttl)
            samples = []
            for _ in range(per_s // 10):
                seq[agent] += 1
                samples.append(g.flow_sample(seq[agent], inp, RATE, frame,
                                             flen, inp=inp, out=out))
            fab.send([g.datagram(agent, seq[agent], samples)])
        time.sleep(0.1)
    return per_s * RATE * flen * 8


def main():
    tmp = tempfile.mkdtemp(prefix='fabmon-ws-test-')
    fab = Fabmond(tmp, extra=['-o', 'engine.push_ms=100', '-o',
                              'snmp.enable=0', '-o', f'http.token={TOKEN}',
                              '-o', 'http.ws_origins=https://noc.example'])
    try:
        run(fab)
    finally:
        st = fab.stop()
        ok(st == 0, 'ws/clean exit with clients connected', f'status {st}')
        shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(1 if fablib.failures else 0)


def run(fab):
    st, _ = call(fab, 'PUT', '/topology/json', topology())
    ok(st == 200, 'ws/topology PUT', f'status {st}')

    # -- the handshake
    ok(refused(fab, protocol=None), 'ws/refused without the subprotocol')
    ok(refused(fab, protocol='chat'), 'ws/refused with another subprotocol')
    ok(refused(fab, path='/api/v1/health'), 'ws/refused on another path')
    ok(refused(fab, headers={'Origin': 'http://evil.example'}),
       'ws/refused from a foreign Origin')
    port = fab.http_port
    for origin in (f'http://127.0.0.1:{port}', 'https://noc.example'):
        try:
            w = connect(fab, headers={'Origin': origin})
            ok(w.recv(5)['t'] == 'hello', f'ws/accepted from Origin {origin}')
            w.close()
        except wslib.HandshakeError as e:
            ok(False, f'ws/accepted from Origin {origin}', str(e))

    w = connect(fab)
    hello = w.recv(5)
    ok(hello and hello['v'] == 1 and hello['t'] == 'hello' and
       hello['data']['pushMs'] == 100 and 'links' in hello['data']['topics']
       and hello['data']['ha']['role'] == 'STANDALONE',
       'ws/hello: version, push period, topics, HA role', hello)

    # -- subscribe: the reply, then each topic's current frame at once
    w.send({'op': 'subscribe', 'id': 7,
            'topics': ['links', 'ha', 'blackholes', 'bogus', 'trace/x']})
    msgs = frames(w, 0.3)
    reply = [m for m in msgs if m['t'] == 'reply']
    ok(reply and reply[0]['id'] == 7 and
       reply[0]['data']['topics'] == ['links', 'ha', 'blackholes'] and
       reply[0]['data']['unknown'] == ['bogus', 'trace/x'],
       'ws/subscribe: subscribed and unknown topics', reply)
    got = {m['topic'] for m in msgs if m['t'] == 'event'}
    ok(got == {'links', 'ha', 'blackholes'},
       'ws/subscribe: every topic at once', got)
    ev = [m for m in msgs if m['t'] == 'event' and m['topic'] == 'ha']
    status, body = fab.get('/api/v1/ha')
    ok(ev and ev[0]['data'] == json.loads(body) and ev[0]['seq'] >= 1 and
       abs(ev[0]['ts'] - time.time() * 1000) < 5000,
       'ws/a frame is the GET body with seq and ts', ev[:1])

    # -- one frame per topic per period (100 ms)
    msgs = frames(w, 2.0)
    ha = [m for m in msgs if m.get('topic') == 'ha']
    seqs = [m['seq'] for m in ha]
    ok(14 <= len(ha) <= 24 and seqs == sorted(seqs) and
       len(set(seqs)) == len(seqs),
       'ws/one frame per topic per 100 ms push, seq rising',
       f'{len(ha)} frames in 2 s, seq {seqs[:5]}...')

    # -- unsubscribe
    w.send({'op': 'unsubscribe', 'id': 8, 'topics': ['ha', 'links']})
    r = w.until(lambda m: m['t'] == 'reply' and m['id'] == 8, 3)
    ok(r and r['data']['topics'] == ['blackholes'], 'ws/unsubscribe reply', r)
    msgs = frames(w, 0.5)
    ok(not [m for m in msgs if m.get('topic') in ('ha', 'links')] and
       [m for m in msgs if m.get('topic') == 'blackholes'],
       'ws/no frames after unsubscribe, the others go on')

    # -- fabric: on subscribe and on a new topology version only
    w.send({'op': 'subscribe', 'id': 9, 'topics': ['fabric']})
    msgs = frames(w, 1.0)
    fab_frames = [m for m in msgs if m.get('topic') == 'fabric']
    ok(len(fab_frames) == 1 and
       {n['name'] for n in fab_frames[0]['data']['nodes']} ==
       {'l1', 'l2', 's1'},
       'ws/fabric: once on subscribe, with the nodes', len(fab_frames))
    call(fab, 'PUT', '/topology/json', topology(extra_port=True))
    m = w.until(lambda m: m.get('topic') == 'fabric', 5)
    ok(m is not None and m['data']['version'] >
       fab_frames[0]['data']['version'] if fab_frames and m else False,
       'ws/fabric: a frame for the new topology version')

    # -- top: the edge flow at the rate sent, counted once
    w.send({'op': 'subscribe', 'id': 10, 'topics': ['top']})
    want = send_flows(fab, 4.0)
    # the frames written while the test was sending are still in the
    # socket: the latest is the one to judge
    m = ([None] + [m for m in frames(w, 0.5) if m.get('topic') == 'top' and
                   m['data'] and m['data']['flows']])[-1]
    flows = m['data']['flows'] if m else []
    f = flows[0] if flows else {}
    ok(f.get('key') == '10.1.0.1,10.2.0.2,17,1234,53' and
       f.get('ingress', {}).get('node') == 'l1' and
       f['ingress']['port'] == 'swp3',
       'ws/top: the flow with its ingress edge port', f)
    ok(f and 0.6 * want < f['bps'] < 1.25 * want,
       'ws/top: its rate is what was sent, not doubled by the spine and '
       'l2', f"{f.get('bps')} vs {want}")
    ok(m and m['data']['talkers'][0]['address'] == '10.1.0.1' and
       m['data']['stacks'][0]['stack'] == 'eth.ip.udp',
       'ws/top: talkers and stacks', m and m['data']['talkers'])
    st, body = fab.get('/api/v1/top/link/l1-s1')
    lt = json.loads(body)
    ok(lt['flows'] and lt['flows'][0]['src'] == '10.1.0.1' and
       lt['flows'][0]['to'] == 's1',
       'ws/top per link: the flow entered s1 over l1-s1', lt)
    ok(call(fab, 'GET', '/api/v1/top/link/nope')[0] == 404,
       'ws/top per link: unknown link 404')
    st, keys = call(fab, 'GET', '/flowkeys/json')
    ok(st == 200 and keys['ipsource']['kind'] == 'address' and
       keys['link']['kind'] == 'topology' and keys['ipsource']['inner'],
       '/flowkeys/json lists the keys with their kinds')

    # -- trace over the socket: the token
    w.send({'op': 'trace', 'id': 11, 'filter': 'ipsource=10.1.0.1'})
    r = w.until(lambda m: m.get('id') == 11, 3)
    ok(r and r['t'] == 'error' and 'token' in r['error'],
       'ws/trace without the token: an error', r)
    w.send({'op': 'trace', 'id': 12, 'filter': 'ipsource=10.1.0.1',
            'token': TOKEN})
    r = w.until(lambda m: m.get('id') == 12, 3)
    topic = r['data']['topic'] if r and r['t'] == 'reply' else None
    ok(topic and topic == f"trace/{r['data']['trace']['id']}",
       'ws/trace with the token: a trace and its topic', r)
    send_flows(fab, 1.5)
    m = w.until(lambda m: m.get('topic') == topic and m['data'] and
                m['data']['hops'], 5)
    nodes = [h['node'] for h in m['data']['hops']] if m else []
    ok(nodes[:1] == ['l1'] and 's1' in nodes,
       'ws/trace frames carry the path', nodes)
    w.send({'op': 'trace', 'id': 13, 'filter': 'ipsource=nonsense',
            'token': TOKEN})
    r = w.until(lambda m: m.get('id') == 13, 3)
    ok(r and r['t'] == 'error', 'ws/trace with a bad filter: an error', r)
    w.send({'op': 'untrace', 'id': 14,
            'trace': int(topic.split('/')[1]) if topic else 0})
    r = w.until(lambda m: m.get('id') == 14, 3)
    ok(r and r['t'] == 'reply' and topic not in r['data']['topics'],
       'ws/untrace', r)
    msgs = frames(w, 0.5)
    ok(not [m for m in msgs if m.get('topic') == topic],
       'ws/no trace frames after untrace')
    w2 = connect(fab, headers={'Authorization': f'Bearer {TOKEN}'})
    w2.recv(5)
    w2.send({'op': 'trace', 'id': 1, 'filter': 'ipsource=10.1.0.1'})
    r = w2.until(lambda m: m.get('id') == 1, 3)
    ok(r and r['t'] == 'reply', 'ws/trace with the token in the upgrade', r)
    w2.close()
    w3 = connect(fab, path=f'/ws?token={TOKEN}')
    w3.recv(5)
    w3.send({'op': 'trace', 'id': 1, 'trace': 1})
    r = w3.until(lambda m: m.get('id') == 1, 3)
    ok(r and r['t'] == 'reply' and r['data']['topic'] == 'trace/1',
       'ws/joining an existing trace by id', r)
    w3.send({'op': 'trace', 'id': 2, 'filter': 'ipsource=10.1.0.9'})
    r = w3.until(lambda m: m.get('id') == 2, 3)
    ok(r and r['t'] == 'reply', 'ws/trace with ?token= on the URL', r)
    w3.close()
    w3 = connect(fab, path='/ws?token=wrong')
    w3.recv(5)
    w3.send({'op': 'trace', 'id': 1, 'filter': 'ipsource=10.1.0.9'})
    r = w3.until(lambda m: m.get('id') == 1, 3)
    ok(r and r['t'] == 'error', 'ws/trace with a wrong ?token=: an error', r)
    w3.close()

    # -- ping, bad input
    w.send({'op': 'ping', 'id': 'p'})
    r = w.until(lambda m: m.get('id') == 'p', 3)
    ok(r and r['t'] == 'reply' and abs(r['data']['now'] - time.time() *
                                       1000) < 5000, 'ws/ping', r)
    w.send_raw('not json')
    r = w.until(lambda m: m['t'] == 'error', 3)
    ok(r and 'JSON' in r['error'], 'ws/not JSON: an error reply', r)
    w.send({'op': 'explode', 'id': 5})
    r = w.until(lambda m: m['t'] == 'error', 3)
    ok(r and r['id'] == 5 and 'unknown op' in r['error'],
       'ws/unknown op: an error reply', r)
    w.send_raw('{"op":' + '"x' * 40000 + '"}')
    r = w.until(lambda m: m['t'] == 'error', 3)
    ok(r and 'over' in r['error'], 'ws/oversize message: an error reply', r)
    w.send_raw('{"op":"pi', fin=False)
    w.send_raw('ng","id":"frag"}', opcode=0)
    r = w.until(lambda m: m.get('id') == 'frag', 3)
    ok(r and r['t'] == 'reply', 'ws/a fragmented message is whole', r)
    wb = connect(fab)
    wb.recv(5)
    for _ in range(102):
        wb.send_raw('x')
    closed = False
    try:
        for _ in range(200):
            if wb.recv(2) is None:
                break
    except ConnectionError:
        closed = True
    ok(closed, 'ws/dropped after more than 100 bad messages')
    wb.close()

    slow_client(fab)
    h = fab.json('/api/v1/health')['ws']
    ok(h['clients'] >= 1 and h['framesSent'] > 50 and
       h['badMessages'] >= 104 and h['refused'] >= 3,
       'ws/health counts clients, frames, bad messages, refusals', h)
    # still serving after all that
    w.send({'op': 'ping', 'id': 'end'})
    ok(w.until(lambda m: m.get('id') == 'end', 3) is not None,
       'ws/the first client is still served')


def slow_client(fab):
    """A client that stops reading: frames are replaced, not queued."""
    # Big health frames: 3,000 agents.
    for base in range(0, 3000, 500):
        fab.send([g.datagram(f'10.9.{(base + i) // 250}.{(base + i) % 250}',
                             1, [], uptime=1000) for i in range(500)])
    fab.wait_health(lambda h: len(h['agents']) >= 3000, 10)
    before = fab.json('/api/v1/health')['ws']['superseded']
    w = wslib.WS('127.0.0.1', fab.http_port)
    w.recv(5)
    w.send({'op': 'subscribe', 'id': 1, 'topics': ['health']})
    time.sleep(3.0)  # 30 pushes of ~2 MB, unread: more than the socket holds
    msgs = frames(w, 3.0)
    health = [m for m in msgs if m.get('topic') == 'health']
    seqs = [m['seq'] for m in health]
    after = fab.json('/api/v1/health')['ws']['superseded']
    gaps = sum(1 for a, b in zip(seqs, seqs[1:]) if b - a > 1)
    ok(health and after > before and gaps > 0,
       'ws/a slow client gets the latest frames, not a backlog',
       f'{len(health)} frames, seq {seqs[:6]}, superseded {before}->{after}')
    w.close()


if __name__ == '__main__':
    main()
