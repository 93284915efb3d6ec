#!/usr/bin/python3
"""collab-server: graceful shutdown (PROTOCOL.md section 6, close 1001; exit
0 within 5 s of SIGTERM/SIGINT, with clients connected, one stuck in its
handshake and one that does not read) and TLS (`--tls-cert/--tls-key`:
`listening wss://`, a wss client works end to end, rejections readable over
TLS, a plain-text client on the TLS port does no harm).

Runs `$ASAN_BIN/collab-server` (or SERVER_CMD) on port 0. Prints
`N passed, N failed`.
"""
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
import helpers as h  # noqa: E402
import server_helpers as sh  # noqa: E402
from server_helpers import Client, RawClient, add_comment, check, eq, new_chat  # noqa: E402

T = "t"


async def shutdown_with_clients(sig):
    srv = sh.Server([sh.tenant(T, **sh.FAST)])
    try:
        clients = []
        for i in range(20):
            c = await Client.open(srv, T, f"page-{i % 3}", user=f"u{i}" if i % 4 else None)
            clients.append(c)
        await clients[1].ok(new_chat("before shutdown"))
        # one TCP connection that never sends its request head
        idle = socket.create_connection((srv.host, srv.port), timeout=5)
        # one client that stops reading while a big snapshot is pending
        wr = clients[1]
        for i in range(40):
            await wr.ok(new_chat("%02d " % i + "x" * 4000))
        loop = asyncio.get_running_loop()

        def stuck():
            s = RawClient(srv, T, "page-1", rcvbuf=4096)
            s.send({"type": "hello"})
            return s
        stuck_c = await loop.run_in_executor(None, stuck)
        await asyncio.sleep(0.3)
        t0 = time.monotonic()
        os.kill(srv.proc.pid, sig)
        codes = await asyncio.gather(*(c.expect_close((1001,), timeout=5) for c in clients),
                                     return_exceptions=True)
        bad = [f"{c.name}: {x}" for c, x in zip(clients, codes) if x != 1001]
        rc = await loop.run_in_executor(None, wait_exit, srv.proc, max(0.1, 5 - (time.monotonic() - t0)))
        check(rc is not None, f"server did not exit within 5 s of {signal.Signals(sig).name}")
        eq(rc, 0, "exit status")
        check(not bad, f"{len(bad)} of 20 clients did not get close 1001:\n  " + "\n  ".join(bad))
        # nothing listens any more
        try:
            socket.create_connection((srv.host, srv.port), timeout=2).close()
            raise AssertionError("the port still accepts connections after exit")
        except ConnectionRefusedError:
            pass
        idle.close()
        stuck_c.ws.close_socket()
    finally:
        srv.kill()


def wait_exit(proc, timeout):
    try:
        return proc.wait(timeout)
    except Exception:  # noqa: BLE001
        return None


async def tls_end_to_end(certs):
    srv = sh.Server([sh.tenant(T, **sh.FAST)], certs=certs)
    try:
        eq(srv.scheme, "wss", "listening line scheme")
        check(srv.base.startswith("wss://127.0.0.1:"), srv.base)
        a = await Client.open(srv, T, "tls page", user="u1", name="Ann")
        b = await Client.open(srv, T, "tls page", user="u2")
        op = new_chat("over TLS \u00e9", {"q": "s"})
        ev = await a.ok(op)
        eq(await b.answer(op["broadcastId"]), ev, "delivered over TLS")
        op2 = add_comment(op["chat"]["id"], "reply " + "r" * 4000)
        ev2 = await b.ok(op2)
        eq(await a.answer(op2["broadcastId"]), ev2, "large event over TLS")
        await a.wait_count(2)
        loop = asyncio.get_running_loop()
        # a rejection is readable over TLS
        st, hd, body, closed, ws = await loop.run_in_executor(None, lambda: sh.http_exchange(
            srv.host, srv.port, sh.upgrade_request(srv.path("nosuch", "p")), ssl_ctx=srv.ssl_ctx()))
        ws.close_socket()
        eq(st, 403, "unknown tenant over TLS")
        # a plain-text client on the TLS port does no harm

        def plain():
            s = socket.create_connection((srv.host, srv.port), timeout=5)
            s.sendall(sh.upgrade_request(srv.path(T, "p")))
            try:
                while s.recv(4096):
                    pass
            except (ConnectionResetError, socket.timeout):
                pass
            s.close()
        await loop.run_in_executor(None, plain)
        # and a TLS client that goes away in the middle of its handshake
        s = socket.create_connection((srv.host, srv.port), timeout=5)
        s.sendall(b"\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03" + os.urandom(20))
        s.close()
        op3 = new_chat("still fine")
        await a.ok(op3)
        await b.answer(op3["broadcastId"])
        t0 = time.monotonic()
        os.kill(srv.proc.pid, signal.SIGTERM)
        for c in (a, b):
            await c.expect_close(1001)
        rc = await loop.run_in_executor(None, wait_exit, srv.proc, max(0.1, 5 - (time.monotonic() - t0)))
        eq(rc, 0, "exit status after SIGTERM (TLS)")
    finally:
        srv.kill()


# --------------------------------------------------------------------------
# start-up refusals of PROTOCOL.md section 10

def refuses(tenants_text, must_name):
    d = tempfile.mkdtemp(prefix="collab-refuse-it-")
    try:
        f = os.path.join(d, "tenants.json")
        with open(f, "w") as fh:
            fh.write(tenants_text)
        os.makedirs(os.path.join(d, "data"))
        cmd = sh.server_prog() + ["--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0",
                                  "--tenants", f, "--data", os.path.join(d, "data")]
        try:
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=10, cwd=h.TOP)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"server did not refuse to start: {tenants_text[:120]}")
        out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
        check(p.returncode != 0, f"exit status 0 for {tenants_text[:120]}")
        check("listening" not in out, "printed a listening line")
        check("Sanitizer" not in err and "runtime error" not in err, f"sanitizer report:\n{err[-2000:]}")
        for word in must_name:
            check(word in err or word in out, f"the refusal does not name {word!r}: {err.strip()[:300]!r}")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def config_refusals():
    def one(**fields):
        t = {"id": "acme", "secret": "k" * 32, "origins": [], "anonymous": "read"}
        t.update(fields)
        return json.dumps({"tenants": [t]})
    refuses(one(secret="k" * 31), ["acme", "secret"])
    for field in ("opsPerSecond", "opsBurst", "maxChatsPerRoom", "maxCommentsPerChat", "maxConnections"):
        for bad in (0, -1, 1.5, "20", None, True):
            refuses(one(**{field: bad}), ["acme", field])
    refuses(one(anonymous="maybe"), ["acme", "anonymous"])


def help_text():
    p = subprocess.run(sh.server_prog() + ["--help"], capture_output=True, timeout=10, cwd=h.TOP)
    eq(p.returncode, 0, "--help exit status")
    text = p.stdout.decode() + p.stderr.decode()
    for flag in ("--listen", "--admin", "--tenants", "--data", "--tls-cert", "--tls-key", "--www",
                 "--durability", "--batch-delay-ms", "--presence-interval-ms", "--hello-timeout-ms",
                 "--queue-limit", "--ring-size"):
        check(flag in text, f"--help does not list {flag}")
    check(text.lower().count("default") >= 10, "--help does not give the defaults")


def main():
    r = h.Runner("server-shutdown", against=sh.server_name())
    certs = h.make_certs()
    try:
        r.case("SIGTERM with 20 clients: close 1001 each, exit 0 within 5 s",
               shutdown_with_clients, signal.SIGTERM)
        r.case("SIGINT likewise", shutdown_with_clients, signal.SIGINT)
        r.case("TLS: wss:// end to end, rejections, stray clients, 1001", tls_end_to_end, certs)
        r.case("--help lists the flags with defaults", help_text)
        r.case("refused at start: short secret, non-positive limits (naming tenant and field)",
               config_refusals)
    finally:
        shutil.rmtree(certs["dir"], ignore_errors=True)
    return r.summary()


if __name__ == "__main__":
    sys.exit(main())
