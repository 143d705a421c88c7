#!/usr/bin/env python3
"""store_crash: kill -9 the store in the middle of its writes, again and
again, and check what DESIGN §6 promises: the database opens intact and
at most the last batch is lost.

Each run starts $BUILD/tests/store_load on the same database (it goes on
from the highest sequence number already there), lets it write for a
random 0.3-1.5 s, and kills it with SIGKILL. store_load prints {"enq": E}
once a batch is queued and {"seq": S, ...} once store_sync says it is
committed. Then, with `store_load DB --check`:
  - PRAGMA integrity_check is "ok";
  - every sequence number reported committed is in the file, and there
    is no hole below the highest one (so the rows are exactly 0..max);
  - what was queued but is not in the file is at most one batch.
Env: BUILD (build/asan). Prints "ok - ..." / "not ok - ..." lines.
"""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
BUILD = os.environ.get('BUILD', 'build/asan')
LOAD = os.path.join(ROOT, BUILD, 'tests', 'store_load')
RUNS = int(os.environ.get('STORE_CRASH_RUNS', '10'))
BATCH = 1000

failures = 0


def ok(cond, name, why=''):
    global failures
    if cond:
        print(f'ok - {name}', flush=True)
    else:
        failures += 1
        print(f'not ok - {name}' + (f': {why}' if why else ''), flush=True)
    return cond


def check(db):
    out = subprocess.run([LOAD, db, '--check'], capture_output=True,
                         text=True, timeout=120)
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {'integrity': 'no answer: ' + out.stdout + out.stderr}


def run_once(db, logf, seconds):
    """Start store_load, kill -9 it after `seconds`; its JSON lines."""
    p = subprocess.Popen([LOAD, db, '--rows-per-batch', str(BATCH)],
                         stdout=subprocess.PIPE, stderr=logf, text=True)
    lines = []

    def read():
        for line in p.stdout:
            try:
                lines.append(json.loads(line))
            except ValueError:
                pass  # a line cut by the kill
    t = threading.Thread(target=read)
    t.start()
    time.sleep(seconds)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    t.join()
    return p.returncode, lines


def main():
    if not os.access(LOAD, os.X_OK):
        ok(False, 'store_crash/store_load built', LOAD)
        return 1
    tmp = tempfile.mkdtemp(prefix='fabmon-store-crash-')
    db = os.path.join(tmp, 'fabmon.db')
    rng = random.Random(os.environ.get('STORE_CRASH_SEED'))
    total_ms, total_rows, lost_rows = 0, 0, 0
    try:
        with open(os.path.join(tmp, 'store_load.log'), 'w') as logf:
            for i in range(1, RUNS + 1):
                secs = rng.uniform(0.3, 1.5)
                rc, lines = run_once(db, logf, secs)
                start = next((x['start'] for x in lines if 'start' in x),
                             None)
                committed = max([x['seq'] for x in lines if 'seq' in x]
                                or [start - 1 if start is not None
                                    else -1])
                enq = max([x['enq'] for x in lines if 'enq' in x]
                          or [committed])
                c = check(db)
                mx, holes = c.get('maxSeq', -2), c.get('holes', -1)
                lost = max(0, enq - mx)
                stats = [x for x in lines if 'seq' in x]
                if stats and start is not None:
                    total_ms += stats[-1]['ms']
                    total_rows += committed - start + 1
                lost_rows += lost
                why = (f"killed after {secs:.2f}s rc={rc} start={start} "
                       f"committed={committed} enqueued={enq} in-db={mx} "
                       f"holes={holes} integrity={c.get('integrity')}")
                print(f'# run {i}: {why}; lost {lost} rows '
                      f'(batch {BATCH})', flush=True)
                ok(rc == -signal.SIGKILL and start is not None and
                   c.get('integrity') == 'ok' and mx >= committed and
                   holes == 0 and lost <= BATCH and mx <= enq + BATCH,
                   f'store_crash/run {i}: intact, committed rows present, '
                   f'at most one batch lost', why)
        c = check(db)
        ok(c.get('integrity') == 'ok' and c.get('rows') == c['maxSeq'] + 1
           and c['rows'] > 0,
           'store_crash/after all runs: rows are exactly 0..max', c)
        size = sum(os.path.getsize(os.path.join(tmp, f))
                   for f in os.listdir(tmp) if f.startswith('fabmon.db'))
        if total_ms:
            print(f'# {total_rows} rows committed in {total_ms / 1000:.1f}s'
                  f' of load: {total_rows * 1000 / total_ms:.0f} rows/s '
                  f'({BUILD}); {lost_rows} rows queued but lost over '
                  f'{RUNS} kills; {size} bytes for {c.get("rows")} rows '
                  f'({size / max(1, c.get("rows", 1)):.1f} B/row)',
                  flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
