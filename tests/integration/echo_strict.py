#!/usr/bin/python3
"""A strict reference WebSocket echo server (RFC 6455 server role) in plain
Python, with collab-echo's command line and output. Test-only: it exists to
prove that every expectation of test_conformance.py, test_echo_python.py and
test_echo_node.js can be met at once, and to show collab-echo's author the
expected behaviour in ~300 readable lines. One thread per connection.

    /usr/bin/python3 tests/integration/echo_strict.py --listen 127.0.0.1:0 \
        [--tls-cert PEM --tls-key PEM] [--max-message BYTES]

Handshake: GET, HTTP/1.1, Upgrade: websocket, Connection: upgrade token,
Sec-WebSocket-Key decoding (strict base64) to 16 bytes, else 400;
Sec-WebSocket-Version present but not 13 -> 426 + `Sec-WebSocket-Version: 13`;
head over 8 KiB -> 431. Frames: RSV, reserved opcode, unmasked, non-minimal
length, 64-bit length with the high bit, control > 125 or fragmented,
continuation without start, data frame inside a fragmented message, close
payload of 1 byte, bad close code -> 1002; invalid UTF-8 (checked as bytes
arrive, so it fails fast) in text or close reason -> 1007; message over the
limit -> 1009, decided from the frame header.
"""
import argparse
import base64
import binascii
import codecs
import hashlib
import signal
import socket
import ssl
import struct
import sys
import threading

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_HEAD = 8192
CLOSE_WAIT = 1.0


class Fail(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.code = code


def valid_close_code(c):
    # RFC 6455 7.4.1/7.4.2 and the IANA registry: 1004-1006 and 1015 are
    # never sent, 1016-2999 are reserved, 5000+ do not exist.
    return (1000 <= c <= 1003 or 1007 <= c <= 1014 or 3000 <= c <= 4999)


def frame(op, payload):
    n = len(payload)
    if n <= 125:
        head = struct.pack("!BB", 0x80 | op, n)
    elif n <= 0xFFFF:
        head = struct.pack("!BBH", 0x80 | op, 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | op, 127, n)
    return head + payload


def unmask(data, key, offset):
    if not data:
        return b""
    k = key[offset % 4:] + key[:offset % 4]
    n = len(data)
    kk = (k * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(kk, "little")).to_bytes(n, "little")


class Conn:
    def __init__(self, sock, max_message):
        self.s = sock
        self.buf = bytearray()
        self.max = max_message

    def fill(self):
        d = self.s.recv(1 << 16)
        if not d:
            raise EOFError
        self.buf += d

    def need(self, n):
        while len(self.buf) < n:
            self.fill()

    def take(self, n):
        self.need(n)
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def send(self, data):
        self.s.sendall(data)

    # -- handshake
    def http_error(self, status, reason, extra=""):
        body = f"{reason}\n".encode()
        self.send(f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\n{extra}"
                  f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
        return False

    def handshake(self):
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > MAX_HEAD:
                return self.http_error(431, "Request Header Fields Too Large")
            self.fill()
        end = self.buf.index(b"\r\n\r\n") + 4
        if end > MAX_HEAD:
            return self.http_error(431, "Request Header Fields Too Large")
        head = bytes(self.buf[:end - 4]).decode("iso-8859-1")
        del self.buf[:end]
        lines = head.split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or parts[0] != "GET" or parts[2] != "HTTP/1.1":
            return self.http_error(400, "Bad Request")
        hdrs = {}
        for ln in lines[1:]:
            k, sep, v = ln.partition(":")
            if not sep or not k or k != k.strip():
                return self.http_error(400, "Bad Request")
            k = k.lower()
            hdrs[k] = (hdrs[k] + "," if k in hdrs else "") + v.strip()
        tokens = lambda v: [t.strip().lower() for t in v.split(",")]  # noqa: E731
        if "websocket" not in tokens(hdrs.get("upgrade", "")) or \
                "upgrade" not in tokens(hdrs.get("connection", "")):
            return self.http_error(400, "Bad Request")
        if "sec-websocket-version" in hdrs and hdrs["sec-websocket-version"] != "13":
            return self.http_error(426, "Upgrade Required", "Sec-WebSocket-Version: 13\r\n")
        key = hdrs.get("sec-websocket-key", "")
        try:
            raw = base64.b64decode(key, validate=True)
        except binascii.Error:
            raw = b""
        if len(raw) != 16 or "sec-websocket-version" not in hdrs:
            return self.http_error(400, "Bad Request")
        accept = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
        self.send(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                   f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n").encode())
        return True

    # -- frames
    def serve(self):
        msg_op, parts, size, utf8 = None, [], 0, None
        while True:
            b0, b1 = self.take(2)
            fin, rsv, op = b0 & 0x80, (b0 >> 4) & 7, b0 & 0xF
            if rsv or op in (3, 4, 5, 6, 7) or op > 10:
                raise Fail(1002)
            if not b1 & 0x80:
                raise Fail(1002)  # 5.1: client frames are masked
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self.take(2))[0]
                if n < 126:
                    raise Fail(1002)  # 5.2: minimal length encoding
            elif n == 127:
                n = struct.unpack("!Q", self.take(8))[0]
                if n >> 63 or n < 65536:
                    raise Fail(1002)
            if op >= 8 and (n > 125 or not fin):
                raise Fail(1002)  # 5.5
            if op in (1, 2):
                if msg_op is not None:
                    raise Fail(1002)  # 5.4: new message inside a fragmented one
            elif op == 0 and msg_op is None:
                raise Fail(1002)  # continuation without start
            if op < 8 and n > self.max - size:
                raise Fail(1009)  # decided before the payload comes
            key = self.take(4)
            if op < 8:
                if op != 0:
                    msg_op, parts, size = op, [], 0
                    utf8 = codecs.getincrementaldecoder("utf-8")() if op == 1 else None
                got = 0
                while got < n:
                    if not self.buf:
                        self.fill()
                    chunk = bytes(self.buf[:n - got])
                    del self.buf[:len(chunk)]
                    data = unmask(chunk, key, got)
                    got += len(chunk)
                    if utf8 is not None:
                        try:
                            utf8.decode(data)  # fails as soon as bytes are invalid
                        except UnicodeDecodeError:
                            raise Fail(1007)
                    parts.append(data)
                size += n
                if fin:
                    if utf8 is not None:
                        try:
                            utf8.decode(b"", final=True)
                        except UnicodeDecodeError:
                            raise Fail(1007)
                    self.send(frame(msg_op, b"".join(parts)))
                    msg_op, parts, size, utf8 = None, [], 0, None
                continue
            payload = unmask(self.take(n), key, 0)
            if op == 9:
                self.send(frame(10, payload))
            elif op == 8:
                if len(payload) == 1:
                    raise Fail(1002)
                if payload:
                    code = struct.unpack("!H", payload[:2])[0]
                    if not valid_close_code(code):
                        raise Fail(1002)
                    try:
                        payload[2:].decode("utf-8")
                    except UnicodeDecodeError:
                        raise Fail(1007)
                self.send(frame(8, payload[:2]))
                return  # the client started the close: done
            # pong: ignored

    def finish_failed(self, code):
        """Send our close; read (and ignore) frames until the client's close
        arrives, for at most CLOSE_WAIT s; then the caller closes TCP."""
        try:
            self.send(frame(8, struct.pack("!H", code)))
            self.s.settimeout(CLOSE_WAIT)
            self.buf.clear()  # resynchronising after a bad frame is guesswork:
            while True:       # look for a masked close frame at a read boundary
                self.fill()
                if len(self.buf) >= 2 and self.buf[0] == 0x88 and self.buf[1] & 0x80:
                    return
                self.buf.clear()
        except (OSError, EOFError):
            pass


def handle(sock, ctx, max_message):
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(10)
        if ctx:
            sock = ctx.wrap_socket(sock, server_side=True)
        sock.settimeout(None)
        c = Conn(sock, max_message)
        if not c.handshake():
            c.s.settimeout(CLOSE_WAIT)
            try:
                c.s.shutdown(socket.SHUT_WR)  # our FIN first, then drain
                while c.s.recv(65536):
                    pass
            except OSError:
                pass
            return
        try:
            c.serve()
        except Fail as f:
            c.finish_failed(f.code)
            return
        # drain what the client sent after its close (ignored), then close
        c.s.settimeout(0.05)
        try:
            while c.s.recv(65536):
                pass
        except OSError:
            pass
    except (OSError, EOFError, ssl.SSLError):
        pass
    finally:
        try:
            sock.close()
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--max-message", type=int, default=16 << 20)
    a = ap.parse_args()
    host, _, port = a.listen.rpartition(":")
    ctx = None
    if a.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, int(port)))
    ls.listen(1024)
    print(f"listening {'wss' if ctx else 'ws'}://127.0.0.1:{ls.getsockname()[1]}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    ls.settimeout(0.1)
    while not stop.is_set():
        try:
            s, _ = ls.accept()
        except socket.timeout:
            continue
        except InterruptedError:
            continue
        threading.Thread(target=handle, args=(s, ctx, a.max_message), daemon=True).start()
    ls.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
