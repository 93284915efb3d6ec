"""Helpers for the collab-server integration tests (test_server_*.py), on top
of helpers.py (RawWS, make_certs, Runner). Run with Debian's /usr/bin/python3
(python3-websockets 10.4).

- Server(tenants, args): writes tenants.json and a data dir in a temp folder,
  starts `$ASAN_BIN/collab-server --listen 127.0.0.1:0 --admin 127.0.0.1:0
  --tenants F --data D ARGS` (SERVER_CMD replaces the program, split like a
  shell would, e.g. a stand-in), reads its first two stdout lines
  (`listening ws[s]://H:P`, `admin http://H:P`), keeps its stderr lines (the
  log) in .log while copying them to our stderr, and stop() sends SIGTERM by
  PID and asserts exit status 0 within 5 s.
- tenant(...): one tenants.json entry; jwt(...)/token(...): HS256 tokens
  signed here with hmac + hashlib.
- Client: a `websockets` client that speaks PROTOCOL.md: hello, welcome,
  snapshot/replay, synced; it flattens `batch` messages (checking they never
  nest and never hold a user-count), keeps user-counts apart, applies events
  to a local model of the room and fails on any seq gap.
- RawClient: the same over helpers.RawWS, counting every data frame and its
  bytes (header included), for the usage figures.
- Operation builders new_chat(), add_comment(), ... with fresh UUIDs, and
  check_event(): the exact event shape and field order of PROTOCOL.md 5.
"""
import asyncio
import base64
import hashlib
import hmac
import http.client
import json
import os
import queue
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid as uuidlib

import websockets

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
import helpers as h  # noqa: E402

KIB = 1024
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
EVENT_TYPES = ("new-text-chat", "updated-text-chat", "deleted-text-chat")
ERROR_CODES = ("invalid", "forbidden", "not-found", "conflict", "too-large",
               "rate-limited", "unavailable")
# Limits raised so that tests which are not about rate limits never meet them.
FAST = {"opsPerSecond": 1000000, "opsBurst": 1000000}


def check(cond, msg="check failed"):
    if not cond:
        raise AssertionError(msg)


def eq(got, want, what="value"):
    if got != want:
        raise AssertionError(f"{what}: got {short(got)}, expected {short(want)}")


def short(v, n=300):
    s = repr(v)
    return s if len(s) <= n else s[:n] + f"...({len(s)} chars)"


def uid():
    return str(uuidlib.uuid4())


def now_ms():
    return int(time.time() * 1000)


async def wait_until(pred, timeout=5.0, what="condition", interval=0.05):
    """Poll pred() (sync or async) until true, else AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if asyncio.iscoroutine(v):
            v = await v
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(interval)


def wait_until_sync(pred, timeout=5.0, what="condition", interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


# --------------------------------------------------------------------------
# JSON with duplicate-key detection and key order kept (dicts keep order)

def _pairs(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise AssertionError(f"server JSON has a duplicate member {k!r}")
        d[k] = v
    return d


def loads(text):
    return json.loads(text, object_pairs_hook=_pairs)


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


# --------------------------------------------------------------------------
# Tokens (PROTOCOL.md 7)

def b64u(b):
    if isinstance(b, str):
        b = b.encode()
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt(secret, claims, header=None, alg=hashlib.sha256, raw_header=None,
        raw_claims=None, signature=None):
    """Sign a JWT. header defaults to {"alg":"HS256","typ":"JWT"}; raw_header
    / raw_claims give the exact JSON text; signature replaces the MAC (a
    str, already base64url)."""
    htxt = raw_header if raw_header is not None else dumps(
        header if header is not None else {"alg": "HS256", "typ": "JWT"})
    ptxt = raw_claims if raw_claims is not None else dumps(claims)
    signing = f"{b64u(htxt)}.{b64u(ptxt)}"
    if signature is None:
        key = secret.encode() if isinstance(secret, str) else secret
        signature = b64u(hmac.new(key, signing.encode(), alg).digest())
    return f"{signing}.{signature}"


def claims_for(tenant_id, sub, name=None, moderator=None, exp=None, url_ids=None, **extra):
    c = {"sub": sub}
    if name is not None:
        c["name"] = name
    c["tenantId"] = tenant_id
    c["exp"] = int(time.time()) + 3600 if exp is None else exp
    if moderator is not None:
        c["moderator"] = moderator
    if url_ids is not None:
        c["urlIds"] = url_ids
    c.update(extra)
    return c


def secret_for(tenant_id):
    """A deterministic per-tenant secret of 48 bytes."""
    return ("s3cret-" + tenant_id + "-" + "x" * 48)[:48]


def tenant(tid, anonymous="read", origins=("http://allowed.example",), secret=None, **limits):
    t = {"id": tid, "secret": secret or secret_for(tid), "origins": list(origins)}
    if anonymous is not None:
        t["anonymous"] = anonymous
    t.update(limits)
    return t


# --------------------------------------------------------------------------
# The server process

def server_prog():
    env = os.environ.get("SERVER_CMD")
    if env:
        return shlex.split(env)
    prog = os.path.join(h.ASAN_BIN, "collab-server")
    if not os.access(prog, os.X_OK):
        raise SystemExit(f"collab-server not built: {prog} missing (set ASAN_BIN, "
                         "or SERVER_CMD to test another build)")
    return [prog]


def server_name():
    return os.environ.get("SERVER_CMD") or os.path.join(h.ASAN_BIN, "collab-server")


_LISTEN = re.compile(r"^listening (wss?)://([^\s/]+):(\d+)/?\s*$")
_ADMIN = re.compile(r"^admin http://([^\s/]+):(\d+)/?\s*$")


class Server:
    """A collab-server on 127.0.0.1 port 0 with its own temp folder."""

    def __init__(self, tenants, args=(), certs=None, www=None, data=None, timeout=30.0,
                 tenants_text=None):
        self.tenants = {t["id"]: t for t in tenants}
        self.dir = tempfile.mkdtemp(prefix="collab-srv-it-")
        self.tenants_file = os.path.join(self.dir, "tenants.json")
        with open(self.tenants_file, "w") as f:
            f.write(tenants_text if tenants_text is not None else json.dumps({"tenants": tenants}, indent=1))
        self.data = data or os.path.join(self.dir, "data")
        os.makedirs(self.data, exist_ok=True)
        self.certs = certs
        cmd = server_prog() + ["--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0",
                               "--tenants", self.tenants_file, "--data", self.data]
        if certs:
            cmd += ["--tls-cert", certs["cert"], "--tls-key", certs["key"]]
        if www:
            cmd += ["--www", www]
        cmd += list(args)
        self.cmd = cmd
        self.log = []       # stderr lines
        self.out = []       # stdout lines after the first two
        self._log_lock = threading.Lock()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, cwd=h.TOP)
        first = queue.Queue()
        threading.Thread(target=self._pump_out, args=(first,), daemon=True).start()
        threading.Thread(target=self._pump_err, daemon=True).start()
        lines = []
        deadline = time.monotonic() + timeout
        while len(lines) < 2:
            try:
                ln = first.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                self.kill()
                raise AssertionError(f"collab-server: no listening/admin lines within {timeout} s")
            if ln is None:
                rc = self.proc.wait(5)
                raise AssertionError(f"collab-server exited with status {rc} before printing "
                                     f"its listening lines ({' '.join(cmd)})")
            lines.append(ln)
        m = _LISTEN.match(lines[0])
        a = _ADMIN.match(lines[1])
        if not m or not a:
            self.kill()
            raise AssertionError(f"collab-server first stdout lines {lines!r}, expected "
                                 "'listening ws://127.0.0.1:PORT' then 'admin http://127.0.0.1:PORT'")
        self.scheme, self.host, self.port = m.group(1), m.group(2), int(m.group(3))
        self.admin_host, self.admin_port = a.group(1), int(a.group(2))
        self.base = f"{self.scheme}://{self.host}:{self.port}"
        self.admin = f"http://{self.admin_host}:{self.admin_port}"

    def _pump_out(self, first):
        n = 0
        for raw in iter(self.proc.stdout.readline, b""):
            text = raw.decode("utf-8", "replace").rstrip("\r\n")
            if n < 2:
                first.put(text)
            else:
                self.out.append(text)
                sys.stderr.write(f"[collab-server stdout] {text}\n")
            n += 1
        if n < 2:
            first.put(None)

    def _pump_err(self):
        for raw in iter(self.proc.stderr.readline, b""):
            text = raw.decode("utf-8", "replace").rstrip("\r\n")
            with self._log_lock:
                self.log.append(text)
            sys.stderr.write(f"[collab-server] {text}\n")
            sys.stderr.flush()

    def log_text(self):
        with self._log_lock:
            return "\n".join(self.log + self.out)

    # -- addresses
    def path(self, tenant_id, url_id, **extra):
        q = [("tenantId", tenant_id), ("urlId", url_id)] + list(extra.items())
        return "/ws?" + urllib.parse.urlencode(q)

    def url(self, tenant_id, url_id):
        return self.base + self.path(tenant_id, url_id)

    def secret(self, tenant_id):
        return self.tenants[tenant_id]["secret"]

    def token(self, tenant_id, sub, name=None, moderator=None, exp=None, url_ids=None, **extra):
        return jwt(self.secret(tenant_id), claims_for(tenant_id, sub, name, moderator, exp,
                                                      url_ids, **extra))

    def ssl_ctx(self):
        return h.client_ssl_context(self.certs) if self.certs else None

    # -- admin listener
    def admin_get(self, path, method="GET", timeout=10):
        c = http.client.HTTPConnection(self.admin_host, self.admin_port, timeout=timeout)
        try:
            c.request(method, path)
            r = c.getresponse()
            body = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, body
        finally:
            c.close()

    def usage(self):
        st, hd, body = self.admin_get("/usage")
        eq(st, 200, "GET /usage status")
        return loads(body.decode())

    def usage_of(self, tenant_id):
        for row in self.usage():
            if row.get("tenantId") == tenant_id:
                return row
        raise AssertionError(f"/usage has no row for tenant {tenant_id!r}")

    def metrics(self):
        st, hd, body = self.admin_get("/metrics")
        eq(st, 200, "GET /metrics status")
        return parse_prometheus(body.decode())

    # -- process
    def alive(self):
        return self.proc.poll() is None

    def stop(self, timeout=5.0, sig=signal.SIGTERM):
        """Signal by PID; exit status 0 within timeout s, else kill + fail."""
        try:
            h.stop(self.proc, timeout, sig)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def kill(self):
        if self.proc.poll() is None:
            h._kill(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


def parse_prometheus(text):
    """{(name, frozenset(labels.items())): value} of every sample line; each
    line must be `name{l="v",...} number` or `name number` or a comment."""
    out = {}
    for ln in text.split("\n"):
        if not ln or ln.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? ([-+0-9.eE]+|NaN|[+-]Inf)$', ln)
        if not m:
            raise AssertionError(f"/metrics: line not in the Prometheus text format: {ln!r}")
        labels = {}
        if m.group(3):
            for part in re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3)):
                labels[part[0]] = part[1]
        key = (m.group(1), frozenset(labels.items()))
        if key in out:
            raise AssertionError(f"/metrics: sample repeated: {ln!r}")
        out[key] = float(m.group(4))
    return out


def metric(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


# --------------------------------------------------------------------------
# Raw HTTP on the main listener (upgrade rejections, static files)

def http_exchange(host, port, request, timeout=5.0, ssl_ctx=None, head_only=False):
    """Send raw request bytes; return (status, headers, body, closed). The
    body is read per Content-Length (or until EOF); closed tells whether the
    server closed TCP within `timeout` s after the response."""
    ws = h.RawWS(f"ws://{host}:{port}", ssl_ctx, timeout)
    if ssl_ctx:
        ws.scheme = "wss"
    ws.connect()
    try:
        ws.try_send(request)
        try:
            status, hdrs = ws.read_http_head()
        except h.ServerClosedTCP:
            raise AssertionError(f"server closed the connection without a response "
                                 f"to {request[:80]!r}")
        body = b""
        closed = False
        deadline = time.monotonic() + timeout
        if not head_only and status != 101 and "chunked" in hdrs.get("transfer-encoding", "").lower():
            body = _read_chunked(ws, deadline)
        elif not head_only and status != 101:
            n = hdrs.get("content-length")
            want = int(n) if n is not None and n.isdigit() else None
            while want is None or len(ws.buf) < want:
                try:
                    ws._fill(deadline)
                except h.ServerClosedTCP:
                    closed = True
                    break
                except socket.timeout:
                    break
            body = bytes(ws.buf if want is None else ws.buf[:want])
            del ws.buf[:len(body)]
        return status, hdrs, body, closed, ws
    except BaseException:
        ws.close_socket()
        raise


def _read_chunked(ws, deadline):
    out = b""
    while True:
        while b"\r\n" not in ws.buf:
            ws._fill(deadline)
        i = ws.buf.index(b"\r\n")
        n = int(bytes(ws.buf[:i]).split(b";")[0], 16)
        del ws.buf[:i + 2]
        while len(ws.buf) < n + 2:
            ws._fill(deadline)
        out += bytes(ws.buf[:n])
        del ws.buf[:n + 2]
        if n == 0:
            return out


def expect_closed(ws, timeout=5.0):
    """The server closes TCP within timeout s (after any bytes)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            ws._fill(deadline)
        except h.ServerClosedTCP:
            return
        except socket.timeout:
            raise AssertionError(f"server did not close the connection within {timeout} s")
        ws.buf.clear()


def upgrade_request(path, host="127.0.0.1", headers=None, method="GET", key=None, version="13"):
    """Bytes of an upgrade request. headers: list of (name, value), value None
    drops a default header."""
    key = key or base64.b64encode(os.urandom(16)).decode()
    hd = [("Host", host), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
          ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", version)]
    if headers:
        names = {k.lower() for k, _ in headers}
        hd = [x for x in hd if x[0].lower() not in names] + [x for x in headers if x[1] is not None]
    return (f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hd)
            + "\r\n").encode("utf-8", "surrogateescape")


def accept_for(key):
    return base64.b64encode(hashlib.sha1(key.encode() + h.GUID).digest()).decode()


# --------------------------------------------------------------------------
# Operations (PROTOCOL.md 4)

def new_chat(text="first comment", anchor=None, chat_id=None, comment_id=None, bid=None):
    return {"type": "new-text-chat", "broadcastId": bid or uid(),
            "chat": {"id": chat_id or uid(), "anchor": {} if anchor is None else anchor,
                     "comment": {"id": comment_id or uid(), "text": text}}}


def add_comment(chat_id, text="a reply", comment_id=None, bid=None):
    return {"type": "updated-text-chat", "broadcastId": bid or uid(), "chatId": chat_id,
            "action": "add-comment", "comment": {"id": comment_id or uid(), "text": text}}


def edit_comment(chat_id, comment_id, text="edited", bid=None):
    return {"type": "updated-text-chat", "broadcastId": bid or uid(), "chatId": chat_id,
            "action": "edit-comment", "commentId": comment_id, "text": text}


def delete_comment(chat_id, comment_id, bid=None):
    return {"type": "updated-text-chat", "broadcastId": bid or uid(), "chatId": chat_id,
            "action": "delete-comment", "commentId": comment_id}


def resolve(chat_id, resolved=True, bid=None):
    return {"type": "updated-text-chat", "broadcastId": bid or uid(), "chatId": chat_id,
            "action": "resolve", "resolved": resolved}


def delete_chat(chat_id, bid=None):
    return {"type": "deleted-text-chat", "broadcastId": bid or uid(), "chatId": chat_id}


EVENT_KEYS = {
    "new-text-chat": ["type", "seq", "broadcastId", "ts", "userId", "chat"],
    "add-comment": ["type", "seq", "broadcastId", "ts", "userId", "chatId", "action", "comment"],
    "edit-comment": ["type", "seq", "broadcastId", "ts", "userId", "chatId", "action", "commentId", "text"],
    "delete-comment": ["type", "seq", "broadcastId", "ts", "userId", "chatId", "action", "commentId"],
    "resolve": ["type", "seq", "broadcastId", "ts", "userId", "chatId", "action", "resolved"],
    "deleted-text-chat": ["type", "seq", "broadcastId", "ts", "userId", "chatId"],
}
CHAT_KEYS = ["id", "anchor", "userId", "userName", "createdAt", "resolved", "comments"]
COMMENT_KEYS = ["id", "userId", "userName", "text", "createdAt"]


def _ms_ok(v, what):
    check(type(v) is int, f"{what} is not an integer: {v!r}")
    check(abs(v - now_ms()) < 10 * 60 * 1000, f"{what} {v} is not near the current time in ms")


def kind(ev):
    return ev["action"] if ev.get("type") == "updated-text-chat" else ev.get("type")


def check_comment(c, what="comment"):
    eq(list(c.keys()), COMMENT_KEYS, f"{what} field order")
    check(UUID_RE.match(c["id"] or ""), f"{what} id")
    check(isinstance(c["userId"], str) and isinstance(c["userName"], str), f"{what} user fields")
    check(isinstance(c["text"], str), f"{what} text")
    _ms_ok(c["createdAt"], f"{what}.createdAt")


def check_chat(c, what="chat"):
    eq(list(c.keys()), CHAT_KEYS, f"{what} field order")
    check(isinstance(c["anchor"], dict), f"{what}.anchor is not an object")
    check(type(c["resolved"]) is bool, f"{what}.resolved is not a boolean")
    _ms_ok(c["createdAt"], f"{what}.createdAt")
    check(isinstance(c["comments"], list), f"{what}.comments is not an array")
    for i, cm in enumerate(c["comments"]):
        check_comment(cm, f"{what}.comments[{i}]")


def check_event(ev, op=None, user_id=None, user_name=None):
    """Exact shape and field order of an event (PROTOCOL.md 5); with op, its
    content matches the operation; with user_id/user_name, the author."""
    check(isinstance(ev, dict) and ev.get("type") in EVENT_TYPES, f"not an event: {short(ev)}")
    k = kind(ev)
    check(k in EVENT_KEYS, f"unknown event action in {short(ev)}")
    eq(list(ev.keys()), EVENT_KEYS[k], f"{k} event field order")
    check(type(ev["seq"]) is int and ev["seq"] >= 1, "event seq")
    check(UUID_RE.match(ev["broadcastId"] or ""), "event broadcastId")
    _ms_ok(ev["ts"], "event ts")
    if k == "new-text-chat":
        check_chat(ev["chat"], "event chat")
        eq(len(ev["chat"]["comments"]), 1, "new chat comment count")
        eq(ev["chat"]["resolved"], False, "new chat resolved")
        eq(ev["chat"]["userId"], ev["userId"], "chat.userId vs event userId")
        eq(ev["chat"]["comments"][0]["userId"], ev["userId"], "first comment userId")
        eq(ev["chat"]["comments"][0]["userName"], ev["chat"]["userName"], "first comment userName")
    elif k == "add-comment":
        check_comment(ev["comment"], "event comment")
        eq(ev["comment"]["userId"], ev["userId"], "comment.userId vs event userId")
    if user_id is not None:
        eq(ev["userId"], user_id, "event userId")
        if k == "new-text-chat":
            eq(ev["chat"]["userName"], user_name if user_name is not None else user_id, "chat.userName")
        if k == "add-comment":
            eq(ev["comment"]["userName"], user_name if user_name is not None else user_id,
               "comment.userName")
    if op is not None:
        eq(ev["type"], op["type"], "event type")
        eq(ev["broadcastId"], op["broadcastId"], "event broadcastId")
        if k == "new-text-chat":
            eq(ev["chat"]["id"], op["chat"]["id"], "chat id")
            eq(ev["chat"]["anchor"], op["chat"]["anchor"], "chat anchor")
            eq(ev["chat"]["comments"][0]["id"], op["chat"]["comment"]["id"], "first comment id")
            eq(ev["chat"]["comments"][0]["text"], op["chat"]["comment"]["text"], "first comment text")
        else:
            eq(ev["chatId"], op["chatId"], "chatId")
        if k == "add-comment":
            eq(ev["comment"]["id"], op["comment"]["id"], "comment id")
            eq(ev["comment"]["text"], op["comment"]["text"], "comment text")
        if k in ("edit-comment", "delete-comment"):
            eq(ev["commentId"], op["commentId"], "commentId")
        if k == "edit-comment":
            eq(ev["text"], op["text"], "text")
        if k == "resolve":
            eq(ev["resolved"], op["resolved"], "resolved")
    return ev


def check_error(msg, code, bid="same", op=None):
    """An error message {"type","broadcastId","code","message"}; bid "same"
    means the op's broadcastId."""
    check(isinstance(msg, dict) and msg.get("type") == "error", f"expected an error {code}, got {short(msg)}")
    eq(list(msg.keys()), ["type", "broadcastId", "code", "message"], "error field order")
    eq(msg["code"], code, f"error code (message {msg.get('message')!r})")
    check(isinstance(msg["message"], str) and msg["message"], "error message text")
    if bid == "same":
        bid = op["broadcastId"] if op is not None else None
    if bid is not Ellipsis:
        eq(msg["broadcastId"], bid, "error broadcastId")
    return msg


# --------------------------------------------------------------------------
# A model of a room's state, fed by snapshots and events

class Model:
    def __init__(self):
        self.chats = {}  # id -> chat (dict order is creation order)

    def reset(self, chats):
        self.chats = {}
        self.add(chats)

    def add(self, chats):
        for c in chats:
            check(c["id"] not in self.chats, f"snapshot repeats chat {c['id']}")
            self.chats[c["id"]] = json.loads(json.dumps(c))

    def apply(self, ev):
        k = kind(ev)
        if k == "new-text-chat":
            check(ev["chat"]["id"] not in self.chats, f"event seq {ev['seq']} creates a live chat id again")
            self.chats[ev["chat"]["id"]] = json.loads(json.dumps(ev["chat"]))
            return
        chat = self.chats.get(ev["chatId"])
        check(chat is not None, f"event seq {ev['seq']} names unknown chat {ev['chatId']}")
        if k == "deleted-text-chat":
            del self.chats[ev["chatId"]]
        elif k == "add-comment":
            chat["comments"].append(json.loads(json.dumps(ev["comment"])))
        elif k == "edit-comment":
            cm = [c for c in chat["comments"] if c["id"] == ev["commentId"]]
            check(cm, f"event seq {ev['seq']} edits unknown comment")
            cm[0]["text"] = ev["text"]
        elif k == "delete-comment":
            n = len(chat["comments"])
            chat["comments"] = [c for c in chat["comments"] if c["id"] != ev["commentId"]]
            check(len(chat["comments"]) == n - 1, f"event seq {ev['seq']} deletes unknown comment")
        elif k == "resolve":
            chat["resolved"] = ev["resolved"]

    def as_list(self):
        return list(self.chats.values())


# --------------------------------------------------------------------------
# websockets client

class Closed(AssertionError):
    def __init__(self, code, reason=""):
        super().__init__(f"connection closed with code {code} reason {reason!r}")
        self.code, self.reason = code, reason


def ws_connect(url, ssl_ctx=None, **kw):
    kw.setdefault("max_size", 16 << 20)
    kw.setdefault("ping_interval", None)
    kw.setdefault("compression", None)
    kw.setdefault("open_timeout", 10)
    kw.setdefault("close_timeout", 3)
    # read everything the server sends even while the test is busy elsewhere,
    # so that an idle test client never becomes a slow consumer
    kw.setdefault("max_queue", None)
    if ssl_ctx is not None:
        kw["ssl"] = ssl_ctx
    return websockets.connect(url, **kw)


class Client:
    """One connection. items: events and errors (batches flattened) not yet
    taken; counts: user-count values in arrival order; messages: every
    server message (parsed), in order."""

    def __init__(self, ws, name="client"):
        self.ws = ws
        self.name = name
        self.items = []
        self.counts = []
        self.messages = []
        self.raw = []
        self.welcome = None
        self.snapshots = []
        self.replayed = []
        self.model = Model()
        self.model_valid = False  # True once a snapshot (or a resumed model) fed it
        self.seq = None  # last applied seq once live
        self.live = False
        self.close_code = None
        self.max_events_in_batch = 0

    @classmethod
    async def open(cls, srv, tenant_id, url_id, user=None, name=None, moderator=None,
                   token=None, hello=True, since=None, epoch=None, label=None, url=None,
                   resume=None, **kw):
        """Connect; with user (a sub) a token is signed; hello unless False.
        resume: an earlier Client of the same room whose model, seq and epoch
        this one resumes from (since/epoch taken from it unless given)."""
        ws = await ws_connect(url or srv.url(tenant_id, url_id), srv.ssl_ctx(), **kw)
        c = cls(ws, label or user or "anon")
        if resume is not None:
            c.model = resume.model
            c.model_valid = resume.model_valid
            since = resume.seq if since is None else since
            epoch = resume.welcome["epoch"] if epoch is None else epoch
        if token is None and user is not None:
            token = srv.token(tenant_id, user, name=name, moderator=moderator)
        c.token = token
        c.user_id = user
        c.user_name = name if name is not None else user
        if hello:
            await c.hello(token, since, epoch)
        return c

    # -- reading
    async def _read(self, timeout):
        try:
            raw = await asyncio.wait_for(self.ws.recv(), timeout)
        except websockets.ConnectionClosed as e:
            rc = e.rcvd
            self.close_code = rc.code if rc is not None else None
            raise Closed(self.close_code, rc.reason if rc is not None else "")
        check(isinstance(raw, str), f"{self.name}: server sent a binary message")
        self.raw.append(raw)
        msg = loads(raw)
        check(isinstance(msg, dict) and isinstance(msg.get("type"), str),
              f"{self.name}: server message is not an object with a type: {short(raw)}")
        self.messages.append(msg)
        t = msg["type"]
        if t == "welcome" and self.welcome is None:
            self.welcome = msg
        if t == "user-count":
            eq(list(msg.keys()), ["type", "count"], "user-count fields")
            check(type(msg["count"]) is int and msg["count"] >= 0, "user-count count")
            check(self.welcome is not None, "user-count before welcome")
            self.counts.append(msg["count"])
            return []
        if t == "batch":
            eq(list(msg.keys()), ["type", "events"], "batch fields")
            evs = msg["events"]
            check(isinstance(evs, list) and len(evs) >= 1, "batch without events")
            for e in evs:
                check(isinstance(e, dict) and e.get("type") in EVENT_TYPES,
                      f"batch holds a non-event (nested batch, user-count?): {short(e)}")
            self.max_events_in_batch = max(self.max_events_in_batch, len(evs))
            out = evs
        else:
            out = [msg]
        for m in out:
            if m.get("type") in EVENT_TYPES and self.live:
                self._apply(m)
        return out

    def _apply(self, ev):
        s = ev["seq"]
        if s <= self.seq:
            return  # a retry's answer (an old event)
        check(s == self.seq + 1, f"{self.name}: seq gap: got {s} after {self.seq}")
        if self.model_valid:
            self.model.apply(ev)
        self.seq = s

    async def _more(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise asyncio.TimeoutError
        self.items.extend(await self._read(left))

    async def take(self, pred=lambda m: True, timeout=5.0, what="a message"):
        """The first item (event or non-event message, never user-count)
        matching pred, removed from items; others stay in order."""
        deadline = time.monotonic() + timeout
        while True:
            for i, m in enumerate(self.items):
                if pred(m):
                    return self.items.pop(i)
            try:
                await self._more(deadline)
            except asyncio.TimeoutError:
                raise AssertionError(f"{self.name}: no {what} within {timeout} s "
                                     f"(pending: {short(self.items, 400)})")

    async def next(self, timeout=5.0):
        return await self.take(timeout=timeout, what="message")

    async def answer(self, bid, timeout=5.0):
        """The event or error carrying broadcastId bid."""
        return await self.take(lambda m: m.get("broadcastId") == bid and
                               m.get("type") in EVENT_TYPES + ("error",),
                               timeout, f"answer to broadcastId {bid}")

    async def event_seq(self, seq, timeout=5.0):
        return await self.take(lambda m: m.get("type") in EVENT_TYPES and m.get("seq") == seq,
                               timeout, f"event seq {seq}")

    async def catch_up(self, seq, timeout=10.0):
        """Read until this connection has applied seq (items are kept)."""
        deadline = time.monotonic() + timeout
        while self.seq < seq:
            try:
                self.items.extend(await self._read(max(0.01, deadline - time.monotonic())))
            except asyncio.TimeoutError:
                raise AssertionError(f"{self.name}: stuck at seq {self.seq}, expected {seq}")

    async def quiet(self, seconds=0.3, limit=10.0):
        """Read until nothing arrives for `seconds` (items are kept)."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            try:
                self.items.extend(await self._read(seconds))
            except asyncio.TimeoutError:
                return
        raise AssertionError(f"{self.name}: still receiving after {limit} s")

    async def expect_nothing(self, seconds=0.5):
        """No event or error may arrive in `seconds` (user-counts may)."""
        await self.quiet(seconds)
        check(not self.items, f"{self.name}: unexpected {short(self.items)}")

    async def wait_count(self, n, timeout=5.0):
        deadline = time.monotonic() + timeout
        # the last count this connection knows: its last user-count, else its
        # welcome's (a newcomer learns the count from its welcome)
        while (self.counts[-1] if self.counts else self.welcome["count"]) != n:
            try:
                self.items.extend(await self._read(max(0.01, deadline - time.monotonic())))
            except asyncio.TimeoutError:
                raise AssertionError(f"{self.name}: user-count never reached {n} "
                                     f"(counts {self.counts}, welcome {self.welcome and self.welcome['count']})")

    async def expect_close(self, codes, timeout=5.0):
        """Read until the server closes; its close code must be in codes."""
        if isinstance(codes, int):
            codes = (codes,)
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.items.extend(await self._read(max(0.01, deadline - time.monotonic())))
            except Closed as e:
                check(e.code in codes, f"{self.name}: close code {e.code} (reason {e.reason!r}), "
                      f"expected {codes}")
                return e.code
            except asyncio.TimeoutError:
                raise AssertionError(f"{self.name}: not closed within {timeout} s (expected {codes})")

    # -- writing
    async def send(self, obj):
        await self.ws.send(obj if isinstance(obj, (str, bytes)) else dumps(obj))

    async def op(self, obj, timeout=5.0):
        """Send an operation and return its answer (event or error). Items
        with its broadcastId read before the send (another connection's event
        reusing that id) cannot be the answer and are dropped."""
        bid = obj.get("broadcastId")
        self.items = [m for m in self.items if m.get("broadcastId") != bid or bid is None]
        await self.send(obj)
        return await self.answer(obj["broadcastId"], timeout)

    async def ok(self, obj, timeout=5.0):
        m = await self.op(obj, timeout)
        check(m.get("type") != "error", f"{self.name}: operation {obj['type']}"
              f"{'/' + obj['action'] if 'action' in obj else ''} rejected: {short(m)}")
        return check_event(m, obj, self.user_id, self.user_name)

    async def rejected(self, obj, code, timeout=5.0):
        m = await self.op(obj, timeout)
        return check_error(m, code, op=obj)

    async def close(self):
        try:
            await asyncio.wait_for(self.ws.close(), 5)
        except Exception:  # noqa: BLE001
            self.ws.transport.abort()

    def abort(self):
        """Cut the TCP connection without a close handshake."""
        self.ws.transport.abort()

    # -- session start
    async def hello(self, token=None, since=None, epoch=None, extra=None, timeout=10.0):
        m = {"type": "hello"}
        if token is not None:
            m["token"] = token
        if since is not None:
            m["since"] = since
        if epoch is not None:
            m["epoch"] = epoch
        if extra:
            m.update(extra)
        await self.send(m)
        return await self.read_start(since=since, epoch=epoch, timeout=timeout)

    async def read_start(self, since=None, epoch=None, timeout=10.0):
        """welcome, snapshot(s) or replayed events, synced: all checked."""
        deadline = time.monotonic() + timeout
        check(self.welcome is None, f"{self.name}: a second welcome")
        first = await self._read(timeout)
        check(len(first) == 1 and first[0]["type"] == "welcome",
              f"{self.name}: first server message is not welcome: {short(first)}")
        w = first[0]
        check_welcome(w)
        check(w["resync"] in ("replay", "snapshot"), "welcome resync value")
        if since is None:
            eq(w["resync"], "snapshot", "resync without since")
        got = []
        while True:
            left = deadline - time.monotonic()
            check(left > 0, f"{self.name}: no synced within {timeout} s")
            try:
                got.extend(await self._read(left))
            except asyncio.TimeoutError:
                raise AssertionError(f"{self.name}: no synced within {timeout} s (got {short(got)})")
            if got and got[-1]["type"] == "synced":
                break
        synced = got.pop()
        eq(list(synced.keys()), ["type", "seq"], "synced fields")
        eq(synced["seq"], w["seq"], "synced seq vs welcome seq")
        if w["resync"] == "snapshot":
            check(got, "snapshot resync without a snapshot message")
            for i, s in enumerate(got):
                check(s.get("type") == "snapshot", f"expected snapshot messages before synced, got {short(s)}")
                eq(list(s.keys()), ["type", "seq", "reset", "chats"], "snapshot fields")
                eq(s["seq"], w["seq"], "snapshot seq")
                eq(s["reset"], i == 0, f"snapshot message {i} reset")
                check(isinstance(s["chats"], list), "snapshot chats")
                for c in s["chats"]:
                    check_chat(c, "snapshot chat")
            self.snapshots = got
            self.model.reset([c for s in got for c in s["chats"]])
            self.model_valid = True
        else:
            self.replayed = got
            want = list(range(since + 1, w["seq"] + 1))
            eq([e.get("seq") for e in got], want, "replayed event seqs")
            for e in got:
                check_event(e)
                if self.model_valid:
                    self.model.apply(e)
        self.seq = w["seq"]
        self.live = True
        return w

    def snapshot_chats(self):
        return [c for s in self.snapshots for c in s["chats"]]


def check_welcome(w):
    eq(list(w.keys()), ["type", "connectionId", "user", "epoch", "seq", "count", "resync"],
       "welcome field order")
    check(isinstance(w["connectionId"], str) and UUID_RE.match(w["connectionId"]),
          f"welcome connectionId is not a lowercase UUID: {w['connectionId']!r}")
    if w["user"] is not None:
        eq(list(w["user"].keys()), ["id", "name", "moderator"], "welcome user field order")
        check(isinstance(w["user"]["id"], str) and isinstance(w["user"]["name"], str),
              "welcome user id/name")
        check(type(w["user"]["moderator"]) is bool, "welcome user.moderator")
    check(isinstance(w["epoch"], str) and w["epoch"], "welcome epoch")
    check(type(w["seq"]) is int and w["seq"] >= 0, "welcome seq")
    check(type(w["count"]) is int and w["count"] >= 1, "welcome count")


# --------------------------------------------------------------------------
# Raw client with exact frame accounting (usage metrics)

def frame_header_len(n):
    return 2 if n <= 125 else 4 if n <= 0xFFFF else 10


class RawClient:
    """helpers.RawWS speaking the protocol synchronously; msgs/bytes count
    every data message and its frame bytes (headers included)."""

    def __init__(self, srv, tenant_id, url_id, timeout=5.0, rcvbuf=None, path=None):
        self.ws = h.RawWS(srv.base, srv.ssl_ctx(), timeout)
        if rcvbuf:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            s.settimeout(timeout)
            s.connect((self.ws.host, self.ws.port))
            self.ws.sock = s
        else:
            self.ws.connect()
        self.ws.handshake(path or srv.path(tenant_id, url_id))
        self.msgs = 0
        self.bytes = 0
        self.received = []
        self.close_code = None

    def send(self, obj):
        self.ws.send_text(obj if isinstance(obj, (str, bytes)) else dumps(obj))

    def recv(self, timeout=5.0):
        """Next data message parsed; control frames skipped (pings answered)."""
        deadline = time.monotonic() + timeout
        parts, total = [], 0
        while True:
            f = self.ws.recv_frame(max(0.0, deadline - time.monotonic()))
            if f.opcode == h.OP_PING:
                self.ws.send_frame(h.OP_PONG, f.payload)
                continue
            if f.opcode == h.OP_PONG:
                continue
            if f.opcode == h.OP_CLOSE:
                self.close_code = f.close_code()
                raise Closed(self.close_code, f.payload[2:].decode("utf-8", "replace"))
            total += frame_header_len(len(f.payload)) + len(f.payload)
            parts.append(f.payload)
            if f.fin:
                self.msgs += 1
                self.bytes += total
                msg = loads(b"".join(parts).decode())
                self.received.append(msg)
                return msg

    def hello(self, token=None):
        m = {"type": "hello"}
        if token:
            m["token"] = token
        self.send(m)
        w = self.recv()
        eq(w["type"], "welcome", "first message")
        while self.recv()["type"] != "synced":
            pass
        return w

    def quiet(self, seconds=0.5):
        """Read until nothing arrives for `seconds`."""
        while True:
            try:
                self.recv(seconds)
            except socket.timeout:
                return

    def close(self, code=1000):
        """Close handshake: read (and count) everything up to the server's
        close frame, then the server closes TCP."""
        self.ws.send_close(code)
        while True:
            try:
                self.recv()
            except Closed:
                break
        self.ws.expect_eof()
        self.ws.close_socket()
