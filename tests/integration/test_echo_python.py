#!/usr/bin/python3
"""collab-echo driven by Python's `websockets` (Debian python3-websockets 10.4),
over ws:// and over wss:// trusting a throwaway test CA.

Runs `$ASAN_BIN/collab-echo --listen 127.0.0.1:0 [--tls-cert --tls-key]`, or
the command in ECHO_CMD (see helpers.py). Prints `N passed, N failed`.
"""
import asyncio
import os
import random
import shutil
import signal
import sys
import time

import websockets

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
import helpers as h  # noqa: E402

MIB = 1 << 20
MAX = 16 * MIB  # our side's limit; collab-echo must allow at least 1 MiB


def connect(url, ctx):
    return websockets.connect(url, ssl=ctx, max_size=MAX, open_timeout=10,
                              close_timeout=5, ping_interval=None)


async def roundtrip(url, ctx, msg):
    async with connect(url, ctx) as ws:
        await ws.send(msg)
        got = await asyncio.wait_for(ws.recv(), 20)
        assert type(got) is type(msg), f"type {type(got).__name__}, sent {type(msg).__name__}"
        assert got == msg, f"echo differs ({len(got)} vs {len(msg)} items)"


def mixed_text(nbytes):
    """UTF-8 text of exactly nbytes bytes, 1-, 2-, 3- and 4-byte characters."""
    unit = "a\u00e9\u20ac\U0001F600"  # 1+2+3+4 bytes
    s = unit * (nbytes // 10) + "a" * (nbytes % 10)
    assert len(s.encode()) == nbytes
    return s


async def fragmented(url, ctx, parts):
    async with connect(url, ctx) as ws:
        await ws.send(parts)
        got = await asyncio.wait_for(ws.recv(), 20)
        want = ("" if isinstance(parts[0], str) else b"").join(parts)
        assert type(got) is type(want) and got == want, f"got {got[:60]!r}"


async def pings(url, ctx):
    async with connect(url, ctx) as ws:
        for payload in (b"", b"x", bytes(range(125)), "ping text"):
            waiter = await ws.ping(payload)
            await asyncio.wait_for(waiter, 5)
        # several outstanding pings, then a message: all answered
        waiters = [await ws.ping(bytes([i]) * 8) for i in range(10)]
        await asyncio.wait_for(asyncio.gather(*waiters), 5)
        await ws.send("after pings")
        assert await asyncio.wait_for(ws.recv(), 5) == "after pings"


async def close_with(url, ctx, code, reason):
    ws = await connect(url, ctx)
    await ws.send("before close")
    assert await asyncio.wait_for(ws.recv(), 5) == "before close"
    t0 = time.monotonic()
    await ws.close(code, reason)
    took = time.monotonic() - t0
    assert ws.close_rcvd is not None, "no close frame from the server"
    assert ws.close_code == code, f"server echoed close code {ws.close_code}, sent {code}"
    # websockets waits close_timeout (5 s) for the server to drop TCP first
    assert took < 3, f"close took {took:.1f} s: server did not close TCP promptly"


async def ordered(url, ctx):
    async with connect(url, ctx) as ws:
        msgs = [f"m{i} \u00fc" if i % 2 else os.urandom(i % 300) for i in range(200)]
        for m in msgs:
            await ws.send(m)
        for i, m in enumerate(msgs):
            got = await asyncio.wait_for(ws.recv(), 10)
            assert type(got) is type(m) and got == m, f"message {i} out of order or wrong"


async def concurrent(url, ctx, n=50):
    async def one(i):
        async with connect(url, ctx) as ws:
            for j in range(20):
                m = f"client {i} msg {j} \u2603" if j % 2 else os.urandom(1 + (i * j) % 700)
                await ws.send(m)
                got = await asyncio.wait_for(ws.recv(), 20)
                assert type(got) is type(m) and got == m, f"client {i} msg {j} wrong"
            await ws.close(1000)
            assert ws.close_code == 1000, f"client {i}: close code {ws.close_code}"
    await asyncio.gather(*(one(i) for i in range(n)))


async def any_path(url, ctx):
    for path in ("/", "/ws", "/some/path?x=1&y=%20z"):
        await roundtrip(url + path, ctx, "path " + path)


def matrix(r, label, url, ctx):
    c = lambda name, fn, *a: r.case(f"{label}: {name}", fn, *a)  # noqa: E731
    c("small text", roundtrip, url, ctx, "hello, echo")
    c("empty text", roundtrip, url, ctx, "")
    c("utf-8 4-byte chars", roundtrip, url, ctx, "\U0001F600 \U0001D11E \U00010348 \u00e9\u20ac \U0010FFFF")
    c("binary all byte values", roundtrip, url, ctx, bytes(range(256)) * 4)
    c("empty binary", roundtrip, url, ctx, b"")
    c("text+binary of 125..65537 bytes", _sizes, url, ctx)
    c("1 MiB text", roundtrip, url, ctx, mixed_text(MIB))
    c("1 MiB binary", roundtrip, url, ctx, random.randbytes(MIB))
    c("fragmented text", fragmented, url, ctx, ["frag", "men", "", "ted \U0001F600"])
    c("fragmented binary", fragmented, url, ctx, [b"\x00\x01", b"", b"\xff" * 300, b"end"])
    c("100 one-char fragments", fragmented, url, ctx, list("\u00e9" * 100))
    c("fragmented 1 MiB binary", fragmented, url, ctx, [random.randbytes(64 * 1024) for _ in range(16)])
    c("pings answered", pings, url, ctx)
    for code, reason in ((1000, ""), (1000, "normal bye"), (3000, "app"), (4000, "\u00e9t\u00e9"), (4999, "")):
        c(f"close {code} {reason!r} echoed", close_with, url, ctx, code, reason)
    c("200 pipelined messages in order", ordered, url, ctx)
    c("any path accepted", any_path, url, ctx)
    c("50 concurrent clients", concurrent, url, ctx, 50)


async def _sizes(url, ctx):
    async with connect(url, ctx) as ws:
        for n in (125, 126, 127, 128, 65535, 65536, 65537):
            for m in ("t" * n, bytes([n & 0xFF]) * n):
                await ws.send(m)
                got = await asyncio.wait_for(ws.recv(), 10)
                assert type(got) is type(m) and got == m, f"size {n} wrong"


def stop_with_open_connection(r, label, proc, url, ctx, sig):
    """The server exits 0 on the signal even with a client still connected
    (the client stays responsive, so a close handshake can complete)."""
    async def run():
        ws = await connect(url, ctx)
        try:
            await asyncio.get_running_loop().run_in_executor(None, h.stop, proc, 5.0, sig)
        finally:
            ws.transport.abort()
    r.case(f"{label}: exits 0 on {signal.Signals(sig).name} with a client open", run)


def main():
    r = h.Runner("echo-python")
    certs = h.make_certs()
    plain = tls = None
    try:
        plain, url = h.start(h.echo_cmd())
        assert url.startswith("ws://127.0.0.1:"), url
        tls, surl = h.start(h.echo_cmd(certs=certs))
        r.server = plain
        r.case("tls: listening line says wss://", h.check,
               surl.startswith("wss://127.0.0.1:"), surl)
        ctx = h.client_ssl_context(certs)
        matrix(r, "plain", url, None)
        matrix(r, "tls", surl, ctx)
        r.case("plain: server still running", h.check, h.alive(plain), "server exited")
        stop_with_open_connection(r, "plain", plain, url, None, signal.SIGTERM)
        r.server = tls
        stop_with_open_connection(r, "tls", tls, surl, ctx, signal.SIGINT)
    finally:
        for p in (plain, tls):
            if p is not None and h.alive(p):
                h._kill(p)
        shutil.rmtree(certs["dir"], ignore_errors=True)
    return r.summary()


if __name__ == "__main__":
    sys.exit(main())
