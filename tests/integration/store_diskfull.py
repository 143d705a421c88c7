#!/usr/bin/env python3
"""store_diskfull: the store on a disk that fills up (DESIGN §6, STYLE:
"a runtime system error (disk full) -> health turns degraded, then retry
with back-off").

On a 4 MiB tmpfs with a 1 MiB filler file, $BUILD/tests/store_load
writes until the disk is full. Checks: the process keeps running; its
stats say degraded, with the failure; the dropped rows are counted and
keep rising while the disk stays full; once the filler is deleted, writes
resume (degraded false, the committed sequence moves on); the flow
definitions put while the disk was full were kept and written once it
was not (store_load --defs puts one per batch); SIGTERM closes it
cleanly; PRAGMA integrity_check is ok.

Needs root (mount); without it, or if tmpfs cannot be mounted, it says
so in an "ok - ... # SKIP" line. Env: BUILD (build/asan).
"""
import json
import os
import sqlite3
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
NAME = 'store_diskfull'

failures = 0


def ok(cond, name, why=''):
    global failures
    if cond:
        print(f'ok - {name}', flush=True)
    else:
        failures += 1
        print(f'not ok - {name}' + (f': {why}' if why else ''), flush=True)
    return cond


class Load:
    """store_load with its JSON lines collected by a thread."""

    def __init__(self, db, log):
        self.p = subprocess.Popen(
            [LOAD, db, '--rows-per-batch', '500', '--defs'],
            stdout=subprocess.PIPE, stderr=log, text=True)
        self.lines = []
        self.lock = threading.Lock()
        self.t = threading.Thread(target=self._read)
        self.t.start()

    def _read(self):
        for line in self.p.stdout:
            try:
                o = json.loads(line)
            except ValueError:
                continue
            if 'seq' in o:
                with self.lock:
                    self.lines.append(o)

    def last(self):
        with self.lock:
            return self.lines[-1] if self.lines else None

    def wait_for(self, pred, timeout):
        """The first stats line from now on for which pred holds."""
        with self.lock:
            seen = len(self.lines)
        deadline = time.time() + timeout
        while time.time() < deadline and self.p.poll() is None:
            with self.lock:
                new = self.lines[seen:]
                seen = len(self.lines)
            for o in new:
                if pred(o):
                    return o
            time.sleep(0.05)
        return None

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.p.poll() is None:
            self.p.send_signal(sig)
        try:
            rc = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = self.p.wait()
        self.t.join()
        return rc


def main():
    if os.geteuid() != 0:
        print(f'ok - {NAME} # SKIP needs root to mount a small tmpfs')
        return 0
    if not os.access(LOAD, os.X_OK):
        ok(False, f'{NAME}/store_load built', LOAD)
        return 1
    outer = tempfile.mkdtemp(prefix='fabmon-store-diskfull-')
    mnt = os.path.join(outer, 'mnt')
    os.mkdir(mnt)
    r = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=4m', 'tmpfs',
                        mnt], capture_output=True, text=True)
    if r.returncode != 0:
        print(f'ok - {NAME} # SKIP cannot mount tmpfs: '
              f'{r.stderr.strip()}')
        shutil.rmtree(outer, ignore_errors=True)
        return 0
    load = None
    log = open(os.path.join(outer, 'store_load.log'), 'w+')
    try:
        db = os.path.join(mnt, 'fabmon.db')
        filler = os.path.join(mnt, 'filler')
        with open(filler, 'wb') as f:
            f.write(b'\0' * (1 << 20))
        load = Load(db, log)
        t0 = time.time()
        full = load.wait_for(
            lambda o: o['degraded'] and o['dropped_links'] > 0, 120)
        ok(full is not None and load.p.poll() is None,
           f'{NAME}/disk full: degraded, batch dropped and counted, '
           f'still running', load.last())
        if full is None:
            return 1
        print(f"# full after {time.time() - t0:.1f}s: committed "
              f"seq {full['seq']}, db_bytes {full['db_bytes']}, "
              f"last_error {full['last_error']!r}", flush=True)
        ok('full' in full['last_error'].lower() or
           'disk' in full['last_error'].lower(),
           f'{NAME}/last_error names the full disk', full['last_error'])
        # While full: one attempt every ~2 s, each dropped and counted.
        time.sleep(5)
        later = load.last()
        ok(load.p.poll() is None and later['degraded'] and
           later['dropped_links'] > full['dropped_links'] and
           later['seq'] == full['seq'],
           f'{NAME}/still full: still running, still degraded, drops '
           f'rising, nothing committed', (full, later))
        ok(0 <= later['queued'] < 100000 and later['dropped_queue'] == 0,
           f'{NAME}/the queue accounting stays sane (nothing left queued '
           f'after a sync, no queue-full drops)', later)
        attempts = later['dropped_links'] - full['dropped_links']
        print(f'# {attempts} rows dropped in 5 s while full '
              f'(500 a batch: {attempts // 500} attempts)', flush=True)
        ok(attempts // 500 <= 5,
           f'{NAME}/backs off while degraded (at most one attempt per 2 s '
           f'or so)', attempts)
        # Free space: writes resume.
        os.unlink(filler)
        t1 = time.time()
        back = load.wait_for(
            lambda o: not o['degraded'] and o['seq'] > later['seq'], 30)
        ok(back is not None,
           f'{NAME}/space freed: writes resume, degraded clears, the '
           f'committed sequence moves on', load.last())
        if back is not None:
            print(f"# resumed {time.time() - t1:.1f}s after the filler "
                  f"went: seq {later['seq']} -> {back['seq']}", flush=True)
        rc = load.stop()
        ok(rc == 0, f'{NAME}/SIGTERM: clean exit', rc)
        out = subprocess.run([LOAD, db, '--check'], capture_output=True,
                             text=True, timeout=60)
        try:
            c = json.loads(out.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            c = {'integrity': out.stdout + out.stderr}
        ok(c.get('integrity') == 'ok' and c.get('rows', 0) > 0,
           f'{NAME}/integrity_check ok after the disk filled', c)
        if back is not None:
            ok(c.get('maxSeq', -1) >= back['seq'],
               f'{NAME}/rows committed after the recovery are there',
               (c, back['seq']))
            # One definition per batch, def-<enq>: those of the batches
            # that failed while the disk was full were kept and retried.
            con = sqlite3.connect(db)
            names = {r[0] for r in con.execute(
                "SELECT name FROM defs WHERE kind = 'flow'")}
            con.close()
            want = {f"def-{e}" for e in range(499, back['enq'] + 1, 500)}
            missing = sorted(want - names, key=lambda x: int(x[4:]))
            ok(back['dropped_defs'] == 0 and not missing,
               f'{NAME}/definitions put while full were kept and written '
               f'({len(want)} up to the recovery)',
               (back['dropped_defs'], missing[:10]))
    finally:
        if load is not None and load.p.poll() is None:
            load.stop(signal.SIGKILL)
        subprocess.run(['umount', mnt])
        if failures:
            log.seek(0)
            print('# store_load log:\n# ' +
                  log.read()[-2000:].replace('\n', '\n# '))
        log.close()
        shutil.rmtree(outer, ignore_errors=True)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
