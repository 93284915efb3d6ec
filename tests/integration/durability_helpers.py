"""Helpers for the durability tests (test_crash_loop.py, test_resync.py,
test_disk_faults.py, test_journal_tool.py), on top of helpers.py and
server_helpers.py. Run with Debian's /usr/bin/python3 (python3-websockets
10.4).

- Env: a temp folder with one tenants.json kept across server restarts (so
  tokens stay valid), and data directories made in it.
- DServer(env, data, args, release=..., preexec_fn=..., quiet=...,
  extra_env=...): a
  collab-server on 127.0.0.1 port 0 over a GIVEN data directory (which
  outlives it), from $ASAN_BIN (default) or $BIN (release=True; falls back
  to $ASAN_BIN when no release build exists); SERVER_CMD replaces the
  program. Reads the two first stdout lines (printed only once recovery is
  complete, PROTOCOL.md 8), keeps the stderr log. stop() = SIGTERM by PID,
  exit 0 within 5 s; kill9() = SIGKILL by PID. It has the url/token/ssl_ctx
  interface server_helpers.Client.open() expects.
- start_fails(...): a server that must refuse to start: its exit status and
  output.
- journal(cmd, dir): runs collab-journal (JOURNAL_CMD, else $ASAN_BIN or
  $BIN) and returns (status, stdout, stderr).
- Proxy: a TCP proxy whose connections can be severed: "rst" (both sides
  reset), or "blackhole" (the client side is reset and the server side is
  left open and unread, as a cable cut looks to the server).
- canon(chats), stream_seqs(client), check_stream(client, since, last):
  strict seq checks on everything a Client received (no gap, no duplicate
  between replay and live events).
"""
import asyncio
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
import helpers as h  # noqa: E402
import server_helpers as sh  # noqa: E402
from server_helpers import check, eq, short  # noqa: E402,F401

T = "t"  # the tenant every durability test uses: anonymous read, no rate limit
TENANT = sh.tenant(T, anonymous="read", maxChatsPerRoom=1000000, **sh.FAST)
VERBOSE = os.environ.get("VERBOSE") == "1"


# --------------------------------------------------------------------------
# Programs

def _prog(name, release):
    """Path of a built program: $BIN/name when release (falling back to
    $ASAN_BIN), else $ASAN_BIN/name (falling back to $BIN)."""
    first, second = (h.BIN, h.ASAN_BIN) if release else (h.ASAN_BIN, h.BIN)
    for d in (first, second):
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    raise SystemExit(f"{name} not built: neither {first}/{name} nor {second}/{name} exists")


def server_cmd(release=False):
    env = os.environ.get("SERVER_CMD")
    if env:
        return shlex.split(env)
    return [_prog("collab-server", release)]


def journal_cmd(release=False):
    env = os.environ.get("JOURNAL_CMD")
    if env:
        return shlex.split(env)
    return [_prog("collab-journal", release)]


def journal(sub, directory, release=False, timeout=60):
    """collab-journal SUB DIR -> (status, stdout, stderr) as text."""
    r = subprocess.run(journal_cmd(release) + [sub, directory], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


_TORN = re.compile(r"^torn: offset (\d+): .*; (\d+) bytes after it")
_CORRUPT = re.compile(r"^corrupt: offset (\d+): ")
_SOUND = re.compile(r"^sound: (\d+) records?, (\d+) bytes, epoch (\S+), createdAt (\d+)")


def verify(directory, release=False, want=(0,)):
    """collab-journal verify; status must be in want. Returns (status, line,
    match of the line's pattern or None)."""
    rc, out, err = journal("verify", directory, release)
    line = out.strip()
    check(rc in want, f"collab-journal verify {directory}: exit {rc}, expected {want}: "
          f"{line!r} {err.strip()!r}")
    pat = {0: _SOUND, 3: _TORN, 1: _CORRUPT}.get(rc)
    m = pat.match(line) if pat else None
    if pat is not None:
        check(m is not None, f"collab-journal verify: exit {rc} with line {line!r}")
    return rc, line, m


def dump(directory, release=False, want=(0,)):
    """collab-journal dump: list of parsed records; status must be in want."""
    rc, out, err = journal("dump", directory, release)
    check(rc in want, f"collab-journal dump: exit {rc}, expected {want}: {err.strip()!r}")
    recs = []
    for i, ln in enumerate(out.split("\n")):
        if ln == "":
            continue
        try:
            recs.append(sh.loads(ln))
        except ValueError as e:
            raise AssertionError(f"collab-journal dump line {i + 1} is not JSON ({e}): {short(ln)}")
    return recs, err


# --------------------------------------------------------------------------
# Environment and servers

class Env:
    """A temp folder holding tenants.json (kept across restarts) and data
    directories."""

    def __init__(self, tenants=(TENANT,), prefix="collab-dur-"):
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.tenants = {t["id"]: t for t in tenants}
        self.tenants_file = os.path.join(self.dir, "tenants.json")
        with open(self.tenants_file, "w") as f:
            json.dump({"tenants": list(tenants)}, f, indent=1)
        self.n = 0

    def data_dir(self, name=None, create=True):
        self.n += 1
        d = os.path.join(self.dir, name or f"data{self.n}")
        if create:
            os.makedirs(d, exist_ok=True)
        return d

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


_INTERESTING = re.compile(r"error|warn|torn|corrupt|repair|cut|sanitizer|runtime error|fail|leak",
                          re.I)


class DServer:
    """collab-server over a given data directory (see the module text)."""

    def __init__(self, env, data, args=(), release=False, preexec_fn=None, timeout=30.0,
                 quiet=False, label="collab-server", extra_env=None):
        self.env = env
        self.tenants = env.tenants
        self.data = data
        self.certs = None
        self.quiet = quiet
        self.label = label
        self.cmd = server_cmd(release) + ["--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0",
                                          "--tenants", env.tenants_file, "--data", data] + list(args)
        self.log = []
        self.out = []
        self._lock = threading.Lock()
        self._dumping = False  # copy every line after a sanitizer report starts
        self.t_start = time.monotonic()
        penv = None
        if extra_env:
            penv = dict(os.environ)
            penv.update(extra_env)
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, cwd=h.TOP, preexec_fn=preexec_fn,
                                     env=penv)
        first = queue.Queue()
        self._t_out = threading.Thread(target=self._pump_out, args=(first,), daemon=True)
        self._t_err = threading.Thread(target=self._pump_err, daemon=True)
        self._t_out.start()
        self._t_err.start()
        lines = []
        deadline = time.monotonic() + timeout
        while len(lines) < 2:
            try:
                ln = first.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                self.kill9()
                raise AssertionError(f"{label}: no listening/admin lines within {timeout} s")
            if ln is None:
                try:
                    rc = self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    self.kill9()
                    rc = "?"
                self._t_err.join(2)
                raise AssertionError(f"{label} exited with status {rc} before printing its "
                                     f"listening lines; log: {short(self.log_text()[-600:], 700)}")
            lines.append(ln)
        self.t_ready = time.monotonic()
        m = sh._LISTEN.match(lines[0])
        a = sh._ADMIN.match(lines[1])
        if not m or not a:
            self.kill9()
            raise AssertionError(f"{label}: first stdout lines {lines!r}, expected "
                                 "'listening ws://127.0.0.1:PORT' then 'admin http://127.0.0.1:PORT'")
        self.scheme, self.host, self.port = m.group(1), m.group(2), int(m.group(3))
        self.admin_host, self.admin_port = a.group(1), int(a.group(2))
        self.base = f"{self.scheme}://{self.host}:{self.port}"
        self.admin = f"http://{self.admin_host}:{self.admin_port}"

    @property
    def pid(self):
        return self.proc.pid

    def _pump_out(self, first):
        n = 0
        for raw in iter(self.proc.stdout.readline, b""):
            text = raw.decode("utf-8", "replace").rstrip("\r\n")
            if n < 2:
                first.put(text)
            else:
                with self._lock:
                    self.out.append(text)
                if not self.quiet or VERBOSE:
                    sys.stderr.write(f"[{self.label} stdout] {text}\n")
            n += 1
        if n < 2:
            first.put(None)

    def _pump_err(self):
        for raw in iter(self.proc.stderr.readline, b""):
            text = raw.decode("utf-8", "replace").rstrip("\r\n")
            with self._lock:
                self.log.append(text)
            if "Sanitizer" in text or "runtime error" in text:
                self._dumping = True
            if not self.quiet or VERBOSE or self._dumping or _INTERESTING.search(text):
                sys.stderr.write(f"[{self.label}] {text}\n")
                sys.stderr.flush()

    def log_text(self):
        with self._lock:
            return "\n".join(self.log + self.out)

    def wait_log(self, pattern, timeout=5.0):
        """A log line matching the regex pattern (already there or coming)."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                for ln in self.log + self.out:
                    if rx.search(ln):
                        return ln
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.label}: no log line matching {pattern!r} "
                                     f"within {timeout} s")
            time.sleep(0.05)

    # -- the interface server_helpers.Client expects
    def path(self, tenant_id, url_id):
        import urllib.parse
        return "/ws?" + urllib.parse.urlencode([("tenantId", tenant_id), ("urlId", url_id)])

    def url(self, tenant_id, url_id):
        return self.base + self.path(tenant_id, url_id)

    def secret(self, tenant_id):
        return self.tenants[tenant_id]["secret"]

    def token(self, tenant_id, sub, name=None, moderator=None, exp=None, url_ids=None, **extra):
        return sh.jwt(self.secret(tenant_id), sh.claims_for(tenant_id, sub, name, moderator, exp,
                                                            url_ids, **extra))

    def ssl_ctx(self):
        return None

    def admin_get(self, path, timeout=10):
        import http.client
        c = http.client.HTTPConnection(self.admin_host, self.admin_port, timeout=timeout)
        try:
            c.request("GET", path)
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    # -- process
    def alive(self):
        return self.proc.poll() is None

    def stop(self, timeout=5.0):
        """SIGTERM by PID; exit status 0 within timeout s."""
        h.stop(self.proc, timeout)
        self._t_err.join(2)

    def kill9(self):
        """SIGKILL by PID (no-op if it already exited); waits for it."""
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        self._t_err.join(2)

    kill = kill9


def start_fails(env, data, args=(), release=False, timeout=30.0):
    """Runs a server that must NOT start: it must exit non-zero without
    printing a listening line. Returns (status, stdout, stderr)."""
    cmd = server_cmd(release) + ["--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0",
                                 "--tenants", env.tenants_file, "--data", data] + list(args)
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, cwd=h.TOP)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        raise AssertionError(f"server did not exit within {timeout} s (expected a refusal to "
                             f"start); stdout {short(out.decode('utf-8', 'replace'))}")
    out = out.decode("utf-8", "replace")
    err = err.decode("utf-8", "replace")
    sys.stderr.write("".join(f"[refused server] {ln}\n" for ln in err.splitlines()))
    check(p.returncode != 0, f"server exited with status 0, expected a refusal to start "
          f"(stdout {short(out)})")
    check(p.returncode > 0, f"server died of signal {-p.returncode} instead of refusing "
          f"to start cleanly; stderr {short(err[-500:])}")
    check("listening" not in out, f"server printed {short(out)} although it must not start")
    return p.returncode, out, err


# --------------------------------------------------------------------------
# Severable TCP proxy

class Proxy:
    """127.0.0.1:port -> target. Runs in its own thread (so it works across
    asyncio.run() calls). sever(mode) cuts every current connection."""

    def __init__(self, target_host, target_port):
        self.target = (target_host, target_port)
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(64)
        self.port = self.ls.getsockname()[1]
        self.lock = threading.Lock()
        self.pairs = []  # [client_sock, server_sock, state] state: "open"/"cut"
        self.held = []   # server-side sockets left open by blackhole
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, srv, tenant_id, url_id):
        return f"ws://127.0.0.1:{self.port}" + srv.path(tenant_id, url_id)

    def _accept(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            try:
                s = socket.create_connection(self.target, timeout=5)
            except OSError:
                _rst(c)
                continue
            for x in (c, s):
                x.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                x.settimeout(None)
            pair = [c, s, "open"]
            with self.lock:
                self.pairs.append(pair)
            threading.Thread(target=self._pipe, args=(pair, 0, 1), daemon=True).start()
            threading.Thread(target=self._pipe, args=(pair, 1, 0), daemon=True).start()

    def _pipe(self, pair, a, b):
        src, dst = pair[a], pair[b]
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if pair[2] != "open":
                return  # severed: drop whatever came
            if not data:
                # an orderly end on one side: pass it on
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            try:
                dst.sendall(data)
            except OSError:
                return

    def sever(self, mode="rst"):
        """Cut every open connection: "rst" resets both sides; "blackhole"
        resets the client side and keeps the server side open, unread."""
        with self.lock:
            pairs = [p for p in self.pairs if p[2] == "open"]
            for p in pairs:
                p[2] = "cut"
        for c, s, _ in pairs:
            _rst(c)
            if mode == "rst":
                _rst(s)
            else:
                with self.lock:
                    self.held.append(s)
        return len(pairs)

    def close(self):
        self.closed = True
        try:
            self.ls.close()
        except OSError:
            pass
        self.sever("rst")
        with self.lock:
            held, self.held = self.held, []
        for s in held:
            _rst(s)


def _rst(sock):
    """Close with an RST (SO_LINGER 0): no FIN, no close frame."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    except OSError:
        pass
    try:
        # wakes a proxy thread blocked in recv() on it (sends nothing), so
        # that the close below really releases the socket, with an RST
        sock.shutdown(socket.SHUT_RD)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


# --------------------------------------------------------------------------
# State and stream checks

def canon(chats):
    """Canonical JSON of a list of chats (keys sorted, compact)."""
    return json.dumps(chats, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def same_state(got, want, what="state"):
    """Chats identical: canonical JSON equal, and exactly equal (key order
    too)."""
    if canon(got) != canon(want):
        gi = {c["id"]: c for c in got}
        wi = {c["id"]: c for c in want}
        missing = [i for i in wi if i not in gi]
        extra = [i for i in gi if i not in wi]
        diff = [i for i in wi if i in gi and canon([gi[i]]) != canon([wi[i]])]
        detail = ""
        if diff:
            detail = f"; first differing chat: got {short(gi[diff[0]], 400)} expected {short(wi[diff[0]], 400)}"
        raise AssertionError(f"{what}: {len(got)} chats vs {len(want)} expected; missing {len(missing)}, "
                             f"extra {len(extra)}, differing {len(diff)}{detail}")
    eq([c["id"] for c in got], [c["id"] for c in want], f"{what}: chat order")
    eq(got, want, f"{what} (member order)")


def flat_events(msgs):
    """Events of server messages in order, batches flattened."""
    out = []
    for m in msgs:
        if m.get("type") == "batch":
            out.extend(m["events"])
        elif m.get("type") in sh.EVENT_TYPES:
            out.append(m)
    return out


def stream_seqs(client):
    """(replayed seqs, live seqs) of everything the Client received: events
    before its `synced` message, and after it."""
    before, after, live = [], [], False
    for m in client.messages:
        t = m.get("type")
        if t == "synced":
            live = True
            continue
        for e in flat_events([m]):
            (after if live else before).append(e["seq"])
    return before, after


def check_stream(client, since, own_retry_bids=()):
    """Strict: after its welcome the client got events since+1 .. W (replay)
    or a snapshot at W, then live events W+1, W+2, ... with no gap and no
    duplicate. A live answer to one of the client's own retries
    (own_retry_bids: the original event, whose seq is not newer) is exempt.
    Returns the last seq."""
    w = client.welcome["seq"]
    before, after = [], []
    live = False
    for m in client.messages:
        if m.get("type") == "synced":
            live = True
            continue
        for e in flat_events([m]):
            if live and e.get("broadcastId") in own_retry_bids and \
                    e["seq"] <= (after[-1] if after else w):
                continue
            (after if live else before).append(e["seq"])
    if client.welcome["resync"] == "replay":
        eq(before, list(range(since + 1, w + 1)), "replayed seqs")
    else:
        eq(before, [], "events before synced in a snapshot resync")
    if after:
        eq(after, list(range(w + 1, w + 1 + len(after))),
           "live seqs after synced (no gap, no duplicate)")
    return after[-1] if after else w


async def fresh(srv, tenant_id, url_id, since=None, epoch=None, label="fresh"):
    """A new anonymous Client's view: (chats, seq, welcome, client events
    replayed); the client is closed."""
    c = await sh.Client.open(srv, tenant_id, url_id, since=since, epoch=epoch, label=label)
    try:
        if c.welcome["resync"] == "snapshot":
            return c.snapshot_chats(), c.welcome["seq"], c.welcome, None
        return None, c.welcome["seq"], c.welcome, c.replayed
    finally:
        await c.close()


def model_of(events):
    m = sh.Model()
    for e in events:
        m.apply(e)
    return m.as_list()


async def history(srv, tenant_id, url_id, epoch, since=0):
    """Every event of the room after `since` by replay (which must be a
    replay), and the welcome. Checks seqs since+1..seq contiguous."""
    c = await sh.Client.open(srv, tenant_id, url_id, since=since, epoch=epoch, label="history")
    try:
        w = c.welcome
        check(w["seq"] >= since, f"room seq {w['seq']} is below {since}, an earlier seq of "
              f"epoch {epoch} (seq went back)")
        if w["seq"] > since:
            eq(w["resync"], "replay", f"resync for since={since} in epoch {epoch} (room seq "
               f"{w['seq']}, every event still held)")
        evs = c.replayed if w["resync"] == "replay" else []
        eq([e["seq"] for e in evs], list(range(since + 1, w["seq"] + 1)),
           f"replayed seqs from {since}")
        return evs, w
    finally:
        await c.close()


def bids_once(events, what="room"):
    seen = {}
    for e in events:
        b = e["broadcastId"]
        check(b not in seen, f"{what}: broadcastId {b} applied twice (seq {seen.get(b)} and {e['seq']})")
        seen[b] = e["seq"]
    return seen


def run(coro, timeout=120):
    """asyncio.run with a deadline."""
    return asyncio.run(asyncio.wait_for(coro, timeout))
