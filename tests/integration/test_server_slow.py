#!/usr/bin/python3
"""collab-server: slow consumers (PROTOCOL.md section 6, close 1013). A raw
client that never reads, with --queue-limit 65536, while another floods
operations: the slow one is closed 1013 (its close frame may not be readable
when its buffers are full; the TCP connection must be dropped), the server
logs it, and the other clients see every event. A snapshot larger than the
queue limit to a client that reads slowly is not a slow consumer.

Runs `$ASAN_BIN/collab-server --queue-limit 65536` (or SERVER_CMD) on port 0.
Prints `N passed, N failed`.
"""
import asyncio
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
import helpers as h  # noqa: E402
import server_helpers as sh  # noqa: E402
from server_helpers import Client, RawClient, add_comment, check, eq, metric, new_chat  # noqa: E402

SL = "sl"


def connections(srv):
    return metric(srv.metrics(), "collab_connections", tenant=SL) or 0.0


async def slow_consumer(srv):
    room = "slow-room"
    loop = asyncio.get_running_loop()
    log0 = len(srv.log)

    def make_slow():
        s = RawClient(srv, SL, room, rcvbuf=4096)
        s.hello(srv.token(SL, "sleeper"))
        return s
    slow = await loop.run_in_executor(None, make_slow)
    w = await Client.open(srv, SL, room, user="watcher")
    f = await Client.open(srv, SL, room, user="flooder")
    eq(await loop.run_in_executor(None, connections, srv), 3.0, "connections before the flood")
    op = new_chat("flood target")
    await f.ok(op)
    chat = op["chat"]["id"]
    sent = 0
    dropped = False
    t_flood = time.monotonic()
    # waves of 8 events of ~1 KiB: one loop turn's output (~9 KiB) stays far
    # below the queue limit, so readers that keep up are never over it; the
    # sleeper's queue grows by a wave each time until it is
    while sent < 8000 and not dropped:
        ops = [add_comment(chat, "%05d " % (sent + i) + "f" * 1000) for i in range(8)]
        for o in ops:
            await f.send(o)
        for o in ops:
            got = await f.answer(o["broadcastId"], timeout=30)
            check(got["type"] != "error", f"flood op rejected: {sh.short(got)}")
        sent += len(ops)
        if sent % 200 == 0:
            dropped = await loop.run_in_executor(None, connections, srv) == 2.0
    t_drop = time.monotonic()
    if not dropped:
        deadline = time.monotonic() + 10
        while not dropped and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            dropped = await loop.run_in_executor(None, connections, srv) == 2.0
    check(dropped, f"the slow consumer was not dropped after {sent} events of ~1 KiB "
          f"({time.monotonic() - t_flood:.1f} s)")

    # its socket: some data, perhaps the close frame (1013), then EOF/RST
    def drain():
        s = slow.ws
        deadline = time.monotonic() + 10
        close_code = None
        while True:
            try:
                fr = s.recv_frame(max(0.01, deadline - time.monotonic()))
            except h.ServerClosedTCP:
                return close_code, True
            except socket.timeout:
                return close_code, False
            except AssertionError as e:  # a frame cut short by a reset
                return close_code, "reset" in str(e) or True
            if fr.opcode == h.OP_CLOSE:
                close_code = fr.close_code()
    code, eof = await loop.run_in_executor(None, drain)
    check(eof, "the slow consumer's TCP connection was not dropped")
    check(code in (None, 1013), f"slow consumer closed with {code}, expected 1013")
    if code is None:
        print("# note: the 1013 close frame was not readable (buffers full); TCP was dropped", flush=True)
    slow.ws.close_socket()
    # the log says so
    await asyncio.sleep(0.3)
    text = "\n".join(srv.log[log0:]).lower()
    check("slow" in text or "1013" in text, "no log line about the slow consumer")
    # the others saw everything, in order
    final = f.seq
    await w.catch_up(final, 30)
    c = await Client.open(srv, SL, room, label="fresh")
    eq(c.welcome["seq"], final, "room seq")
    eq(w.model.as_list(), c.snapshot_chats(), "watcher state")
    eq(len(c.snapshot_chats()[0]["comments"]), sent + 1, "comments")
    await f.ok(add_comment(chat, "still working"))
    await w.catch_up(final + 1)
    # discarded messages still count
    u = (await loop.run_in_executor(None, srv.usage_of, SL))["pubSubMessageCount"]
    check(u >= len(w.messages) + len(f.messages) + slow.msgs, f"usage {u} below what was delivered")
    print(f"# flood: {sent} events, dropped after {t_drop - t_flood:.1f} s", flush=True)
    for x in (w, f, c):
        await x.close()


async def slow_snapshot(srv):
    """A snapshot several times the queue limit, read slowly, is delivered
    whole: snapshot messages do not count toward the limit."""
    room = "big-snapshot"
    wr = await Client.open(srv, SL, room, user="writer")
    for i in range(60):
        await wr.ok(new_chat("%02d " % i + "s" * 4000))  # ~250 KiB of chats
    loop = asyncio.get_running_loop()

    def slow_reader():
        s = RawClient(srv, SL, room, rcvbuf=4096)
        s.send({"type": "hello", "token": srv.token(SL, "slow-reader")})
        time.sleep(1.5)  # let the server meet a full socket
        got = []
        while True:
            m = s.recv(10)
            got.append(m)
            if m["type"] == "synced":
                break
            time.sleep(0.02)
        return s, got
    s, got = await loop.run_in_executor(None, slow_reader)
    snaps = [m for m in got if m["type"] == "snapshot"]
    eq(sum(len(x["chats"]) for x in snaps), 60, "chats in the snapshot")
    # still live: an event arrives
    op = new_chat("after the snapshot")
    await wr.ok(op)

    def next_event():
        while True:
            m = s.recv(5)
            if m["type"] != "user-count":
                return m
    ev = await loop.run_in_executor(None, next_event)
    eq(ev["broadcastId"], op["broadcastId"], "live event after a slow snapshot")
    s.ws.close_socket()
    await wr.close()


def main():
    srv = sh.Server([sh.tenant(SL, maxCommentsPerChat=100000, **sh.FAST)], ["--queue-limit", "65536"])
    r = h.Runner("server-slow", against=sh.server_name())
    r.server = srv.proc
    try:
        r.case("slow consumer: 1013 / TCP dropped, others unaffected", slow_consumer, srv)
        r.case("a big snapshot read slowly is not a slow consumer", slow_snapshot, srv)
        r.case("server exits 0 on SIGTERM", srv.stop)
    finally:
        srv.kill()
    return r.summary()


if __name__ == "__main__":
    sys.exit(main())
