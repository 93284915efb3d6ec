"""Shared helpers for the integration tests (run with Debian's /usr/bin/python3).

- Programs: start(args) -> (proc, url) reads the FIRST stdout line
  (`listening ws://127.0.0.1:PORT` or `listening wss://...`); stop(proc)
  sends SIGTERM by PID and asserts exit status 0 within 5 s (kill -9 after
  that, and fail).
- echo_cmd(): the collab-echo command line. `$ASAN_BIN/collab-echo` by default
  (sanitized build); the env var ECHO_CMD replaces the program (it is split
  like a shell would and gets the same `--listen`/`--tls-*` flags appended),
  e.g. ECHO_CMD="node tests/bench/echo_node.js" or
  ECHO_CMD="/usr/bin/python3 tests/bench/echo_python.py".
- make_certs(): a throwaway CA and a server certificate for localhost and
  127.0.0.1, made with the `openssl` command in a temporary folder.
- RawWS: a deliberately minimal RFC 6455 client over a plain socket that can
  send anything (bad frames, unmasked frames, odd length encodings, split
  writes) and reads the server's frames strictly (server frames must be
  unmasked, RSV 0, known opcodes, minimal length encoding).
- Runner: a tiny case runner that prints `N passed, N failed`.
"""
import asyncio
import base64
import hashlib
import inspect
import os
import queue
import re
import shlex
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA
KNOWN_OPS = (OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG)


def _abs_bin(var, default):
    p = os.environ.get(var, default)
    return p if os.path.isabs(p) else os.path.join(TOP, p)


ASAN_BIN = _abs_bin("ASAN_BIN", "build/asan/bin")
BIN = _abs_bin("BIN", "build/bin")


# --------------------------------------------------------------------------
# Programs

def echo_cmd(listen="127.0.0.1:0", certs=None, sanitized=True):
    """The echo server's argv: ECHO_CMD if set, else collab-echo from
    $ASAN_BIN (sanitized=True) or $BIN; plus --listen and, with certs
    (a make_certs() dict), --tls-cert/--tls-key."""
    env = os.environ.get("ECHO_CMD")
    if env:
        cmd = shlex.split(env)
    else:
        prog = os.path.join(ASAN_BIN if sanitized else BIN, "collab-echo")
        if not os.access(prog, os.X_OK):
            raise SystemExit(f"collab-echo not built: {prog} missing "
                             "(set ECHO_CMD to test a stand-in server)")
        cmd = [prog]
    cmd += ["--listen", listen]
    if certs:
        cmd += ["--tls-cert", certs["cert"], "--tls-key", certs["key"]]
    return cmd


def echo_name():
    return os.environ.get("ECHO_CMD") or "collab-echo"


_LISTEN_RE = re.compile(r"^listening (wss?)://(\S+):(\d+)/?\s*$")


def start(args, timeout=20.0, env=None):
    """Start a program and read its first stdout line, which must be
    `listening ws[s]://HOST:PORT`. Returns (proc, url). The rest of stdout is
    copied to our stderr (so a full pipe never blocks the program); the
    program's stderr goes straight to ours (sanitizer reports land in the
    test log)."""
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, cwd=TOP, env=env)
    lines = queue.Queue()

    def pump():
        first = True
        for raw in iter(proc.stdout.readline, b""):
            if first:
                lines.put(raw)
                first = False
            else:
                sys.stderr.write(f"[{os.path.basename(args[0])} stdout] "
                                 f"{raw.decode('utf-8', 'replace')}")
        if first:
            lines.put(None)
        proc.stdout.close()

    threading.Thread(target=pump, daemon=True).start()
    try:
        first = lines.get(timeout=timeout)
    except queue.Empty:
        _kill(proc)
        raise AssertionError(f"{args[0]}: no first stdout line within {timeout} s")
    if first is None:
        rc = proc.wait(5)
        raise AssertionError(f"{args!r}: exited with status {rc} before printing "
                             "its listening line")
    text = first.decode("utf-8", "replace").rstrip("\r\n")
    m = _LISTEN_RE.match(text)
    if not m:
        _kill(proc)
        raise AssertionError(f"{args[0]}: first stdout line is {text!r}, expected "
                             "'listening ws://127.0.0.1:PORT'")
    port = int(m.group(3))
    if not 0 < port < 65536:
        _kill(proc)
        raise AssertionError(f"{args[0]}: bad port in {text!r}")
    return proc, f"{m.group(1)}://{m.group(2)}:{port}"


def _kill(proc):
    try:
        os.kill(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        pass


def stop(proc, timeout=5.0, sig=signal.SIGTERM):
    """SIGTERM by PID; the program must exit with status 0 within timeout s,
    else it is killed with SIGKILL and AssertionError is raised."""
    if proc.poll() is not None:
        raise AssertionError(f"server had already exited with status {proc.returncode}")
    os.kill(proc.pid, sig)
    try:
        rc = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)
        raise AssertionError(f"server did not exit within {timeout} s of "
                             f"{signal.Signals(sig).name}; killed")
    if rc != 0:
        raise AssertionError(f"server exited with status {rc} after "
                             f"{signal.Signals(sig).name}, expected 0")


def check(cond, msg="check failed"):
    if not cond:
        raise AssertionError(msg)


def alive(proc):
    return proc.poll() is None


def parse_url(url):
    """ws[s]://host:port[/path] -> (scheme, host, port, path)."""
    m = re.match(r"^(wss?)://([^/:]+|\[[^\]]+\]):(\d+)(/.*)?$", url)
    if not m:
        raise ValueError(f"bad url {url!r}")
    return m.group(1), m.group(2).strip("[]"), int(m.group(3)), m.group(4) or "/"


# --------------------------------------------------------------------------
# TLS material

def make_certs(directory=None, key_type=None):
    """Throwaway CA + server certificate (SAN DNS:localhost, IP:127.0.0.1).
    key_type "ec" (P-256, default, or env TEST_CERT_KEY) or "rsa" (2048).
    Returns {"dir","ca","cert","key"} (PEM paths). The private keys are
    written in the "traditional" format (BEGIN EC PRIVATE KEY / BEGIN RSA
    PRIVATE KEY); a PKCS#8 copy is at key_pkcs8."""
    key_type = key_type or os.environ.get("TEST_CERT_KEY", "ec")
    d = directory or tempfile.mkdtemp(prefix="collab-certs-")
    p = lambda n: os.path.join(d, n)  # noqa: E731
    if key_type == "rsa":
        newkey = ["-newkey", "rsa:2048"]
    else:
        newkey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]

    def run(*a):
        r = subprocess.run(["openssl", *a], cwd=d, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        if r.returncode != 0:
            raise RuntimeError("openssl " + " ".join(a) + ":\n" + r.stdout.decode())

    run("req", "-x509", *newkey, "-nodes", "-keyout", p("ca.key"), "-out", p("ca.pem"),
        "-days", "2", "-subj", "/CN=libcollab test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", *newkey, "-nodes", "-keyout", p("server.p8.key"), "-out", p("server.csr"),
        "-subj", "/CN=localhost")
    with open(p("server.ext"), "w") as f:
        f.write("basicConstraints=CA:FALSE\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("x509", "-req", "-in", p("server.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
        "-CAcreateserial", "-out", p("server.pem"), "-days", "2", "-sha256",
        "-extfile", p("server.ext"))
    if key_type == "rsa":
        run("rsa", "-in", p("server.p8.key"), "-out", p("server.key"), "-traditional")
    else:
        run("ec", "-in", p("server.p8.key"), "-out", p("server.key"))
    return {"dir": d, "ca": p("ca.pem"), "cert": p("server.pem"),
            "key": p("server.key"), "key_pkcs8": p("server.p8.key")}


def client_ssl_context(certs):
    ctx = ssl.create_default_context(cafile=certs["ca"])
    return ctx


# --------------------------------------------------------------------------
# Raw WebSocket client

class ServerClosedTCP(AssertionError):
    """The server closed (or reset) the TCP connection."""


class Frame:
    __slots__ = ("fin", "rsv", "opcode", "payload")

    def __init__(self, fin, rsv, opcode, payload):
        self.fin, self.rsv, self.opcode, self.payload = fin, rsv, opcode, payload

    def close_code(self):
        if len(self.payload) >= 2:
            return struct.unpack("!H", self.payload[:2])[0]
        return None

    def __repr__(self):
        p = self.payload if len(self.payload) <= 40 else self.payload[:40] + b"..."
        return f"Frame(op={self.opcode:#x}, fin={int(self.fin)}, rsv={self.rsv}, len={len(self.payload)}, {p!r})"


def mask_bytes(payload, key):
    """XOR payload with the 4-byte key (RFC 6455 5.3), fast for big payloads."""
    if not payload:
        return b""
    n = len(payload)
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(k, "little")).to_bytes(n, "little")


def build_frame(opcode, payload=b"", fin=True, rsv=0, mask=True, key=None, length_bytes=None,
                length=None):
    """Encode one frame. rsv: 3-bit value (4=RSV1, 2=RSV2, 1=RSV3).
    length_bytes: force the length encoding (0: 7-bit, 2: 16-bit, 8: 64-bit),
    default minimal. length: the declared length (default len(payload))."""
    payload = bytes(payload)
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | ((rsv & 7) << 4) | (opcode & 0xF)
    mbit = 0x80 if mask else 0
    if length_bytes is None:
        length_bytes = 0 if n <= 125 else 2 if n <= 0xFFFF else 8
    if length_bytes == 0:
        head = struct.pack("!BB", b0, mbit | n)
    elif length_bytes == 2:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if mask:
        key = key if key is not None else os.urandom(4)
        return head + key + mask_bytes(payload, key)
    return head + payload


def close_payload(code=None, reason=b""):
    if code is None:
        return b""
    if isinstance(reason, str):
        reason = reason.encode()
    return struct.pack("!H", code) + reason


class RawWS:
    """Minimal client: connect() opens TCP (and TLS with ssl_ctx), handshake()
    upgrades. Every read has a deadline; reads check the server's framing."""

    def __init__(self, url, ssl_ctx=None, timeout=5.0):
        self.url = url
        self.scheme, self.host, self.port, _ = parse_url(url)
        self.ssl_ctx = ssl_ctx
        self.timeout = timeout
        self.buf = bytearray()
        self.sock = None
        self.eof = False
        self.stash = []  # data frames read by recv_control(), for recv_frame()

    # -- transport
    def connect(self):
        s = socket.create_connection((self.host, self.port), timeout=self.timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.scheme == "wss":
            ctx = self.ssl_ctx or ssl.create_default_context()
            s = ctx.wrap_socket(s, server_hostname=self.host)
        self.sock = s
        return self

    def send_raw(self, data, chunk=None, delay=0.0):
        """Send bytes, optionally in chunks of `chunk` bytes with `delay` s
        between them (to split the server's reads)."""
        if chunk is None:
            self.sock.sendall(data)
            return
        for i in range(0, len(data), chunk):
            self.sock.sendall(data[i:i + chunk])
            if delay:
                time.sleep(delay)

    def send_frame(self, opcode, payload=b"", **kw):
        self.send_raw(build_frame(opcode, payload, **kw))

    def send_text(self, text, **kw):
        self.send_frame(OP_TEXT, text.encode() if isinstance(text, str) else text, **kw)

    def send_close(self, code=None, reason=b"", **kw):
        self.send_frame(OP_CLOSE, close_payload(code, reason), **kw)

    def try_send(self, data):
        """Send, ignoring a connection the server already closed."""
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            return False

    def _fill(self, deadline):
        if self.eof:
            raise ServerClosedTCP("server closed the TCP connection")
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out")
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(1 << 20)
        except (ConnectionResetError, BrokenPipeError) as e:
            self.eof = True
            raise ServerClosedTCP(f"connection reset ({e})")
        except ssl.SSLError as e:
            self.eof = True
            raise ServerClosedTCP(f"TLS error ({e})")
        if not data:
            self.eof = True
            raise ServerClosedTCP("server closed the TCP connection")
        self.buf += data

    def _need(self, n, deadline):
        while len(self.buf) < n:
            self._fill(deadline)

    def close_socket(self):
        if self.sock:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None

    # -- HTTP
    def handshake(self, path="/", headers=None, key=None, check=True, request=None):
        """Send an upgrade request (or the raw `request` bytes) and read the
        response head. With check, assert 101 and a correct
        Sec-WebSocket-Accept. Returns (status, headers{lower: value})."""
        key = key or base64.b64encode(os.urandom(16)).decode()
        if request is None:
            h = [("Host", f"{self.host}:{self.port}"), ("Upgrade", "websocket"),
                 ("Connection", "Upgrade"), ("Sec-WebSocket-Key", key),
                 ("Sec-WebSocket-Version", "13")]
            if headers:
                names = {k.lower() for k, _ in headers}
                h = [x for x in h if x[0].lower() not in names] + [x for x in headers if x[1] is not None]
            request = (f"GET {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h) + "\r\n").encode()
        self.send_raw(request)
        status, hdrs = self.read_http_head()
        if check:
            if status != 101:
                raise AssertionError(f"handshake: status {status}, expected 101")
            want = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
            got = hdrs.get("sec-websocket-accept")
            if got != want:
                raise AssertionError(f"handshake: Sec-WebSocket-Accept {got!r}, expected {want!r}")
            if "websocket" not in hdrs.get("upgrade", "").lower():
                raise AssertionError(f"handshake: Upgrade header {hdrs.get('upgrade')!r}")
            if "upgrade" not in [t.strip().lower() for t in hdrs.get("connection", "").split(",")]:
                raise AssertionError(f"handshake: Connection header {hdrs.get('connection')!r}")
        return status, hdrs

    def read_http_head(self, timeout=None):
        deadline = time.monotonic() + (timeout or self.timeout)
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > 65536:
                raise AssertionError("response head over 64 KiB")
            self._fill(deadline)
        end = self.buf.index(b"\r\n\r\n")
        head = bytes(self.buf[:end]).decode("iso-8859-1")
        del self.buf[:end + 4]
        lines = head.split("\r\n")
        m = re.match(r"^HTTP/1\.[01] (\d{3})( .*)?$", lines[0])
        if not m:
            raise AssertionError(f"bad status line {lines[0]!r}")
        hdrs = {}
        for ln in lines[1:]:
            k, sep, v = ln.partition(":")
            if not sep:
                raise AssertionError(f"bad response header line {ln!r}")
            k = k.strip().lower()
            hdrs[k] = (hdrs[k] + ", " if k in hdrs else "") + v.strip()
        return int(m.group(1)), hdrs

    # -- frames
    def recv_frame(self, timeout=None):
        """One frame from the server, checked against RFC 6455 5.1/5.2/5.5."""
        if self.stash:
            return self.stash.pop(0)
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        self._need(2, deadline)
        b0, b1 = self.buf[0], self.buf[1]
        fin, rsv, op = bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0xF
        if b1 & 0x80:
            raise AssertionError("server frame is masked (RFC 6455 5.1)")
        n, hl = b1 & 0x7F, 2
        if n == 126:
            self._need(4, deadline)
            n, hl = struct.unpack_from("!H", self.buf, 2)[0], 4
            if n < 126:
                raise AssertionError(f"server used 16-bit length for {n} bytes (5.2 minimal)")
        elif n == 127:
            self._need(10, deadline)
            n, hl = struct.unpack_from("!Q", self.buf, 2)[0], 10
            if n < 65536 or n >> 63:
                raise AssertionError(f"server used 64-bit length for {n} bytes (5.2)")
        if rsv:
            raise AssertionError(f"server frame has RSV bits {rsv} (no extension negotiated)")
        if op not in KNOWN_OPS:
            raise AssertionError(f"server frame has reserved opcode {op:#x}")
        if op >= 8 and (n > 125 or not fin):
            raise AssertionError(f"server control frame op={op:#x} len={n} fin={fin} (5.5)")
        self._need(hl + n, deadline)
        payload = bytes(self.buf[hl:hl + n])
        del self.buf[:hl + n]
        return Frame(fin, rsv, op, payload)

    def recv_control(self, timeout=None):
        """The next control frame; data frames met on the way are kept for
        recv_frame()/recv_message() (an echo may stream fragments)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        keep, self.stash = self.stash, []
        try:
            while True:
                f = self.recv_frame(max(0.0, deadline - time.monotonic()))
                if f.opcode >= 8:
                    return f
                keep.append(f)
        finally:
            self.stash = keep + self.stash

    def recv_message(self, timeout=None, controls=None):
        """Next data message as (opcode, payload), reassembling fragments.
        Pings/pongs seen on the way are appended to `controls` (a list) if
        given, else are an error. A close frame raises AssertionError."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        op, parts = None, []
        while True:
            f = self.recv_frame(max(0.0, deadline - time.monotonic()))
            if f.opcode in (OP_PING, OP_PONG):
                if controls is None:
                    raise AssertionError(f"unexpected control frame {f!r}")
                controls.append(f)
                continue
            if f.opcode == OP_CLOSE:
                raise AssertionError(f"server closed with code {f.close_code()} "
                                     f"reason {f.payload[2:]!r} while a message was expected")
            if op is None:
                if f.opcode == OP_CONT:
                    raise AssertionError("server sent a continuation without a start")
                op = f.opcode
            elif f.opcode != OP_CONT:
                raise AssertionError("server started a new message inside a fragmented one")
            parts.append(f.payload)
            if f.fin:
                data = b"".join(parts)
                if op == OP_TEXT:
                    try:
                        data.decode("utf-8")
                    except UnicodeDecodeError:
                        raise AssertionError("server sent invalid UTF-8 in a text message")
                return op, data

    def expect_message(self, opcode, payload, timeout=None):
        op, data = self.recv_message(timeout)
        if op != opcode or data != payload:
            show = lambda b: b if len(b) <= 40 else b[:40] + b"...(%d bytes)" % len(b)  # noqa
            raise AssertionError(f"expected op={opcode} {show(payload)!r}, got op={op} {show(data)!r}")

    def expect_close(self, codes, timeout=None, reply=True, eof_timeout=5.0, allow=()):
        """Read until the server's close frame; its code must be in `codes`
        (an int, or a collection where None means "no status code"). Frames
        before it must have an opcode in `allow`, or be fragments of a
        message that never completes (an echo may stream fragments). Then (after replying with a
        close when reply) the server must close TCP within eof_timeout s
        and send nothing more. Returns (code, reason)."""
        if isinstance(codes, int) or codes is None:
            codes = (codes,)
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        partial = False
        while True:
            try:
                f = self.recv_frame(max(0.0, deadline - time.monotonic()))
            except socket.timeout:
                raise AssertionError(f"no close frame within the timeout (expected {codes})")
            except ServerClosedTCP as e:
                raise AssertionError(f"TCP closed without a close frame ({e}), expected close {codes}")
            if f.opcode == OP_CLOSE:
                break
            if f.opcode in allow:
                continue
            if not f.fin and (f.opcode in (OP_TEXT, OP_BINARY) and not partial or
                              f.opcode == OP_CONT and partial):
                partial = True
                continue
            raise AssertionError(f"got {f!r} while expecting close {codes}")
        if len(f.payload) == 1:
            raise AssertionError("server close frame has a 1-byte payload")
        code, reason = f.close_code(), f.payload[2:]
        try:
            reason.decode("utf-8")
        except UnicodeDecodeError:
            raise AssertionError(f"server close reason is not UTF-8: {reason!r}")
        if code not in codes:
            raise AssertionError(f"close code {code} (reason {reason!r}), expected {codes}")
        if reply:
            self.try_send(build_frame(OP_CLOSE, f.payload[:2]))
        self.expect_eof(eof_timeout)
        return code, reason

    def expect_eof(self, timeout=5.0):
        """The server must close TCP within timeout s, sending nothing more."""
        deadline = time.monotonic() + timeout
        if self.buf:
            raise AssertionError(f"data after the close frame: {bytes(self.buf[:40])!r}")
        while True:
            try:
                self._fill(deadline)
            except ServerClosedTCP:
                return
            except socket.timeout:
                raise AssertionError(f"server did not close TCP within {timeout} s")
            raise AssertionError(f"data after the close frame: {bytes(self.buf[:40])!r}")

    def expect_silence(self, seconds):
        """No frame may arrive for `seconds`."""
        try:
            f = self.recv_frame(seconds)
        except socket.timeout:
            return
        raise AssertionError(f"expected nothing, got {f!r}")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close_socket()


def raw_connect(url, ssl_ctx=None, path="/", timeout=5.0):
    """Connected, upgraded RawWS."""
    ws = RawWS(url, ssl_ctx, timeout).connect()
    ws.handshake(path)
    return ws


# --------------------------------------------------------------------------
# Case runner

class Runner:
    """runner.case(name, fn, *args) runs fn (sync or coroutine function),
    printing ok/FAIL; summary() prints `N passed, N failed` and returns the
    exit status."""

    def __init__(self, title, budget=None, against=None):
        self.title = title
        self.passed = 0
        self.failed = []
        self.verbose = os.environ.get("VERBOSE") == "1"
        self.only = os.environ.get("CASE")
        # run.sh kills a test after 600 s: past the budget, remaining cases
        # fail at once so the summary still gets printed
        self.deadline = time.monotonic() + (budget or float(os.environ.get("TEST_BUDGET", "480")))
        self.server = None  # a Popen: once it has exited, remaining cases fail at once
        print(f"# {title} against: {against or echo_name()}", flush=True)

    def case(self, name, fn, *args, **kw):
        if self.only and self.only not in name:
            return
        if time.monotonic() > self.deadline:
            self.failed.append(name)
            print(f"FAIL {name}: not run, time budget spent", flush=True)
            return
        if self.server is not None and self.server.poll() is not None:
            self.failed.append(name)
            print(f"FAIL {name}: not run, server exited with status {self.server.returncode}", flush=True)
            return
        t0 = time.monotonic()
        try:
            if inspect.iscoroutinefunction(fn):
                asyncio.run(asyncio.wait_for(fn(*args, **kw), 60))
            else:
                fn(*args, **kw)
        except Exception as e:  # noqa: BLE001 - a test failure of any kind
            self.failed.append(name)
            msg = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
            print(f"FAIL {name}: {msg}", flush=True)
            if self.verbose:
                traceback.print_exc()
            return
        self.passed += 1
        if self.verbose or time.monotonic() - t0 > 2:
            print(f"ok   {name} ({time.monotonic() - t0:.1f}s)", flush=True)

    def summary(self):
        if self.failed:
            print(f"# failed: {', '.join(self.failed)}")
        print(f"{self.title}: {self.passed} passed, {len(self.failed)} failed", flush=True)
        return 0 if not self.failed else 1
