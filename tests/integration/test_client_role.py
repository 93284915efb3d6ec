#!/usr/bin/python3
"""libcollab's WebSocket client role (tests/integration/it_client_role.c)
against an independent server: Python's `websockets` echo server on
127.0.0.1 port 0, plain and over TLS with a throwaway CA.

The server side checks what the client sends: every frame masked (the
library refuses unmasked client frames), the Origin header, the offered
subprotocol; it echoes each message with its type. Prints `N passed,
N failed`.
"""
import asyncio
import os
import shutil
import ssl
import sys

import websockets

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import helpers as h  # noqa: E402

PROG = os.path.join(h.ASAN_BIN, "it_client_role")
SEEN = []


async def echo(ws, *_):
    SEEN.append((ws.path, ws.request_headers.get("Origin"), ws.subprotocol))
    async for msg in ws:
        await ws.send(msg)


async def run_client(args, timeout=60):
    p = await asyncio.create_subprocess_exec(PROG, *args, stderr=asyncio.subprocess.PIPE)
    try:
        _, err = await asyncio.wait_for(p.communicate(), timeout)
    except asyncio.TimeoutError:
        p.kill()
        await p.wait()
        raise AssertionError("it_client_role did not finish in time")
    text = err.decode("utf-8", "replace")
    if p.returncode != 0:
        raise AssertionError(f"it_client_role exited {p.returncode}:\n{text}")
    return text


async def against(ssl_ctx, client_args, scheme, host="127.0.0.1", protos=None):
    SEEN.clear()
    async with websockets.serve(echo, "127.0.0.1", 0, ssl=ssl_ctx, max_size=16 << 20,
                                subprotocols=protos, ping_interval=None) as srv:
        port = srv.sockets[0].getsockname()[1]
        url = f"{scheme}://{host}:{port}/ws?tenantId=t&urlId=u%20x"
        out = await run_client([url, *client_args])
    h.check("all 7 steps passed" in out, out)
    h.check(len(SEEN) == 1, f"connections seen: {SEEN}")
    return SEEN[0]


def main():
    r = h.Runner("client-role")
    if not os.access(PROG, os.X_OK):
        print(f"FAIL: {PROG} not built")
        return 1
    certs = h.make_certs()
    try:
        sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        sctx.load_cert_chain(certs["cert"], certs["key"])

        async def plain():
            path, origin, proto = await against(None, ["--origin", "http://example.test"], "ws")
            h.check(path == "/ws?tenantId=t&urlId=u%20x", f"path {path!r}")
            h.check(origin == "http://example.test", f"origin {origin!r}")
            h.check(proto is None, f"subprotocol {proto!r}")

        async def plain_proto():
            _, _, proto = await against(None, ["--protocol", "collab.v1"], "ws",
                                        protos=["collab.v1"])
            h.check(proto == "collab.v1", f"subprotocol {proto!r}")

        async def tls_ip():
            await against(sctx, ["--ca", certs["ca"]], "wss")

        async def tls_name():
            await against(sctx, ["--ca", certs["ca"], "--protocol", "collab.v1"], "wss",
                          host="localhost", protos=["collab.v1"])

        async def tls_untrusted():
            other = h.make_certs()
            try:
                async with websockets.serve(echo, "127.0.0.1", 0, ssl=sctx) as srv:
                    port = srv.sockets[0].getsockname()[1]
                    p = await asyncio.create_subprocess_exec(
                        PROG, f"wss://127.0.0.1:{port}/", "--ca", other["ca"],
                        stderr=asyncio.subprocess.PIPE)
                    _, err = await asyncio.wait_for(p.communicate(), 30)
                    h.check(p.returncode == 1, f"exit {p.returncode}")
                    h.check(b"closed before the script ended" in err or b"closed:" in err,
                            err.decode())
            finally:
                shutil.rmtree(other["dir"], ignore_errors=True)

        r.case("plain ws:// against websockets", plain)
        r.case("plain, subprotocol collab.v1 selected", plain_proto)
        r.case("wss:// to 127.0.0.1 (IP SAN) against websockets", tls_ip)
        r.case("wss:// to localhost (SNI) with subprotocol", tls_name)
        r.case("wss:// with an untrusted CA fails cleanly", tls_untrusted)
    finally:
        shutil.rmtree(certs["dir"], ignore_errors=True)
    return r.summary()


if __name__ == "__main__":
    sys.exit(main())
