#!/usr/bin/python3
"""collab-token and collab-cli (PROTOCOL.md section 10) against the real
collab-server:

- collab-token prints one HS256 token whose signature checks with Python's
  hmac and whose claims are what the flags say; bad input exits 2 with one
  clear line; the secret is never printed;
- collab-cli prints welcome, snapshot and synced, sends a line read from
  stdin and prints its echo, exits 0 at the end of input; it exits non-zero
  with a clear message for a bad token (4401), a refused upgrade (403, 404)
  and bad usage; it reconnects and resyncs (replay) after a server restart,
  sending a line typed while the server was down once it is back.

Programs from $ASAN_BIN (else $BIN). Prints `N passed, N failed`;
CASE=substring runs a subset, VERBOSE=1 shows traces.
"""
import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
import helpers as h  # noqa: E402
import server_helpers as sh  # noqa: E402
import durability_helpers as dh  # noqa: E402
from server_helpers import check, eq, short, uid  # noqa: E402

T = dh.T
VERBOSE = os.environ.get("VERBOSE") == "1"


def prog(name):
    for d in (h.ASAN_BIN, h.BIN):
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    raise SystemExit(f"{name} not built in {h.ASAN_BIN} or {h.BIN}")


def run(args, stdin=b"", timeout=30):
    p = subprocess.run(args, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, cwd=h.TOP)
    if VERBOSE:
        sys.stderr.write(f"$ {' '.join(args)} -> {p.returncode}\n{p.stderr.decode()}")
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def room(prefix="cli"):
    return f"https://cli.example/{prefix}/{uid()}"


# --------------------------------------------------------------------------
# collab-token

def token_ok(env):
    secret = env.tenants[T]["secret"]
    tok = prog("collab-token")
    args = [tok, "--tenants", env.tenants_file, "--tenant", T, "--sub", "user-1",
            "--name", "Ann \u00e9", "--moderator", "--ttl", "600",
            "--url-id", "https://a.example/1", "--url-id", "b c"]
    t0 = int(time.time())
    rc, out, err = run(args)
    eq(rc, 0, f"exit status (stderr {err!r})")
    eq(err, "", "stderr")
    check(out.endswith("\n") and out.count("\n") == 1, f"one line: {out!r}")
    jwt = out[:-1]
    parts = jwt.split(".")
    eq(len(parts), 3, "three parts")
    check("=" not in jwt, "no padding")
    want = hmac.new(secret.encode(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
    check(hmac.compare_digest(b64d(parts[2]), want), "HS256 signature does not verify")
    eq(json.loads(b64d(parts[0])), {"alg": "HS256", "typ": "JWT"}, "header")
    claims = json.loads(b64d(parts[1]))
    exp = claims.pop("exp")
    check(t0 + 600 - 5 <= exp <= int(time.time()) + 600 + 5, f"exp {exp} is not now + 600")
    eq(claims, {"sub": "user-1", "name": "Ann \u00e9", "tenantId": T, "moderator": True,
                "urlIds": ["https://a.example/1", "b c"]}, "claims")
    check(secret not in out and secret not in err, "the secret was printed")
    # the minimal form: sub, tenantId, exp = now + 3600
    rc, out, err = run([tok, "--tenants", env.tenants_file, "--tenant", T, "--sub", "u"])
    eq(rc, 0, "exit status")
    claims = json.loads(b64d(out.strip().split(".")[1]))
    eq(sorted(claims), ["exp", "sub", "tenantId"], "claims without options")
    check(abs(claims["exp"] - (int(time.time()) + 3600)) <= 5, "default ttl 3600")
    rc, out, _ = run([tok, "--help"])
    eq(rc, 0, "--help status")
    check("--tenants FILE" in out and "--url-id" in out, "--help text")


def token_errors(env):
    tok = prog("collab-token")
    f = env.tenants_file
    secret = env.tenants[T]["secret"]
    cases = [
        ([tok, "--tenants", f, "--tenant", "nobody", "--sub", "u"], "unknown tenant"),
        ([tok, "--tenants", f, "--tenant", T], "required"),
        ([tok, "--tenants", f, "--tenant", T, "--sub", "u", "--ttl", "0"], "--ttl"),
        ([tok, "--tenants", f, "--tenant", T, "--sub", "u", "--ttl", "12x"], "--ttl"),
        ([tok, "--tenants", f, "--tenant", T, "--sub", "u", "--bogus"], "unknown argument"),
        ([tok, "--tenants", f, "--tenant", T, "--sub", "u", "--sub", "v"], "twice"),
        ([tok, "--tenants", f, "--tenant", T, "--sub", ""], "--sub"),
        ([tok, "--tenants", f, "--tenant", T, "--sub", "x" * 129], "--sub"),
        ([tok, "--tenants", f, "--tenant", T, "--sub", "u", "--name"], "needs a value"),
        ([tok, "--tenants", f + ".missing", "--tenant", T, "--sub", "u"], "missing"),
    ]
    for args, word in cases:
        rc, out, err = run(args)
        eq(rc, 2, f"{args[5:]} exit status")
        eq(out, "", f"{args[5:]} stdout")
        check(err.startswith("collab-token: ") and err.count("\n") == 1,
              f"{args[5:]}: one line on stderr: {err!r}")
        check(word in err, f"{args[5:]}: {word!r} not in {err!r}")
        check(secret not in err, "the secret was printed")


# --------------------------------------------------------------------------
# collab-cli

class Cli:
    """collab-cli with its stdin kept open; stdout lines collected."""

    def __init__(self, url, *args):
        self.proc = subprocess.Popen([prog("collab-cli"), url, *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=h.TOP)
        self.lines = []
        self.err = []
        self.cv = threading.Condition()
        threading.Thread(target=self._pump, args=(self.proc.stdout, self.lines), daemon=True).start()
        threading.Thread(target=self._pump, args=(self.proc.stderr, self.err), daemon=True).start()

    def _pump(self, f, into):
        for raw in iter(f.readline, b""):
            text = raw.decode("utf-8", "replace").rstrip("\n")
            if VERBOSE:
                sys.stderr.write(f"[collab-cli{' stderr' if into is self.err else ''}] {text}\n")
            with self.cv:
                into.append(text)
                self.cv.notify_all()

    def send(self, line):
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def msgs(self):
        with self.cv:
            return [json.loads(x) for x in self.lines]

    def wait(self, pred, timeout=15.0, what="a line", start=0):
        deadline = time.monotonic() + timeout
        with self.cv:
            while True:
                for i, x in enumerate(self.lines[start:], start):
                    m = json.loads(x)
                    if pred(m):
                        return i, m
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"collab-cli: no {what} within {timeout} s "
                                         f"(stdout {short(self.lines[-5:], 500)}, "
                                         f"stderr {short(self.err[-5:], 500)})")
                self.cv.wait(left)

    def finish(self, timeout=15.0):
        self.proc.stdin.close()
        return self.proc.wait(timeout)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


def cli_session(srv):
    r = room("session")
    tok = srv.token(T, "u1", name="Ann")
    op = sh.new_chat("typed on stdin", {"quote": "q"})
    line = sh.dumps(op)
    rc, out, err = run([prog("collab-cli"), srv.url(T, r), "--token", tok],
                       stdin=(line + "\n").encode())
    eq(rc, 0, f"exit status (stderr {err!r})")
    lines = out.split("\n")
    eq(lines[-1], "", "ends with a newline")
    msgs = [json.loads(x) for x in lines[:-1]]
    eq([m["type"] for m in msgs[:3]], ["welcome", "snapshot", "synced"], "session start")
    eq(msgs[0]["user"], {"id": "u1", "name": "Ann", "moderator": False}, "welcome user")
    echo = [m for m in msgs if m.get("broadcastId") == op["broadcastId"]]
    eq(len(echo), 1, "the echo printed once")
    sh.check_event(echo[0], op, "u1", "Ann")
    # exact bytes: what a plain websocket client receives is printed as is
    for x in lines[:-1]:
        eq(sh.dumps(json.loads(x)), x, "printed line is the server's compact JSON")
    # an anonymous watcher with stdin at its end: the session start, then exit
    rc, out, err = run([prog("collab-cli"), srv.url(T, r)], stdin=b"")
    eq(rc, 0, f"anonymous exit status (stderr {err!r})")
    msgs = [json.loads(x) for x in out.strip().split("\n")]
    eq([m["type"] for m in msgs], ["welcome", "snapshot", "synced"], "anonymous session")
    eq(msgs[1]["chats"][0]["id"], op["chat"]["id"], "the chat in the snapshot")
    # a malformed line: the server's error is printed, the session goes on
    c = Cli(srv.url(T, r), "--token", tok)
    try:
        c.wait(lambda m: m["type"] == "synced", what="synced")
        c.send("{not json")
        c.send("")
        c.send(sh.dumps(sh.add_comment(op["chat"]["id"], "second line")))
        _, e = c.wait(lambda m: m["type"] == "error", what="error")
        eq(e["code"], "invalid", "error code")
        c.wait(lambda m: m.get("action") == "add-comment", what="add-comment echo")
        eq(c.finish(), 0, "exit status")
    finally:
        c.kill()


def cli_failures(srv):
    r = room("fail")
    cli = prog("collab-cli")
    rc, out, err = run([cli, srv.url(T, r), "--token", "not.a.token"])
    eq(rc, 3, f"bad token exit status (stderr {err!r})")
    check("4401" in err and "authentication" in err, f"bad token message: {err!r}")
    other = sh.jwt(sh.secret_for(T), sh.claims_for(T, "u1", url_ids=["https://other.example/"]))
    rc, out, err = run([cli, srv.url(T, r), "--token", other])
    eq(rc, 3, "token for another page")
    check("4403" in err, f"4403 message: {err!r}")
    rc, out, err = run([cli, srv.base + "/ws?tenantId=nobody&urlId=x"])
    eq(rc, 3, f"unknown tenant exit status (stderr {err!r})")
    check("HTTP 403" in err, f"403 message: {err!r}")
    rc, out, err = run([cli, srv.base + "/nowhere?tenantId=t&urlId=x"])
    eq(rc, 4, f"404 exit status (stderr {err!r})")
    check("HTTP 404" in err and "refused" in err, f"404 message: {err!r}")
    eq(out, "", "nothing on stdout")
    for args in ([], ["--token"], [srv.url(T, r), "--bogus"], ["a", "b"], ["http://x/"]):
        rc, out, err = run([cli, *args])
        eq(rc, 2, f"usage error {args}")
        check(err.startswith("collab-cli: "), f"usage message {err!r}")
    rc, out, _ = run([cli, "--help"])
    eq(rc, 0, "--help")
    check("usage: collab-cli URL" in out, "--help text")


def cli_restart(env):
    srv = dh.DServer(env, env.data_dir())
    proxy = dh.Proxy(srv.host, srv.port)
    srv2 = None
    r = room("restart")
    c = Cli(proxy.url(srv, T, r), "--token", srv.token(T, "u1", name="Ann"))
    try:
        c.wait(lambda m: m["type"] == "synced", what="synced")
        first = sh.new_chat("before the restart")
        c.send(sh.dumps(first))
        c.wait(lambda m: m.get("broadcastId") == first["broadcastId"], what="first echo")
        srv.stop()  # 1001 to everyone
        # typed while the server is down: sent once it is back
        offline = sh.add_comment(first["chat"]["id"], "typed while down")
        c.send(sh.dumps(offline))
        time.sleep(0.3)
        srv2 = dh.DServer(env, srv.data, label="restarted")
        proxy.target = (srv2.host, srv2.port)
        n = len(c.lines)
        i, w = c.wait(lambda m: m["type"] == "welcome", start=n, what="a second welcome")
        eq(w["resync"], "replay", "the client said since/epoch")
        c.wait(lambda m: m["type"] == "synced", start=i, what="second synced")
        c.wait(lambda m: m.get("broadcastId") == offline["broadcastId"], start=i,
               what="echo of the line typed while the server was down")
        later = sh.resolve(first["chat"]["id"], True)
        c.send(sh.dumps(later))
        c.wait(lambda m: m.get("broadcastId") == later["broadcastId"], what="echo after restart")
        eq(c.finish(), 0, "exit status")
        eq(sum(1 for m in c.msgs() if m.get("broadcastId") == offline["broadcastId"]), 1,
           "the offline line applied once")
        check(any("reconnecting" in e for e in c.err), f"state on stderr: {c.err}")
        srv2.stop()
    finally:
        c.kill()
        proxy.close()
        srv.kill9()
        if srv2:
            srv2.kill9()


def cli_wss(env):
    certs = h.make_certs()
    srv = dh.DServer(env, env.data_dir(), args=["--tls-cert", certs["cert"],
                                                "--tls-key", certs["key"]], label="tls-server")
    try:
        eq(srv.scheme, "wss", "listener scheme")
        url = f"wss://127.0.0.1:{srv.port}" + srv.path(T, room("tls"))
        op = sh.new_chat("over TLS")
        rc, out, err = run([prog("collab-cli"), url, "--ca", certs["ca"], "--token",
                            srv.token(T, "u1")], stdin=(sh.dumps(op) + "\n").encode())
        eq(rc, 0, f"exit status (stderr {err!r})")
        msgs = [json.loads(x) for x in out.strip().split("\n")]
        eq([m["type"] for m in msgs[:3]], ["welcome", "snapshot", "synced"], "session start")
        check(any(m.get("broadcastId") == op["broadcastId"] for m in msgs), "echo over TLS")
        # a certificate the trust anchors do not vouch for: no session
        other = h.make_certs()
        p = subprocess.Popen([prog("collab-cli"), url, "--ca", other["ca"]],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, cwd=h.TOP)
        time.sleep(1.0)
        p.kill()
        out, err = p.communicate(timeout=10)
        eq(out, b"", "nothing printed without a trusted certificate")
        check(b"reconnecting" in err, f"retries: {err!r}")
        srv.stop()
    finally:
        srv.kill9()


def main():
    env = dh.Env()
    srv = dh.DServer(env, env.data_dir())
    r = h.Runner("cli", against=" ".join(dh.server_cmd()))
    r.server = srv.proc
    try:
        r.case("collab-token: signature, header and claims check with hmac", token_ok, env)
        r.case("collab-token: bad input exits 2 with a clear line", token_errors, env)
        r.case("collab-cli: session start, a line sent and its echo, exit at EOF",
               cli_session, srv)
        r.case("collab-cli: bad token, refused upgrade, bad usage", cli_failures, srv)
        r.case("collab-cli: reconnect and resync after a server restart", cli_restart, env)
        r.case("collab-cli: wss:// with --ca", cli_wss, env)
        r.case("server exits 0 on SIGTERM", srv.stop)
    finally:
        srv.kill9()
        env.cleanup()
    return r.summary()


if __name__ == "__main__":
    sys.exit(main())
