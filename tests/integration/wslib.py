"""wslib: a small websocket client (RFC 6455) for the /ws tests.

Python's standard library has none, and the tests must not need pip. It
speaks just what fabmond's /ws needs: the upgrade with a subprotocol,
masked text frames out, text/continuation/ping/close frames in.
"""
import base64
import json
import os
import socket
import struct
import time


class HandshakeError(Exception):
    def __init__(self, status, head):
        super().__init__(f'upgrade refused: {status}')
        self.status = status
        self.head = head


class WS:
    def __init__(self, host, port, path='/ws', protocol='fabmon.v1',
                 headers=None, timeout=10):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f'GET {path} HTTP/1.1', f'Host: {host}:{port}',
                 'Upgrade: websocket', 'Connection: Upgrade',
                 f'Sec-WebSocket-Key: {key}', 'Sec-WebSocket-Version: 13']
        if protocol:
            lines.append(f'Sec-WebSocket-Protocol: {protocol}')
        for k, v in (headers or {}).items():
            lines.append(f'{k}: {v}')
        self.sock.sendall(('\r\n'.join(lines) + '\r\n\r\n').encode())
        head = b''
        while b'\r\n\r\n' not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            head += chunk
        head, _, self.buf = head.partition(b'\r\n\r\n')
        status = head.split(b'\r\n', 1)[0].decode(errors='replace')
        if ' 101 ' not in status + ' ':
            self.sock.close()
            raise HandshakeError(status, head.decode(errors='replace'))
        self.closed = False

    def send_raw(self, payload, opcode=1, fin=True):
        if isinstance(payload, str):
            payload = payload.encode()
        n = len(payload)
        b0 = (0x80 if fin else 0) | opcode
        if n < 126:
            hdr = struct.pack('!BB', b0, 0x80 | n)
        elif n < 65536:
            hdr = struct.pack('!BBH', b0, 0x80 | 126, n)
        else:
            hdr = struct.pack('!BBQ', b0, 0x80 | 127, n)
        mask = os.urandom(4)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(hdr + mask + body)

    def send(self, obj):
        self.send_raw(json.dumps(obj))

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError('closed')
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv_text(self, timeout=10):
        """The next whole text message, or None at the timeout."""
        self.sock.settimeout(timeout)
        parts = []
        try:
            while True:
                b0, b1 = self._read(2)
                op, n = b0 & 0x0f, b1 & 0x7f
                if n == 126:
                    n = struct.unpack('!H', self._read(2))[0]
                elif n == 127:
                    n = struct.unpack('!Q', self._read(8))[0]
                if b1 & 0x80:
                    mask = self._read(4)
                    data = bytes(b ^ mask[i % 4]
                                 for i, b in enumerate(self._read(n)))
                else:
                    data = self._read(n)
                if op == 8:
                    self.closed = True
                    raise ConnectionError('close frame')
                if op == 9:
                    self.send_raw(data, opcode=10)
                    continue
                if op in (1, 0):
                    parts.append(data)
                    if b0 & 0x80:
                        return b''.join(parts).decode()
        except socket.timeout:
            return None

    def recv(self, timeout=10):
        t = self.recv_text(timeout)
        return None if t is None else json.loads(t)

    def until(self, pred, timeout=10):
        """Messages until pred(msg) is true: that message, or None."""
        end = time.time() + timeout
        while time.time() < end:
            m = self.recv(max(0.05, end - time.time()))
            if m is not None and pred(m):
                return m
        return None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# ---- the shapes of frames (daemon/API.md's contract) ----------------------

# Objects whose keys are data (names, classes), not fields.
MAP_PATHS = {'data.ingest.errors', 'data.agents[].errors',
             'data.forwarding', 'data.store.dropped',
             'data.events[].detail', 'data.netflow.errors',
             'data.netflow.exporters[].errors'}


def _kind(v):
    if v is None:
        return 'null'
    if isinstance(v, bool):
        return 'bool'
    if isinstance(v, (int, float)):
        return 'number'
    return type(v).__name__


def shape_diff(want, got, path='', out=None):
    """How got's shape departs from want's: fields missing or added, or
    of another type (null matches anything: "not known yet"). Lists are
    compared element by element against want's first element."""
    out = [] if out is None else out
    if want is None or got is None:
        return out
    if _kind(want) != _kind(got):
        out.append(f'{path}: {_kind(got)} instead of {_kind(want)}')
        return out
    if isinstance(want, dict):
        if path in MAP_PATHS:
            return out
        for k in want:
            if k not in got:
                out.append(f'{path}.{k}: missing')
            else:
                shape_diff(want[k], got[k], f'{path}.{k}'.lstrip('.'), out)
        for k in got:
            if k not in want:
                out.append(f'{path}.{k}: not in the golden frame')
    elif isinstance(want, list) and want:
        for item in got[:20]:
            shape_diff(want[0], item, f'{path}[]', out)
    return out
