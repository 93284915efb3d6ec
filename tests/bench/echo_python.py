#!/usr/bin/python3
"""Stand-in WebSocket echo server on Python's websockets (Debian 10.4).

Same command line and output as collab-echo (PROTOCOL.md section 10), so the
integration tests (ECHO_CMD) and tests/bench/echo_bench.py treat them alike:

    /usr/bin/python3 tests/bench/echo_python.py --listen 127.0.0.1:0 \
        [--tls-cert PEM --tls-key PEM] [--max-size BYTES]

Prints `listening ws://HOST:PORT` (or wss://) as its first stdout line, echoes
every message with its type, exits 0 on SIGINT/SIGTERM. Test/bench only.
"""
import argparse
import asyncio
import signal
import ssl
import sys

import websockets


async def echo(ws, _path=None):
    try:
        async for msg in ws:
            await ws.send(msg)
    except websockets.ConnectionClosed:
        pass


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True, help="ADDR:PORT (port 0: any)")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--max-size", type=int, default=16 << 20)
    a = ap.parse_args()
    host, _, port = a.listen.rpartition(":")
    ctx = None
    if a.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(
            sig, lambda: stop.done() or stop.set_result(None))
    # No compression and no keepalive pings: collab-echo offers neither.
    async with websockets.serve(echo, host, int(port), ssl=ctx,
                                max_size=a.max_size, compression=None,
                                ping_interval=None, max_queue=64,
                                close_timeout=1) as server:
        bound = server.sockets[0].getsockname()[1]
        scheme = "wss" if ctx else "ws"
        print(f"listening {scheme}://127.0.0.1:{bound}", flush=True)
        await stop
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
