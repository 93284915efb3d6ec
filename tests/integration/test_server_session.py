#!/usr/bin/python3
"""collab-server: session start (PROTOCOL.md section 3), tokens (section 7)
and resync (section 8 / issue 5): hello timeout 4408, every 4400 case,
anonymous policy, each token failure (4401) and scope failure (4403), the
exact welcome, snapshot and synced messages, replay versus snapshot on
reconnect, snapshots split past 64 KiB.

Runs `$ASAN_BIN/collab-server --hello-timeout-ms 500 --ring-size 5` (or
SERVER_CMD) on port 0. Prints `N passed, N failed`.
"""
import asyncio
import hashlib
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
import helpers as h  # noqa: E402
import server_helpers as sh  # noqa: E402
from server_helpers import (Client, add_comment, check, claims_for, delete_chat,  # noqa: E402
                            delete_comment, dumps, edit_comment, eq, jwt, new_chat,
                            resolve, uid)

S = "s"          # anonymous "read", limits raised
CLOSED = "closed"  # anonymous "none"
OTHER = "other"
ROOM_N = [0]


def room(prefix="room"):
    ROOM_N[0] += 1
    return f"page/{prefix}/{ROOM_N[0]}/{uid()}"


async def closes_with(srv, tenant, url_id, first_message, codes):
    """Connect, send first_message (str, bytes or object; None: nothing),
    and expect a close with one of codes before any welcome."""
    ws = await sh.ws_connect(srv.url(tenant, url_id))
    c = Client(ws, "probe")
    if first_message is not None:
        await c.send(first_message)
    try:
        code = await c.expect_close(codes, timeout=6)
    finally:
        c.abort()
    check(not any(m.get("type") == "welcome" for m in c.messages),
          f"got a welcome before the close: {sh.short(c.messages)}")
    return code


async def hello_timeout(srv):
    t0 = time.monotonic()
    await closes_with(srv, S, room("timeout"), None, 4408)
    took = time.monotonic() - t0
    check(took >= 0.3, f"closed 4408 after {took:.2f} s, before the 500 ms hello timeout")


BAD_HELLOS = [
    ("not JSON", "hello"),
    ("truncated JSON", '{"type":"hello"'),
    ("JSON array", '[{"type":"hello"}]'),
    ("JSON string", '"hello"'),
    ("JSON number", "42"),
    ("JSON null", "null"),
    ("empty object", {}),
    ("other type", {"type": "welcome"}),
    ("an operation first", None),  # filled in below
    ("type null", {"type": None}),
    ("type a number", {"type": 1}),
    ("type HELLO", {"type": "HELLO"}),
    ("token null", {"type": "hello", "token": None}),
    ("token a number", {"type": "hello", "token": 12345}),
    ("token an object", {"type": "hello", "token": {}}),
    ("since negative", {"type": "hello", "since": -1, "epoch": "e"}),
    ("since a string", {"type": "hello", "since": "5", "epoch": "e"}),
    ("since a fraction", {"type": "hello", "since": 1.5, "epoch": "e"}),
    ("since null", {"type": "hello", "since": None, "epoch": "e"}),
    ("since without epoch", {"type": "hello", "since": 3}),
    ("epoch without since", {"type": "hello", "epoch": "e"}),
    ("epoch null", {"type": "hello", "since": 3, "epoch": None}),
    ("epoch a number", {"type": "hello", "since": 3, "epoch": 7}),
    ("epoch null without since", {"type": "hello", "epoch": None}),
]


async def bad_hellos(srv):
    failures = []
    for label, msg in BAD_HELLOS:
        if msg is None:
            msg = new_chat("before hello")
        try:
            await closes_with(srv, S, room("bad-hello"), msg, 4400)
        except AssertionError as e:
            failures.append(f"{label}: {e}")
    check(not failures, f"{len(failures)} cases:\n  " + "\n  ".join(failures))


async def binary_hello(srv):
    await closes_with(srv, S, room("binary"), b'{"type":"hello"}', 1003)


async def hello_extra_fields(srv):
    c = await Client.open(srv, S, room("extra"), hello=False)
    w = await c.hello(extra={"client": "test", "version": 3, "nested": {"a": [1]}})
    eq(w["user"], None, "anonymous")
    await c.close()


async def anonymous(srv):
    r = room("anon")
    a = await Client.open(srv, S, r)
    eq(a.welcome["user"], None, "anonymous welcome user")
    eq(a.welcome["count"], 1, "count")
    b = await Client.open(srv, S, r)
    eq(b.welcome["count"], 2, "each anonymous connection counts")
    await a.close()
    await b.close()
    await closes_with(srv, CLOSED, room("anon-none"), {"type": "hello"}, 4401)
    c = await Client.open(srv, CLOSED, room("anon-none"), user="u1")
    eq(c.welcome["user"]["id"], "u1", "with a token")
    await c.close()


def token_cases(srv):
    """(label, token, expected close code or None for accepted)."""
    sec = srv.secret(S)
    now = int(time.time())
    good = claims_for(S, "u1")
    out = []

    def add(label, tok, code):
        out.append((label, tok, code))

    def claims(**kw):
        c = dict(good)
        for k, v in kw.items():
            if v is KeyError:
                c.pop(k, None)
            else:
                c[k] = v
        return c

    add("valid token", jwt(sec, good), None)
    add("expired 120 s ago", jwt(sec, claims(exp=now - 120)), 4401)
    add("expired 45 s ago (beyond the 30 s leeway)", jwt(sec, claims(exp=now - 45)), 4401)
    add("expired 10 s ago (within the leeway)", jwt(sec, claims(exp=now - 10)), None)
    tok = jwt(sec, good)
    sig = tok.rsplit(".", 1)[1]
    flipped = ("A" if sig[0] != "A" else "B") + sig[1:]
    add("bad signature (one character changed)", tok.rsplit(".", 1)[0] + "." + flipped, 4401)
    add("signature of another secret", jwt(sec + "x", good), 4401)
    add("signed with another tenant's secret", jwt(srv.secret(OTHER), good), 4401)
    add("empty signature", tok.rsplit(".", 1)[0] + ".", 4401)
    add("truncated signature", tok[:-4], 4401)
    add("payload changed after signing",
        tok.split(".")[0] + "." + sh.b64u(dumps(claims(sub="admin"))) + "." + sig, 4401)
    add("alg none, no signature", jwt(sec, good, header={"alg": "none", "typ": "JWT"}, signature=""), 4401)
    add("alg none, HMAC signature", jwt(sec, good, header={"alg": "none"}), 4401)
    add("alg HS384", jwt(sec, good, header={"alg": "HS384", "typ": "JWT"}, alg=hashlib.sha384), 4401)
    add("alg HS512", jwt(sec, good, header={"alg": "HS512"}, alg=hashlib.sha512), 4401)
    add("alg hs256 (lowercase)", jwt(sec, good, header={"alg": "hs256"}), 4401)
    add("alg RS256", jwt(sec, good, header={"alg": "RS256"}), 4401)
    add("alg missing", jwt(sec, good, header={"typ": "JWT"}), 4401)
    add("alg null", jwt(sec, good, header={"alg": None}), 4401)
    add("header without typ", jwt(sec, good, header={"alg": "HS256"}), None)
    add("header with kid", jwt(sec, good, header={"alg": "HS256", "typ": "JWT", "kid": "k1"}), None)
    add("header extra member", jwt(sec, good, header={"alg": "HS256", "typ": "JWT", "x": 1}), 4401)
    add("header cty member", jwt(sec, good, header={"alg": "HS256", "cty": "JWT"}), 4401)
    add("header typ a number", jwt(sec, good, header={"alg": "HS256", "typ": 1}), 4401)
    add("header kid a number", jwt(sec, good, header={"alg": "HS256", "kid": 5}), 4401)
    add("header not JSON", jwt(sec, good, raw_header="{alg:HS256}"), 4401)
    add("header an array", jwt(sec, good, raw_header='["HS256"]'), 4401)
    add("claims not JSON", jwt(sec, good, raw_claims="{sub:u1}"), 4401)
    add("claims an array", jwt(sec, good, raw_claims='["u1"]'), 4401)
    add("not a JWT", "not-a-token", 4401)
    add("empty token", "", 4401)
    add("two segments", tok.rsplit(".", 1)[0], 4401)
    add("four segments", tok + ".x", 4401)
    add("sub missing", jwt(sec, claims(sub=KeyError)), 4401)
    add("tenantId missing", jwt(sec, claims(tenantId=KeyError)), 4401)
    add("exp missing", jwt(sec, claims(exp=KeyError)), 4401)
    add("sub a number", jwt(sec, claims(sub=12)), 4401)
    add("sub null", jwt(sec, claims(sub=None)), 4401)
    add("sub empty", jwt(sec, claims(sub="")), 4401)
    add("sub 129 bytes", jwt(sec, claims(sub="s" * 129)), 4401)
    add("sub 128 bytes", jwt(sec, claims(sub="s" * 128)), None)
    add("tenantId a number", jwt(sec, claims(tenantId=1)), 4401)
    add("exp a string", jwt(sec, claims(exp=str(now + 3600))), 4401)
    add("exp null", jwt(sec, claims(exp=None)), 4401)
    add("name a number", jwt(sec, claims(name=5)), 4401)
    add("name 129 bytes", jwt(sec, claims(name="n" * 129)), 4401)
    add("name 128 bytes", jwt(sec, claims(name="n" * 128)), None)
    add("moderator a string", jwt(sec, claims(moderator="true")), 4401)
    add("moderator a number", jwt(sec, claims(moderator=1)), 4401)
    add("urlIds a string", jwt(sec, claims(urlIds="page")), 4401)
    add("urlIds with a number", jwt(sec, claims(urlIds=[1])), 4401)
    add("claims outside the table ignored (nbf, iat, aud, iss)",
        jwt(sec, claims(nbf=now + 3600, iat=now + 3600, aud="elsewhere", iss="x", jti=1)), None)
    add("tenantId of another tenant", jwt(sec, claims(tenantId=OTHER)), 4403)
    add("urlIds excluding the page", jwt(sec, claims(urlIds=["other-page", "x"])), 4403)
    add("urlIds empty", jwt(sec, claims(urlIds=[])), 4403)
    return out


async def tokens(srv):
    failures = []
    for label, tok, code in token_cases(srv):
        r = room("token")
        try:
            if code is None:
                c = await Client.open(srv, S, r, token=tok)
                check(c.welcome["user"] is not None, "user in welcome")
                await c.close()
            else:
                await closes_with(srv, S, r, {"type": "hello", "token": tok}, code)
        except AssertionError as e:
            failures.append(f"{label}: {e}")
    check(not failures, f"{len(failures)} cases:\n  " + "\n  ".join(failures))


async def url_ids(srv):
    r = room("urlids")
    tok = srv.token(S, "u1", url_ids=["elsewhere", r])
    c = await Client.open(srv, S, r, token=tok)
    eq(c.welcome["user"]["id"], "u1", "urlIds including the page")
    await c.close()
    # the same token on another page of the tenant
    await closes_with(srv, S, room("urlids-other"), {"type": "hello", "token": tok}, 4403)
    # a token is checked against the URL's tenant: tenant OTHER's token on S
    otok = srv.token(OTHER, "u1")
    await closes_with(srv, S, r, {"type": "hello", "token": otok}, 4401)


async def welcome_exact(srv):
    r = room("welcome")
    a = await Client.open(srv, S, r, user="u1", name="Ann")
    w = a.welcome
    eq(w["user"], {"id": "u1", "name": "Ann", "moderator": False}, "user")
    eq(w["seq"], 0, "a fresh room's seq")
    eq(w["count"], 1, "count")
    eq(w["resync"], "snapshot", "resync")
    eq(a.snapshots, [{"type": "snapshot", "seq": 0, "reset": True, "chats": []}], "snapshot of a fresh room")
    eq(sh.loads(a.raw[1]), a.snapshots[0], "snapshot")
    eq(sh.loads(a.raw[2]), {"type": "synced", "seq": 0}, "synced")
    b = await Client.open(srv, S, r, user="u2", moderator=True)
    eq(b.welcome["user"], {"id": "u2", "name": "u2", "moderator": True}, "name falls back to sub; moderator")
    eq(b.welcome["count"], 2, "count with this connection")
    c = await Client.open(srv, S, room("welcome-2"), user="u3", moderator=False)
    eq(c.welcome["user"]["moderator"], False, "moderator false")
    ids = {a.welcome["connectionId"], b.welcome["connectionId"], c.welcome["connectionId"]}
    eq(len(ids), 3, "connectionIds are distinct")
    eq(len({a.welcome["epoch"], b.welcome["epoch"], c.welcome["epoch"]}), 1, "one epoch per server")
    # an event, then a newcomer: seq 1
    op = new_chat("x")
    await a.ok(op)
    d = await Client.open(srv, S, r)
    eq(d.welcome["seq"], 1, "seq after the first event")
    eq(d.welcome["count"], 3, "count")
    eq(len(d.snapshots[0]["chats"]), 1, "snapshot chat")
    for x in (a, b, c, d):
        await x.close()


async def write_n(c, n, chat=None):
    """n accepted operations from c; returns their events."""
    evs = []
    for i in range(n):
        if chat is None or i % 3 == 0:
            op = new_chat(f"{c.name} {i}")
            chat = op["chat"]["id"]
        else:
            op = add_comment(chat, f"{c.name} {i}")
        evs.append(await c.ok(op))
    return evs


async def resync_replay(srv):
    r = room("replay")
    a = await Client.open(srv, S, r, user="reader")
    b = await Client.open(srv, S, r, user="writer")
    await write_n(b, 2)
    await a.catch_up(b.seq)
    a.abort()  # TCP cut, no close
    missed = await write_n(b, 3)
    a2 = await Client.open(srv, S, r, user="reader", resume=a, label="reader-again")
    eq(a2.welcome["resync"], "replay", "resync")
    eq(a2.welcome["seq"], missed[-1]["seq"], "welcome seq")
    eq(a2.replayed, missed, "replayed events are exactly the missed events")
    chats, seq = await fresh(srv, r)
    eq(a2.model.as_list(), chats, "state after replay")
    # since == seq: replay of nothing
    a2.abort()
    a3 = await Client.open(srv, S, r, user="reader", resume=a2, label="reader-3")
    eq((a3.welcome["resync"], a3.replayed), ("replay", []), "since == seq")
    # live events continue after synced, no gap
    ev = (await write_n(b, 1))[0]
    got = await a3.next()
    eq(got, ev, "live event after a resume")
    for x in (a3, b):
        await x.close()


async def fresh(srv, r, tenant=S):
    c = await Client.open(srv, tenant, r, label="fresh")
    try:
        return c.snapshot_chats(), c.welcome["seq"]
    finally:
        await c.close()


async def resync_snapshot_cases(srv):
    r = room("snapcases")
    b = await Client.open(srv, S, r, user="writer")
    await write_n(b, 3)
    epoch = b.welcome["epoch"]
    # since greater than the room's seq
    c = await Client.open(srv, S, r, user="reader", since=b.seq + 1, epoch=epoch)
    eq(c.welcome["resync"], "snapshot", "since > seq")
    eq(c.snapshot_chats(), b.model.as_list(), "snapshot")
    await c.close()
    # another epoch
    c = await Client.open(srv, S, r, user="reader", since=1, epoch="not-" + epoch)
    eq(c.welcome["resync"], "snapshot", "other epoch")
    eq(c.snapshot_chats(), b.model.as_list(), "snapshot")
    await c.close()
    c = await Client.open(srv, S, r, user="reader", since=0, epoch="")
    eq(c.welcome["resync"], "snapshot", "empty epoch")
    await c.close()
    # since 0 in this epoch with every event held (3 <= ring 5): replay of all
    c = await Client.open(srv, S, r, user="reader", since=0, epoch=epoch)
    eq(c.welcome["resync"], "replay", "since 0, all 3 events held")
    eq([e["seq"] for e in c.replayed], [1, 2, 3], "replayed")
    await c.close()
    await b.close()


async def resync_ring(srv):
    """--ring-size 5: a resume missing more than 5 events gets a snapshot,
    unless the server still holds them (a journal may): then a replay of
    exactly the missed events."""
    r = room("ring")
    a = await Client.open(srv, S, r, user="reader")
    b = await Client.open(srv, S, r, user="writer")
    await write_n(b, 2)
    await a.catch_up(b.seq)
    a.abort()
    missed = await write_n(b, 8)
    a2 = await Client.open(srv, S, r, user="reader", resume=a, label="reader-again")
    chats, seq = await fresh(srv, r)
    if a2.welcome["resync"] == "replay":
        print("# note: ring 5 resume of 8 missed events answered by replay (journal)", flush=True)
        eq(a2.replayed, missed, "replayed")
    else:
        eq(a2.snapshot_chats(), chats, "snapshot")
    eq(a2.model.as_list(), chats, "state after resync")
    # the ring still serves recent resumes
    a2.abort()
    await write_n(b, 2)
    a3 = await Client.open(srv, S, r, user="reader", resume=a2, label="reader-3")
    eq(a3.welcome["resync"], "replay", "2 missed events with ring 5")
    eq(len(a3.replayed), 2, "replayed")
    await a3.close()
    await b.close()


async def resync_while_writing(srv):
    """Events that happen during a resync come after synced, no gap, no
    duplicate: a reconnecting client converges while another writes."""
    r = room("busy")
    b = await Client.open(srv, S, r, user="writer")
    await write_n(b, 4)
    a = await Client.open(srv, S, r, user="reader")
    a.abort()
    chat = new_chat("busy chat")
    await b.ok(chat)
    ops = [add_comment(chat["chat"]["id"], f"busy {i}") for i in range(150)]

    async def writer():
        for i, o in enumerate(ops):
            await b.send(o)
            if i % 10 == 0:
                await asyncio.sleep(0.002)
        for o in ops:
            x = await b.answer(o["broadcastId"], timeout=20)
            check(x["type"] != "error", f"rejected: {x}")

    async def readers():
        out = []
        for i in range(4):
            await asyncio.sleep(0.01 * i)
            out.append(await Client.open(srv, S, r, user=f"late{i}", label=f"late{i}"))
        resumed = await Client.open(srv, S, r, user="reader", resume=a, label="resumed")
        return out + [resumed]
    _, late = await asyncio.gather(writer(), readers())
    final = b.seq
    chats, seq = await fresh(srv, r)
    eq(seq, final, "room seq")
    for c in late:
        await c.catch_up(final, 20)
        eq(c.model.as_list(), chats, f"{c.name} converged")
        await c.close()
    await b.close()


async def snapshot_split(srv):
    r = room("split")
    b = await Client.open(srv, S, r, user="writer", name="W")
    m = await Client.open(srv, S, r, user="mod", moderator=True)
    order = []
    for i in range(40):
        op = new_chat(("%02d " % i) + "t" * 3990, anchor={"i": i})
        await b.ok(op)
        order.append(op["chat"]["id"])
        if i % 5 == 0:
            c1 = add_comment(op["chat"]["id"], "second comment")
            await m.ok(c1)
            await b.ok(add_comment(op["chat"]["id"], "third comment"))
        if i % 7 == 3:
            await b.ok(edit_comment(op["chat"]["id"], op["chat"]["comment"]["id"], "edited %d" % i))
        if i % 9 == 4:
            await b.ok(resolve(op["chat"]["id"]))
    await b.ok(delete_chat(order[1]))
    await m.ok(delete_comment(order[0], b.model.chats[order[0]]["comments"][1]["id"]))
    order.remove(order[1])
    # one chat larger than 64 KiB by itself
    big = new_chat("big " + "b" * 4000)
    await b.ok(big)
    for i in range(18):
        await b.ok(add_comment(big["chat"]["id"], ("%02d " % i) + "c" * 4000))
    order.append(big["chat"]["id"])
    last = new_chat("after the big one")
    await b.ok(last)
    order.append(last["chat"]["id"])

    c = await Client.open(srv, S, r, label="snap")
    snaps = c.snapshots
    check(len(snaps) >= 3, f"{len(snaps)} snapshot messages for ~250 KiB of chats")
    eq([x["id"] for x in c.snapshot_chats()], order, "chats in creation order")
    eq(c.snapshot_chats(), b.model.as_list(), "snapshot equals the state built from events")
    for i, s in enumerate(snaps):
        raw = c.raw[1 + i]
        eq(sh.loads(raw), s, "raw snapshot")
        body = raw[raw.index('"chats":') + len('"chats":'):-1]
        n = len(body.encode())
        if len(s["chats"]) > 1:
            check(n <= 65536 + 2, f"snapshot message {i}: {len(s['chats'])} chats in {n} bytes (> 64 KiB)")
        if big["chat"]["id"] in [x["id"] for x in s["chats"]]:
            eq(len(s["chats"]), 1, "a chat over 64 KiB goes alone in its message")
    await c.close()
    await b.close()
    await m.close()


# --------------------------------------------------------------------------
# section 2 on the server: pings, framing errors, keepalive

def frames(srv):
    ws = h.RawWS(srv.base, None, 5).connect()
    ws.handshake(srv.path(S, room("frames")))
    ws.send_frame(h.OP_PING, b"p1")
    f = ws.recv_control(5)
    eq((f.opcode, f.payload), (h.OP_PONG, b"p1"), "pong before hello")
    # a hello in three fragments with a ping between them
    msg = b'{"type":"hello"}'
    ws.send_frame(h.OP_TEXT, msg[:5], fin=False)
    ws.send_frame(h.OP_CONT, msg[5:9], fin=False)
    ws.send_frame(h.OP_PING, b"mid")
    ws.send_frame(h.OP_CONT, msg[9:], fin=True)
    f = ws.recv_control(5)
    eq((f.opcode, f.payload), (h.OP_PONG, b"mid"), "pong between fragments")
    op, data = ws.recv_message(5, controls=[])
    eq(sh.loads(data.decode())["type"], "welcome", "fragmented hello")
    ws.close_socket()
    for label, frame, code in (
            ("unmasked frame", h.build_frame(h.OP_TEXT, b'{"type":"hello"}', mask=False), 1002),
            ("reserved bit", h.build_frame(h.OP_TEXT, b'{"type":"hello"}', rsv=4), 1002),
            ("reserved opcode", h.build_frame(0x3, b"x"), 1002),
            ("continuation without start", h.build_frame(h.OP_CONT, b"x"), 1002),
            ("invalid UTF-8 text", h.build_frame(h.OP_TEXT, b'{"type":"hello\xff"}'), 1007),
            ("ping over 125 bytes", h.build_frame(h.OP_PING, b"x" * 126), 1002),
            ("fragmented ping", h.build_frame(h.OP_PING, b"x", fin=False), 1002),
            ("new message inside a fragmented one",
             h.build_frame(h.OP_TEXT, b'{"type"', fin=False) + h.build_frame(h.OP_TEXT, b"x"), 1002),
            ("close code 1005", h.build_frame(h.OP_CLOSE, h.close_payload(1005)), 1002),
            ("close code 999", h.build_frame(h.OP_CLOSE, h.close_payload(999)), 1002),
            ("close reason not UTF-8", h.build_frame(h.OP_CLOSE, h.close_payload(1000, b"\xff")), 1007),
            ("80 KiB in two fragments", h.build_frame(h.OP_TEXT, b"a" * 40000, fin=False)
             + h.build_frame(h.OP_CONT, b"a" * 40000), 1009)):
        ws = h.RawWS(srv.base, None, 5).connect()
        ws.handshake(srv.path(S, room("frames")))
        ws.try_send(frame)
        try:
            ws.expect_close(code)
        except AssertionError as e:
            raise AssertionError(f"{label}: {e}")
        finally:
            ws.close_socket()


def client_close(srv):
    """A client's close 1000 is answered with close 1000, then TCP closes."""
    ws = h.RawWS(srv.base, None, 5).connect()
    ws.handshake(srv.path(S, room("close")))
    ws.send_text('{"type":"hello"}')
    ws.send_close(1000, "bye")
    ws.expect_close(1000, reply=False, allow=(h.OP_TEXT,))
    ws.close_socket()


def no_secrets_logged(srv):
    """Logs never hold a token or a secret (issue 4)."""
    text = srv.log_text()
    for tid in (S, CLOSED, OTHER):
        check(srv.secret(tid) not in text, f"the log holds tenant {tid}'s secret")
    for label, tok, code in token_cases(srv):
        for part in tok.split("."):
            if len(part) >= 16:
                check(part not in text, f"the log holds a token ({label})")


def keepalive(srv2):
    """--ping-interval-ms 300 --idle-timeout-ms 1500: pings arrive; a client
    that answers them stays; one that sends nothing is closed 1000."""
    alive_ws = h.RawWS(srv2.base, None, 5).connect()
    alive_ws.handshake(srv2.path(S, "keepalive"))
    alive_ws.send_text('{"type":"hello"}')
    dead = h.RawWS(srv2.base, None, 5).connect()
    dead.handshake(srv2.path(S, "keepalive"))
    dead.send_text('{"type":"hello"}')
    t0 = time.monotonic()
    pings = 0
    while time.monotonic() - t0 < 3.0:
        try:
            f = alive_ws.recv_frame(0.2)
        except OSError:
            continue
        if f.opcode == h.OP_PING:
            pings += 1
            alive_ws.send_frame(h.OP_PONG, f.payload)
    check(pings >= 2, f"{pings} pings in 3 s with --ping-interval-ms 300")
    # the silent one: pings, then close 1000 and TCP closed
    code, _ = dead.expect_close(1000, timeout=6, allow=(h.OP_TEXT, h.OP_PING))
    # the answering one is still served
    alive_ws.send_frame(h.OP_PING, b"still")
    deadline = time.monotonic() + 5
    while True:
        f = alive_ws.recv_frame(max(0.01, deadline - time.monotonic()))
        if f.opcode == h.OP_PONG and f.payload == b"still":
            break
        check(f.opcode != h.OP_CLOSE, f"the client that answered pings was closed ({f.close_code()})")
        if f.opcode == h.OP_PING:
            alive_ws.send_frame(h.OP_PONG, f.payload)
    alive_ws.close_socket()
    dead.close_socket()


# --------------------------------------------------------------------------
# section 8 across restarts: epoch, seq, replay, retries

async def restart(tmp):
    data = os.path.join(tmp, "data-restart")
    os.makedirs(data, exist_ok=True)
    tenants = [sh.tenant(S, **sh.FAST)]
    srv = sh.Server(tenants, data=data)
    try:
        r = "restart page"
        a = await Client.open(srv, S, r, user="reader")
        b = await Client.open(srv, S, r, user="writer")
        await write_n(b, 3)
        await a.catch_up(b.seq)
        epoch, seq_a = a.welcome["epoch"], a.seq
        a.abort()
        missed = await write_n(b, 4)
        last_op_bid = missed[-1]["broadcastId"]
        await b.close()
    finally:
        srv.stop()
    srv = sh.Server(tenants, data=data)
    try:
        a2 = await Client.open(srv, S, r, user="reader", resume=a, label="reader-after-restart")
        eq(a2.welcome["epoch"], epoch, "epoch kept across a restart on the same data dir")
        eq(a2.welcome["seq"], seq_a + 4, "seq kept across a restart")
        eq(a2.welcome["resync"], "replay", "resume across a restart")
        eq(a2.replayed, missed, "replayed events are the missed ones, unchanged")
        # a retry after the restart is answered with the original event
        b2 = await Client.open(srv, S, r, user="writer", label="writer-again")
        got = await b2.op({"type": "new-text-chat", "broadcastId": last_op_bid,
                           "chat": {"id": uid(), "anchor": {}, "comment": {"id": uid(), "text": "x"}}})
        eq(got, missed[-1], "retry after restart: the original event")
        ev = (await write_n(b2, 1))[0]
        eq(ev["seq"], seq_a + 5, "seq continues")
        await a2.catch_up(ev["seq"])
        chats, seq = await fresh(srv, r)
        eq(a2.model.as_list(), chats, "state after restart")
        await a2.close()
        await b2.close()
    finally:
        srv.stop()
    # another data directory: a new epoch, and old resumes get a snapshot
    srv = sh.Server(tenants)
    try:
        c = await Client.open(srv, S, r, user="reader", since=seq_a, epoch=epoch)
        check(c.welcome["epoch"] != epoch, "a fresh data dir has a new epoch")
        eq((c.welcome["resync"], c.welcome["seq"], c.snapshot_chats()), ("snapshot", 0, []),
           "stale epoch on a fresh server")
        await c.close()
    finally:
        srv.stop()


def main():
    srv = sh.Server([sh.tenant(S, **sh.FAST), sh.tenant(CLOSED, anonymous="none", **sh.FAST),
                     sh.tenant(OTHER, **sh.FAST)],
                    ["--hello-timeout-ms", "500", "--ring-size", "5"])
    r = h.Runner("server-session", against=sh.server_name())
    r.server = srv.proc
    try:
        r.case("no hello within --hello-timeout-ms 500: close 4408", hello_timeout, srv)
        r.case("malformed hello: close 4400 (each case)", bad_hellos, srv)
        r.case("binary first message: close 1003", binary_hello, srv)
        r.case("other hello fields are ignored", hello_extra_fields, srv)
        r.case("anonymous: read allowed (user null), none -> 4401", anonymous, srv)
        r.case("tokens: each failure 4401/4403, accepted variants", tokens, srv)
        r.case("urlIds scope and the URL tenant's secret", url_ids, srv)
        r.case("welcome/snapshot/synced exact", welcome_exact, srv)
        r.case("resync: replay of exactly the missed events", resync_replay, srv)
        r.case("resync: since > seq, other epoch -> snapshot; since 0 -> replay", resync_snapshot_cases, srv)
        r.case("resync: older than --ring-size 5", resync_ring, srv)
        r.case("resync while another client writes: convergence", resync_while_writing, srv)
        r.case("snapshot split past 64 KiB, creation order", snapshot_split, srv)
        r.case("frames: pong, fragmented hello, 1002/1007/1009", frames, srv)
        r.case("client close 1000 answered", client_close, srv)
        r.case("no token or secret in the log", no_secrets_logged, srv)
        r.case("server exits 0 on SIGTERM", srv.stop)
        r.server = None
        srv2 = sh.Server([sh.tenant(S, **sh.FAST)], ["--ping-interval-ms", "300", "--idle-timeout-ms", "1500"])
        try:
            r.case("keepalive: pings, idle close 1000", keepalive, srv2)
            r.case("server (keepalive) exits 0 on SIGTERM", srv2.stop)
        finally:
            srv2.kill()
        tmp = tempfile.mkdtemp(prefix="collab-restart-it-")
        try:
            r.case("restart: same epoch and seq, replay, retry; new data dir: new epoch", restart, tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    finally:
        srv.kill()
    return r.summary()


if __name__ == "__main__":
    sys.exit(main())
