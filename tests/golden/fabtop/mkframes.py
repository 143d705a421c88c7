#!/usr/bin/env python3
"""mkframes.py: the synthetic frame files of fabtop's golden screens and
the seeds of its fuzz target, made from the recorded lab.frames (see
README.md). Deterministic: run it again and nothing changes.

- discard.frames: lab.frames' trace, but its traffic dies at s1 (an ACL
  discard), as an OVS switch reports it (output "discard").
- hostile.frames: lab.frames' hello and topics, then frames with missing
  and extra fields, wrong types, huge strings, control characters and
  wide characters in names, and things that are not frames at all.
- tests/fuzz/corpus/fabtop_frame/: one seed per frame of all three, and
  of the daemon's golden frames (tests/golden/ws/) when they exist.
"""
import copy
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
CORPUS = os.path.join(ROOT, 'tests', 'fuzz', 'corpus', 'fabtop_frame')


def dump(o):
    return json.dumps(o, separators=(',', ':'), ensure_ascii=False)


def load(name):
    return [json.loads(l) for l in open(os.path.join(HERE, name))
            if l.strip()]


def write(name, frames):
    with open(os.path.join(HERE, name), 'w') as f:
        for fr in frames:
            f.write((fr if isinstance(fr, str) else dump(fr)) + '\n')


def discard(lab):
    out = [f for f in lab if f.get('t') == 'hello' or
           f.get('topic') in ('fabric', 'ha')]
    reply = next(f for f in lab if f.get('t') == 'reply' and
                 'trace' in (f.get('data') or {}))
    tr = copy.deepcopy(next(f for f in lab if
                            f.get('topic', '').startswith('trace/')))
    d = tr['data']
    hops = [h for h in d['hops'] if h['stage'] < 3]
    for h in hops:
        if h['node'] == 's1':
            h.update(outPort=None, outIfIndex='discard', outLink=None,
                     to=None, discard={'reason': 'acl'})
    d['hops'] = hops
    d['stages'] = 2
    d['egress'] = None
    d['diesAt'] = {'node': 's1', 'stage': 2, 'reason': 'acl'}
    return out + [reply, tr]


def hostile(lab):
    base = [f for f in lab if f.get('t') == 'hello' or
            f.get('topic') in ('fabric', 'links', 'top', 'ha')]
    reply = next(f for f in lab if f.get('t') == 'reply' and
                 'trace' in (f.get('data') or {}))
    topic = reply['data']['topic']
    ev = {'v': 1, 't': 'event', 'seq': 1, 'ts': lab[-1]['ts']}
    fab = copy.deepcopy(next(f for f in lab if f.get('topic') == 'fabric'))
    nodes = fab['data']['nodes']
    nodes[0]['name'] = 'l1\x1b[31m\x07evil\r\n'       # escapes, a bell
    nodes[1]['name'] = 'X' * 5000                    # huge
    nodes[2]['name'] = '\u4ea4\u6362\u673a-\u202ertl'  # wide, bidi
    nodes[3]['name'] = 12345                         # a number
    nodes[3]['ports'] = 'many'                       # wrong type
    nodes[4]['role'] = {'spine': True}
    nodes[4]['reachable'] = 'yes'
    nodes[5]['ports'][1]['speedMbps'] = 'fast'
    nodes[5]['ports'][1]['oper'] = None
    nodes.append({'name': 'e\u0301tra', 'role': 'leaf', 'extra': [1, 2]})
    nodes.append(None)
    nodes.append({'role': 'spine'})                  # no name
    fab['data']['links'][0]['status'] = 'down'
    fab['data']['links'][1]['name'] = 7
    links = copy.deepcopy(next(f for f in lab if f.get('topic') == 'links'))
    ls = links['data']['links']
    ls[0]['directions'][0]['utilization'] = 1e300
    ls[0]['directions'][0]['bps'] = -5
    ls[0]['directions'][1]['discards'] = 12.5
    ls[2]['directions'] = [{'dir': 7}, 'x', {'dir': 0, 'bps': 'lots'}]
    ls[3]['directions'] = None
    top = copy.deepcopy(next(f for f in lab if f.get('topic') == 'top'))
    fl = top['data']['flows']
    fl[0]['src'] = '1.2.3.4' * 100
    fl[0]['proto'] = 99999999999
    fl[0]['elephant'] = True
    fl[1]['srcPort'] = 'http'
    fl[1]['ingress'] = 'l1:swp3'
    fl.insert(2, 42)
    top['data']['collisions'] = [{'link': 'l1:swp1-s1:swp1', 'from': 'l1',
                                  'to': {'node': 's1'}, 'utilization': 91,
                                  'bps': 9.1e9, 'elephants': ['a', 'b']}]
    trace = {'id': 9, 'stages': 'two', 'fps': None, 'ingress': 'h1',
             'diesAt': {'node': None, 'stage': 'x'},
             'hops': [{'stage': 1, 'node': 'l1', 'share': 7,
                       'fps': -1, 'inPort': ['swp3'], 'ttl': 1e20},
                      {'stage': None, 'node': '\t', 'discard': {}},
                      'hop', {}]}
    holes = {'events': [{'id': 1, 'type': 'discard', 'node': 'l1',
                         'prefix': '10.0.0.0/24', 'reason': 'acl\x01x',
                         'start': 'yesterday', 'end': None,
                         'evidence': [{'src': 5}] * 20}] * 3,
             'stats': []}
    lines = [dump(f) for f in base]
    lines += [
        '',
        'not json {',
        '[1,2,3]',
        'null',
        '{"v":2,"t":"event","topic":"fabric","data":{"nodes":[]}}',
        '{"v":1,"t":"event","topic":"fabric"}',
        '{"v":1,"t":"event","topic":"links","data":"down"}',
        '{"v":1,"t":"event","topic":"top","data":[]}',
        '{"v":1,"t":"event","data":{}}',
        '{"v":1,"t":"surprise","topic":"fabric","data":{}}',
        '{"v":1,"t":"event","topic":"health","data":{"status":"degraded"}}',
        '{"v":1,"t":"event","topic":"ha","data":{"role":"FAULT\\u001b[2J"}}',
        '{"v":1,"t":"error","id":null,"error":"' + 'e' * 3000 + '"}',
        '[' * 5000 + ']' * 5000,
        '{"v":1,"t":"event","topic":"fabric","data":{"nodes":[{"name":'
        '"nul\\u0000name"}]}}',
    ]
    lines += [dump(fab), dump(links), dump(top)]
    lines.append(dump(dict(ev, topic='blackholes', data=holes)))
    lines.append(dump(dict(ev, topic='events', data=[{'id': 'x'}, 5])))
    lines.append(dump(reply))
    lines.append(dump(dict(ev, topic=topic, data=trace)))
    return lines


def main():
    lab = load('lab.frames')
    write('discard.frames', discard(lab))
    write('hostile.frames', hostile(lab))
    os.makedirs(CORPUS, exist_ok=True)
    n = 0
    for name in ('lab.frames', 'valley.frames', 'discard.frames',
                 'hostile.frames'):
        for i, line in enumerate(open(os.path.join(HERE, name))):
            line = line.rstrip('\n')
            if not line:
                continue
            seed = os.path.join(CORPUS, f'{name.split(".")[0]}-{i:02d}')
            with open(seed, 'w') as f:
                f.write(line)
            n += 1
    # The daemon's own golden frames (pretty-printed: made compact).
    ws = os.path.join(ROOT, 'tests', 'golden', 'ws')
    if os.path.isdir(ws):
        for name in sorted(os.listdir(ws)):
            if name.endswith('.json'):
                with open(os.path.join(ws, name)) as f:
                    fr = json.load(f)
                with open(os.path.join(CORPUS, 'ws-' + name[:-5]), 'w') as f:
                    f.write(dump(fr))
                n += 1
    # A whole session as one input: the target splits it at newlines.
    with open(os.path.join(CORPUS, 'session-discard'), 'w') as f:
        f.write(open(os.path.join(HERE, 'discard.frames')).read())
    print(f'mkframes: discard.frames, hostile.frames, {n + 1} seeds')


if __name__ == '__main__':
    main()
