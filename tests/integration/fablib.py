"""fablib: helpers shared by the Python integration tests.

Tests print TAP-like lines ("ok - name" / "not ok - name: why") that
tests/run.sh counts. Every process a test starts is stopped by PID.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
BUILD = os.environ.get('BUILD', 'build')
FABMOND = os.path.join(ROOT, BUILD, 'fabmond')
FIXTURES = os.environ.get('FIXTURES',
                          os.path.join(ROOT, '..', 'shared', 'fixtures', 'pcap'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'tools'))

failures = 0


def ok(cond, name, why=''):
    global failures
    if cond:
        print(f'ok - {name}', flush=True)
    else:
        failures += 1
        print(f'not ok - {name}' + (f': {why}' if why else ''), flush=True)
    return cond


def cleanup(tmp, fabs=(), logs=()):
    """Stop the fabmonds in fabs (None skipped). Remove tmp if every
    check passed; else keep it, say so, and print the tail of each
    (name, path) in logs that exists."""
    for f in fabs:
        if f is not None:
            f.stop()
    if failures == 0:
        shutil.rmtree(tmp, ignore_errors=True)
        return
    print(f'# kept {tmp}', flush=True)
    for name, path in logs:
        if os.path.exists(path):
            with open(path) as fh:
                print(f'# {name}: ' + fh.read()[-1500:].replace(
                    '\n', '\n# '), flush=True)


def wait_for(pred, timeout, step=0.1):
    """pred()'s first true value within timeout seconds, else its last."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def terminate(proc, timeout=15):
    """SIGTERM proc, and SIGKILL it if it has not exited within timeout
    seconds; its exit status, or None if it had to be killed. Processes
    started by lab.sh exec are the command itself (lab.sh execs it):
    never pkill by name, PIDs are not per namespace."""
    if proc.poll() is not None:
        return proc.returncode
    proc.terminate()
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Fabmond:
    """A fabmond on loopback with its own ports and state dir."""

    def __init__(self, tmpdir, extra=(), sflow_host='127.0.0.1',
                 http_port=None):
        self.sflow_port = free_port(socket.SOCK_DGRAM)
        self.http_port = http_port or free_port()
        self.sflow_host = sflow_host
        shost = f'[{sflow_host}]' if ':' in sflow_host else sflow_host
        self.log = open(os.path.join(tmpdir, 'fabmond.log'), 'w+')
        self.proc = subprocess.Popen(
            [FABMOND, '-d', '--sflow', f'{shost}:{self.sflow_port}',
             '--http', f'127.0.0.1:{self.http_port}',
             '--state-dir', os.path.join(tmpdir, 'state'),
             '-o', 'engine.push_ms=200', *extra],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                self.get('/version')
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        raise RuntimeError('fabmond did not start: ' + self.logtext())

    def logtext(self):
        self.log.seek(0)
        return self.log.read()

    def url(self, path):
        return f'http://127.0.0.1:{self.http_port}{path}'

    def get(self, path, timeout=5):
        with urllib.request.urlopen(self.url(path), timeout=timeout) as r:
            return r.status, r.read()

    def json(self, path):
        return json.loads(self.get(path)[1])

    def send(self, payloads, to='127.0.0.1'):
        fam = socket.AF_INET6 if ':' in to else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_DGRAM)
        for p in payloads:
            s.sendto(p, (to, self.sflow_port))
        s.close()

    def wait_health(self, pred, timeout=10):
        """Poll /api/v1/health until pred(health) is true; return it."""
        deadline = time.time() + timeout
        h = None
        while time.time() < deadline:
            h = self.json('/api/v1/health')
            if pred(h):
                return h
            time.sleep(0.1)
        return h

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        """SIGTERM; returns the exit status (None if it had to be killed)."""
        return terminate(self.proc, 10)


class Lab:
    """One lab fabric (tests/lab/lab.sh) under its own LAB_PREFIX, and
    fabmond's API inside it (c1's 127.0.0.1:8008, reached with curl)."""

    def __init__(self, prefix):
        self.env = dict(os.environ, LAB_PREFIX=prefix)
        self.sh = os.path.join(ROOT, 'tests', 'lab', 'lab.sh')

    def run(self, *args, check=True, **kw):
        return subprocess.run([self.sh, *args], env=self.env, check=check,
                              text=True, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, **kw)

    def curl(self, path, method='GET', data=None, timeout=10):
        cmd = ['curl', '-s', '--max-time', str(timeout), '-w',
               '\n%{http_code}', '-X', method, f'http://127.0.0.1:8008{path}']
        if data is not None:
            cmd += ['-H', 'Content-Type: application/json',
                    '--data-binary', '@-']
        r = subprocess.run([self.sh, 'exec', 'c1', *cmd], env=self.env,
                           input=data, stdout=subprocess.PIPE, text=True)
        body, _, code = r.stdout.rpartition('\n')
        return int(code or 0), body

    def get(self, path):
        code, body = self.curl(path)
        return json.loads(body) if code == 200 else None

    def fabmond(self, statedir, log, *extra):
        """fabmond in the collector c1, seeded with leaf l1's address,
        its HTTP API on c1's loopback; extra: more arguments."""
        return subprocess.Popen(
            [self.sh, 'exec', 'c1', FABMOND, '-d',
             '--sflow', '10.99.0.101:6343', '--http', '127.0.0.1:8008',
             '--state-dir', statedir, '--snmp-seed', '10.99.0.21',
             '-o', 'snmp.poll_s=5', *extra],
            env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def info(self):
        """lab.sh info as a dict (host.h1.ip, switch.l1.mgmt, ...)."""
        return dict(line.split('=', 1)
                    for line in self.run('info').stdout.splitlines()
                    if '=' in line)

    def wait_links(self, n=8, timeout=30):
        """fabmond's /api/v1/topology once it has n links, else None."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            topo = self.get('/api/v1/topology')
            if topo and len(topo['links']) == n:
                return topo
            time.sleep(0.5)
        return None
