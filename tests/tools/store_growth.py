#!/usr/bin/env python3
"""store_growth: database growth per day, by simulation (issue 5).

Creates a database with fabmond's own schema (fabmond run once on it),
then writes one simulated hour of what the history thread writes for a
fabric: per link and direction a link_minute row every minute, and per
minute the top 10 flows fabric-wide and for the 100 busiest links
(top_minute), plus the
hourly rollup rows. It measures the file's growth and prints it per day
and for the default retention (7 days of minutes and top flows, 90 of
hours).

    store_growth.py FABMOND SPINES LEAVES [UPLINKS_PER_LEAF]
"""
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

TOP_LINKS = 100


def main():
    fabmond, spines, leaves = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    uplinks = int(sys.argv[4]) if len(sys.argv) > 4 else spines
    tmp = tempfile.mkdtemp(prefix='fabmon-growth-')
    db = os.path.join(tmp, 'fabmon.db')
    try:
        p = subprocess.Popen([fabmond, '-d', '--sflow', '127.0.0.1:0',
                              '--http', '127.0.0.1:0', '--db', db,
                              '--state-dir', tmp, '-o', 'snmp.enable=0'],
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        for _ in range(50):
            if os.path.exists(db):
                break
            time.sleep(0.1)
        time.sleep(1)
        p.terminate()
        p.wait()
        c = sqlite3.connect(db)
        c.execute('PRAGMA journal_mode=WAL')
        links = []
        for l in range(leaves):
            for u in range(uplinks):
                s = u % spines
                links.append((f'leaf{l:04d}:swp{u + 1}-spine{s:03d}:swp{l + 1}',
                              f'leaf{l:04d}', f'swp{u + 1}', f'spine{s:03d}',
                              f'swp{l + 1}'))
        cols = [r[1] for r in c.execute('PRAGMA table_info(links)')]
        ids = {}
        for i, (name, n1, p1, n2, p2) in enumerate(links):
            row = {'id': i + 1, 'name': name, 'node1': n1, 'port1': p1,
                   'node2': n2, 'port2': p2, 'in_topology': 1,
                   'status': 'up', 'source': 'lldp',
                   'first_seen': 0, 'updated': 0}
            use = [k for k in cols if k in row]
            c.execute(f'INSERT INTO links ({",".join(use)}) VALUES '
                      f'({",".join("?" * len(use))})', [row[k] for k in use])
            ids[name] = i + 1
        c.commit()
        base = os.path.getsize(db)
        rnd = random.Random(1)
        t0 = int(time.time()) // 3600 * 3600 - 7200
        flows = [f'10.{rnd.randrange(256)}.{rnd.randrange(256)}.'
                 f'{rnd.randrange(256)},10.{rnd.randrange(256)}.'
                 f'{rnd.randrange(256)}.{rnd.randrange(256)},'
                 f'{rnd.choice((6, 17))}' for _ in range(5000)]
        keys = 'ipsource,ipdestination,ipprotocol'
        for m in range(60):
            minute = t0 + 60 * m
            c.executemany(
                'INSERT INTO link_minute VALUES (?,?,?,?,?,?,?,?,?,?)',
                [(i, minute, d, rnd.uniform(1e8, 7e10), rnd.uniform(1e5, 6e7),
                  float(rnd.randrange(3)), 0.0, rnd.uniform(0, 90), 1e11,
                  'snmp') for i in ids.values() for d in (0, 1)])
            # history.h: HISTORY_TOP_LINKS busiest links a minute
            scopes = ['edge'] + [l[0] for l in links][:TOP_LINKS]
            c.executemany(
                'INSERT INTO top_minute VALUES (?,?,?,?,?,?,?)',
                [(s, minute, r + 1, keys, rnd.choice(flows),
                  rnd.uniform(1e6, 1e10), 0.0)
                 for s in scopes for r in range(10)])
            c.commit()
        c.executemany(
            'INSERT INTO link_hour VALUES (?,?,?,?,?,?,?,?,?,?,?)',
            [(i, t0, d, 1e12, 1e9, 0.0, 0.0, 50.0, 1e11, 'snmp', 60)
             for i in ids.values() for d in (0, 1)])
        c.commit()
        c.execute('PRAGMA wal_checkpoint(TRUNCATE)')
        hour = os.path.getsize(db) - base
        lm = c.execute('SELECT count(*) FROM link_minute').fetchone()[0]
        tm = c.execute('SELECT count(*) FROM top_minute').fetchone()[0]
        c.close()
        day = hour * 24
        print(f'# {spines} spines, {leaves} leaves, {len(links)} links: '
              f'{lm} link-minute and {tm} top-flow rows an hour, '
              f'{hour / 1e6:.1f} MB an hour')
        print(f'# {day / 1e6:.0f} MB a day; with the default retention '
              f'(7 days of minutes and top flows) about '
              f'{day * 7 / 1e9:.2f} GB')
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
