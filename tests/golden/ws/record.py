#!/usr/bin/env python3
"""record.py URL-HOST PORT OUTDIR: record golden /ws frames from a live
fabmond (in the lab: run inside c1 while hping3 h1 -> h5 runs).

Writes hello.json, reply.json, error.json and one TOPIC.json per topic
(trace.json, linktop.json for the dynamic ones), each the first frame
whose data is complete (not null, lists not empty where the lab makes
them so). tests/integration/lab_ws.py checks that the live frames keep
these shapes; fabtop's and the web page's tests read them as input.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..',
                                'integration'))
import wslib  # noqa: E402

STATIC = ['fabric', 'links', 'top', 'blackholes', 'events', 'health', 'ha']


def complete(topic, d):
    if d is None:
        return False
    if topic == 'top':
        return bool(d['flows'] and d['talkers'] and d['ports']['utilization'])
    if topic == 'links':
        return any(x['bps'] for l in d['links'] for x in l['directions'])
    if topic.startswith('trace/'):
        return d['stages'] >= 3 and d['ingress'] and d['egress']
    if topic.startswith('linktop/'):
        return bool(d['flows'])
    if topic == 'events':
        return bool(d['events'])
    if topic == 'blackholes':
        return bool(d['events'])
    return True


def main():
    host, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    filt = sys.argv[4] if len(sys.argv) > 4 else \
        'ipsource=10.2.1.11&ipdestination=10.2.4.15'
    link = sys.argv[5] if len(sys.argv) > 5 else None
    w = wslib.WS(host, port)
    got = {'hello': w.recv(5)}
    w.send({'op': 'subscribe', 'id': 1, 'topics': STATIC +
            ([f'linktop/{link}'] if link else [])})
    w.send({'op': 'trace', 'id': 2, 'filter': filt})
    w.send({'op': 'nonsense', 'id': 3})
    end = time.time() + 60
    want = set(STATIC) | {'trace'} | ({'linktop'} if link else set())
    while time.time() < end and not want <= set(got):
        m = w.recv(1)
        if m is None:
            continue
        if m['t'] == 'reply' and m['id'] == 2:
            got['reply'] = m
        elif m['t'] == 'error':
            got['error'] = m
        elif m['t'] == 'event':
            name = m['topic'].split('/')[0]
            if name not in got and complete(m['topic'], m['data']):
                got[name] = m
    for name, m in got.items():
        with open(os.path.join(out, f'{name}.json'), 'w') as f:
            json.dump(m, f, indent=1, sort_keys=False)
            f.write('\n')
    missing = want - set(got)
    print('recorded:', ' '.join(sorted(got)), '; missing:',
          ' '.join(sorted(missing)) or 'none')
    return 1 if missing else 0


if __name__ == '__main__':
    sys.exit(main())
