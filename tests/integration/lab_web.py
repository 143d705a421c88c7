#!/usr/bin/env python3
"""lab_web: the web page end to end, in headless Chromium, against fabmond
in the lab (issue 7).

Brings up its own lab (LAB_PREFIX wb<pid>), starts fabmond in the collector
c1 (HTTP on c1's 127.0.0.1:8008), and runs tests/e2e/web.mjs inside c1
(the browser must reach c1's loopback) with --driver: the browser test
prints "@@ ACTION ARGS" when it needs the lab to do something, and this
runner does it and answers "done":
- hping start|ecmp|stop: hping3 from h1 to h5, one 5-tuple (UDP 53,
  source port 40123) for the trace, or UDP 10 from every source port
  (both spines);
- blackhole on|off: deletes l4's host route to h5 and sends to it (valley
  routing, as lab_trace.py), then restores the route;
- daemon kill|start: SIGKILL fabmond, then start it again on the same
  address and state dir (the page must recover without a reload).
The ok / not ok lines are web.mjs's, passed through. web.mjs saves a
screenshot of every view, wall mode included, in build/artifacts/web/lab-*.png.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from fablib import ok  # noqa: E402
import fablib  # noqa: E402

PREFIX = os.environ.get('LAB_PREFIX_TEST', f'wb{os.getpid() % 10000}')
LAB_ = fablib.Lab(PREFIX)
ROOT = fablib.ROOT
E2E = os.path.join(ROOT, 'tests', 'e2e')
TIMEOUT = int(os.environ.get('WEB_TEST_TIMEOUT', '240'))


class Runner:
    def __init__(self, tmp):
        self.tmp = tmp
        self.state = os.path.join(tmp, 'state')
        self.log = open(os.path.join(tmp, 'fabmond.log'), 'a')
        self.daemon = None
        self.hping = None
        self.info = None

    def start_daemon(self):
        self.daemon = LAB_.fabmond(self.state, self.log,
                                   '-o', 'blackhole.quiet_s=3')
        deadline = time.time() + 15
        while time.time() < deadline:
            if LAB_.curl('/version', timeout=2)[0] == 200:
                return True
            if self.daemon.poll() is not None:
                return False
            time.sleep(0.1)
        return False

    def check_daemon(self):
        """A comment when fabmond died without this runner killing it."""
        if self.daemon and self.daemon.poll() is not None and \
                not getattr(self.daemon, 'killed_here', False):
            print(f'# fabmond exited by itself or was signalled from '
                  f'outside (status {self.daemon.returncode})', flush=True)

    def kill_daemon(self):
        if self.daemon and self.daemon.poll() is None:
            self.daemon.killed_here = True
            self.daemon.send_signal(signal.SIGKILL)
            self.daemon.wait(timeout=10)

    def stop_daemon(self):
        if self.daemon and self.daemon.poll() is None:
            self.daemon.terminate()
            try:
                self.daemon.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()

    def start_hping(self, port, fixed=True):
        self.stop_hping()
        # lab.sh exec execs `ip netns exec`, which execs hping3: the PID is
        # hping3's own, so it is stopped by PID. Without -k hping3 moves
        # its source port every packet: ECMP spreads them.
        one = ['-k', '-s', '40123'] if fixed else []
        self.hping = subprocess.Popen(
            [LAB_.sh, 'exec', 'h1', 'hping3', '-n', '-q', '-i', 'u2000',
             '--udp', '-p', str(port), *one, self.info['host.h5.ip']],
            env=LAB_.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop_hping(self):
        if self.hping and self.hping.poll() is None:
            self.hping.terminate()
            try:
                self.hping.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.hping.kill()
                self.hping.wait()
        self.hping = None

    def route(self, op):
        h5 = self.info['host.h5.ip']
        leaf, port = self.info['host.h5.port'].split(':')
        args = ['exec', leaf, 'ip', 'route', op, f'{h5}/32']
        if op == 'add':
            args += ['dev', port, 'src', f'10.2.{leaf[1:]}.1']
        LAB_.run(*args, check=False)

    def act(self, words):
        self.check_daemon()
        what, arg = words[0], (words[1] if len(words) > 1 else '')
        if what == 'hping' and arg == 'start':
            self.start_hping(53)
        elif what == 'hping' and arg == 'ecmp':
            self.start_hping(10, fixed=False)
        elif what == 'hping' and arg == 'stop':
            self.stop_hping()
        elif what == 'blackhole' and arg == 'on':
            self.route('del')
            self.start_hping(11)
        elif what == 'blackhole' and arg == 'off':
            self.stop_hping()
            self.route('add')
        elif what == 'daemon' and arg == 'kill':
            self.kill_daemon()
        elif what == 'daemon' and arg == 'start':
            if not self.start_daemon():
                return 'error fabmond did not start again'
        else:
            return f'error unknown action {" ".join(words)}'
        return 'done'


def main():
    for d, mod in (('tests/e2e', 'playwright-core'), ('web', 'uplot')):
        if not os.path.isdir(os.path.join(ROOT, d, 'node_modules', mod)):
            ok(False, f'web/npm packages in {d}', f'{mod} missing: run make deps')
            return 1
    tmp = tempfile.mkdtemp(prefix='fabmon-web-test-')
    r = Runner(tmp)
    t0 = time.time()
    try:
        up = LAB_.run('up', check=False)
        if not ok(up.returncode == 0, 'web/lab up', up.stdout[-1500:]):
            return 1
        if not ok(r.start_daemon(), 'web/fabmond starts in c1'):
            return 1
        LAB_.run('wait', check=False)
        r.info = LAB_.info()
        topo = LAB_.wait_links()
        ok(topo is not None, 'web/fabmond knows the 8 links')
        run_browser(r)
    finally:
        r.check_daemon()
        r.stop_hping()
        if r.info:
            r.route('add')   # in case a test stopped half-way; harmless
        r.stop_daemon()
        LAB_.run('down', check=False)
        print(f'# lab_web took {time.time() - t0:.0f} s', flush=True)
        r.log.flush()
        if fablib.failures:
            with open(os.path.join(tmp, 'fabmond.log')) as f:
                print('# fabmond log tail:\n# ' +
                      f.read()[-2000:].replace('\n', '\n# '), flush=True)
            print(f'# kept {tmp}', flush=True)
        else:
            r.log.close()
            shutil.rmtree(tmp, ignore_errors=True)
    return 1 if fablib.failures else 0


def run_browser(r):
    cmd = [LAB_.sh, 'exec', 'c1', 'node', os.path.join(E2E, 'web.mjs'),
           'http://127.0.0.1:8008/', '--driver']
    p = subprocess.Popen(cmd, env=LAB_.env, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, bufsize=1, cwd=E2E)
    # A browser test that hangs is killed (by PID) after TIMEOUT seconds.
    timer = threading.Timer(TIMEOUT, p.kill)
    timer.start()
    seen = bad = 0
    try:
        for line in p.stdout:
            line = line.rstrip('\n')
            if line.startswith('@@ '):
                reply = r.act(line[3:].split())
                print(f'# action {line[3:]}: {reply}', flush=True)
                p.stdin.write(reply + '\n')
                p.stdin.flush()
            elif line.startswith('ok ') or line.startswith('not ok '):
                seen += 1
                if line.startswith('not ok'):
                    fablib.failures += 1
                    bad += 1
                print(line, flush=True)
            else:
                print(line if line.startswith('#') else f'# {line}',
                      flush=True)
    finally:
        timer.cancel()
        if p.poll() is None:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    # A failing check already printed its "not ok"; a crash or a kill did
    # not.
    ok(seen > 0 and (p.returncode == 0 or bad > 0),
       'web/web.mjs ran to its end',
       f'exit {p.returncode} after {seen} results (killed after '
       f'{TIMEOUT} s?)')


if __name__ == '__main__':
    sys.exit(main())
