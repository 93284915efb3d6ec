#!/usr/bin/python3
"""collab-server reconnect resync (issue 5 "Resync", PROTOCOL.md 3, 4 and 8):
clients whose connection is cut (an RST, or a silent cut the server does not
see, through a severable TCP proxy) reconnect with since/epoch, get `replay`
(or `snapshot`) then `synced`, and end with a state identical to a fresh
snapshot, with no gap and no duplicate against live events, across a server
restart too; a retry by broadcastId after the reconnect is applied at most
once; an unknown epoch or a `since` beyond the room's seq gets a snapshot;
events older than the ring (--ring-size 10) come from a snapshot (or the
journal); a fresh data directory means a new epoch; writers keep writing
while a slow reader is replayed to or snapshotted.

Runs `$ASAN_BIN/collab-server` (or SERVER_CMD). Prints `N passed, N failed`;
CASE=substring runs a subset, VERBOSE=1 shows traces.
"""
import asyncio
import os
import socket
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
import helpers as h  # noqa: E402
import server_helpers as sh  # noqa: E402
import durability_helpers as dh  # noqa: E402
from server_helpers import (Client, add_comment, check, delete_chat, delete_comment,  # noqa: E402
                            edit_comment, eq, new_chat, resolve, short, uid)

T = dh.T
ROOM_N = [0]


def room(prefix="resync"):
    ROOM_N[0] += 1
    return f"https://resync.example/{prefix}/{ROOM_N[0]}?k={uid()}"


async def converged(c, srv, url_id, what):
    """c catches up with the room's seq; its state equals a fresh
    snapshot's (canonical JSON and member order)."""
    chats, seq, w, _ = await dh.fresh(srv, T, url_id)
    await c.catch_up(seq)
    eq(c.seq, seq, f"{what}: seq")
    check(c.model_valid, f"{what}: client has no valid state")
    dh.same_state(c.model.as_list(), chats, f"{what}: state vs a fresh snapshot")
    return seq


async def others_write(b, a_chats=(), n=10):
    """b (a moderator) writes n events of every kind, some on a's chats."""
    mine = []
    for k in range(n):
        j = k % 6
        if j == 0 or not mine:
            op = new_chat(f"b chat {k} \u00e9", {"quote": f"q{k}"})
            await b.ok(op)
            mine.append((op["chat"]["id"], op["chat"]["comment"]["id"]))
        elif j == 1:
            await b.ok(add_comment(mine[-1][0], f"b reply {k}"))
        elif j == 2:
            await b.ok(edit_comment(mine[-1][0], mine[-1][1], f"b edited {k}"))
        elif j == 3:
            target = a_chats[k % len(a_chats)] if a_chats else mine[-1][0]
            await b.ok(resolve(target, True))   # moderator may resolve any chat
        elif j == 4:
            op = add_comment(mine[-1][0], "to delete")
            await b.ok(op)
            await b.ok(delete_comment(mine[-1][0], op["comment"]["id"]))
        else:
            if len(mine) > 1:
                cid, _ = mine.pop(0)
                await b.ok(delete_chat(cid))
            else:
                await b.ok(add_comment(mine[-1][0], f"b more {k}"))
    return mine


def events_by_seq(c):
    return {e["seq"]: e for e in dh.flat_events(c.messages)}


# --------------------------------------------------------------------------
# cut, others write, reconnect

async def cut_resume(srv, mode):
    r = room(f"cut-{mode}")
    proxy = dh.Proxy(srv.host, srv.port)
    try:
        b = await Client.open(srv, T, r, user="bo", name="Bo", moderator=True)
        a = await Client.open(srv, T, r, user="ann", name="Ann", url=proxy.url(srv, T, r))
        a_chats = []
        for k in range(3):
            op = new_chat(f"ann chat {k}")
            await a.ok(op)
            a_chats.append(op["chat"]["id"])
        await a.ok(add_comment(a_chats[0], "ann reply"))
        await b.catch_up(a.seq)
        # an operation sent just before the cut: its echo is never seen
        pending = add_comment(a_chats[1], "sent right before the cut")
        await a.send(pending)
        n = proxy.sever(mode)
        eq(n, 1, "connections severed")
        since = a.seq
        await others_write(b, a_chats, 12)
        # a's old connection is dead; a reconnects (directly) from since
        a2 = await Client.open(srv, T, r, user="ann", name="Ann", resume=a, label="ann-again")
        eq(a2.welcome["epoch"], a.welcome["epoch"], "epoch")
        eq(a2.welcome["resync"], "replay", f"resync after missing {b.seq - since} events "
           "(all in the ring)")
        replayed = {e["broadcastId"]: e for e in a2.replayed}
        # PROTOCOL.md 4: after synced the client retries with the same broadcastId
        ans = await a2.op(pending)
        check(ans["type"] != "error", f"retry of an operation after the reconnect: {short(ans)}")
        sh.check_event(ans, pending, "ann", "Ann")
        if pending["broadcastId"] in replayed:
            eq(ans, replayed[pending["broadcastId"]], "retry answer is the original event")
        await converged(a2, srv, r, "reconnected client")
        dh.check_stream(a2, since, own_retry_bids={pending["broadcastId"]})
        await b.catch_up(a2.seq)
        await b.quiet(0.3)
        got = [e for e in dh.flat_events(b.messages) if e["broadcastId"] == pending["broadcastId"]]
        eq(len(got), 1, "events with the retried broadcastId that another client received")
        evs, _ = await dh.history(srv, T, r, a.welcome["epoch"])
        dh.bids_once(evs, r)
        await converged(b, srv, r, "the client that stayed")
        for c in (a2, b):
            await c.close()
    finally:
        proxy.close()


async def resume_up_to_date(srv):
    """A reconnect with since == seq gets replay with no event."""
    r = room("uptodate")
    a = await Client.open(srv, T, r, user="ann")
    await a.ok(new_chat("one"))
    a.abort()
    a2 = await Client.open(srv, T, r, user="ann", resume=a)
    eq(a2.welcome["resync"], "replay", "resync with since == seq")
    eq(a2.replayed, [], "events replayed")
    eq(a2.welcome["seq"], a.seq, "seq")
    await converged(a2, srv, r, "up-to-date client")
    await a2.close()


# --------------------------------------------------------------------------
# across a restart

async def stop_while(srv, clients):
    """SIGTERM the server; each client gets close 1001."""
    stopper = asyncio.get_running_loop().run_in_executor(None, srv.stop)
    for c in clients:
        await c.expect_close((1001,), timeout=8)
    await stopper


async def across_restart(env):
    data = env.data_dir()
    srv = dh.DServer(env, data)
    proxy = None
    try:
        r = room("restart")
        proxy = dh.Proxy(srv.host, srv.port)
        b = await Client.open(srv, T, r, user="bo", name="Bo", moderator=True)
        a = await Client.open(srv, T, r, user="ann", name="Ann", url=proxy.url(srv, T, r))
        a_chats = []
        for k in range(3):
            op = new_chat(f"ann chat {k}")
            await a.ok(op)
            a_chats.append(op["chat"]["id"])
        pending = new_chat("sent right before the cut, retried after the restart")
        await a.send(pending)
        proxy.sever("blackhole")
        a_since = a.seq
        await others_write(b, a_chats, 8)
        epoch, b_seq = b.welcome["epoch"], b.seq
        before = events_by_seq(b)
        proxy.close()
        proxy = None
        await stop_while(srv, [b])
        dh.verify(data)
        srv = dh.DServer(env, data)
        # b resumes: nothing new, same epoch, replay of nothing
        b2 = await Client.open(srv, T, r, user="bo", name="Bo", moderator=True, resume=b)
        eq(b2.welcome["epoch"], epoch, "epoch after a restart on the same data directory")
        eq(b2.welcome["seq"], b_seq, "seq after the restart")
        eq(b2.welcome["resync"], "replay", "resync of an up-to-date client after a restart")
        # seq goes on from where it was
        op = add_comment(a_chats[0], "after the restart")
        ev = await b2.ok(op)
        eq(ev["seq"], b_seq + 1, "first seq after the restart")
        await others_write(b2, a_chats, 5)
        # a resumes from before the cut: the ring survived the restart
        a2 = await Client.open(srv, T, r, user="ann", name="Ann", resume=a, label="ann-again")
        eq(a2.welcome["epoch"], epoch, "epoch")
        eq(a2.welcome["resync"], "replay", "resync across a restart (PROTOCOL.md 8: the last "
           "1,000 events are kept across restarts too)")
        for e in a2.replayed:
            if e["seq"] in before:
                eq(e, before[e["seq"]], f"event seq {e['seq']} replayed after the restart vs "
                   "as broadcast before it")
        replayed = {e["broadcastId"]: e for e in a2.replayed}
        ans = await a2.op(pending)
        check(ans["type"] != "error", f"retry after the restart: {short(ans)}")
        if pending["broadcastId"] in replayed:
            eq(ans, replayed[pending["broadcastId"]], "retry after the restart answered with "
               "the original event (same seq)")
        await converged(a2, srv, r, "client resumed across the restart")
        dh.check_stream(a2, a_since, own_retry_bids={pending["broadcastId"]})
        await converged(b2, srv, r, "client resumed across the restart (up to date)")
        evs, _ = await dh.history(srv, T, r, epoch)
        dh.bids_once(evs, r)
        await stop_while(srv, [a2, b2])
        srv = None
        dh.verify(data)
    finally:
        if proxy is not None:
            proxy.close()
        if srv is not None:
            srv.kill9()


# --------------------------------------------------------------------------
# stale epoch, since beyond seq

async def stale_epoch(srv, other):
    r = room("stale")
    a = await Client.open(srv, T, r, user="ann")
    for k in range(5):
        await a.ok(new_chat(f"chat {k}"))
    epoch = a.welcome["epoch"]
    seq = a.seq
    other_epoch = (await dh.fresh(other, T, r))[2]["epoch"]
    check(other_epoch != epoch, "two data directories share an epoch")
    cases = [
        ("a random epoch", 2, str(uuid.uuid4())),
        ("another data directory's epoch", 2, other_epoch),
        ("an epoch that is not a UUID", 2, "stale-epoch"),
        ("since beyond the room's seq", seq + 5, epoch),
        ("since far beyond", 1 << 40, epoch),
    ]
    for what, since, ep in cases:
        c = await Client.open(srv, T, r, user="bo", since=since, epoch=ep, label=what)
        eq(c.welcome["resync"], "snapshot", f"resync for {what}")
        eq(c.welcome["epoch"], epoch, f"welcome epoch for {what}")
        await converged(c, srv, r, what)
        await c.close()
    # the right epoch and a since within the ring: replay
    c = await Client.open(srv, T, r, user="bo", since=2, epoch=epoch)
    eq(c.welcome["resync"], "replay", "resync with the right epoch")
    eq([e["seq"] for e in c.replayed], list(range(3, seq + 1)), "replayed seqs")
    await c.close()
    # a client of the other server's epoch, on a room that never had an event there
    c = await Client.open(other, T, r, since=3, epoch=epoch, label="other server")
    eq(c.welcome["resync"], "snapshot", "resync on a server of another epoch")
    eq(c.welcome["seq"], 0, "seq of a room without events")
    eq(c.snapshot_chats(), [], "chats")
    await c.close()
    await a.close()


# --------------------------------------------------------------------------
# events older than the ring

async def resync_kind_ok(c, srv, r, since, what, ref=None):
    """Either resync is allowed; the result must be exact either way: a
    snapshot equals a fresh one, replayed events are those broadcast
    (ref: seq -> event as a live client received it)."""
    check(c.welcome["resync"] in ("replay", "snapshot"), what)
    if c.model_valid:
        await converged(c, srv, r, what)
    elif c.welcome["resync"] == "replay":
        for e in c.replayed:
            eq(e, ref[e["seq"]], f"{what}: replayed event seq {e['seq']} vs as broadcast")
    dh.check_stream(c, since)


async def older_than_ring(env):
    data = env.data_dir()
    srv = dh.DServer(env, data, ["--ring-size", "10"])
    try:
        r = room("ring")
        b = await Client.open(srv, T, r, user="bo", name="Bo", moderator=True)
        a = await Client.open(srv, T, r, user="ann")
        op = new_chat("ann's")
        await a.ok(op)
        await b.catch_up(a.seq)
        since = a.seq
        a.abort()
        await others_write(b, [op["chat"]["id"]], 30)
        seq = b.seq
        check(seq - since >= 30, "30 events missed")
        a2 = await Client.open(srv, T, r, user="ann", resume=a)
        print(f"# 30 events missed with --ring-size 10: resync {a2.welcome['resync']}", flush=True)
        if a2.welcome["resync"] == "replay":
            eq([e["seq"] for e in a2.replayed], list(range(since + 1, seq + 1)),
               "a replay beyond the ring must still be complete (from the journal)")
        await resync_kind_ok(a2, srv, r, since, "missed 30 events, ring of 10")
        await a2.close()
        epoch = b.welcome["epoch"]
        # boundaries: the last 10 events are held
        for back, must in ((1, True), (10, True), (11, False), (25, False)):
            c = await Client.open(srv, T, r, since=seq - back, epoch=epoch, label=f"back {back}")
            if must:
                eq(c.welcome["resync"], "replay", f"resync {back} events back with a ring of 10")
            await resync_kind_ok(c, srv, r, seq - back, f"{back} events back", events_by_seq(b))
            await c.close()
        ref = events_by_seq(b)
        await stop_while(srv, [b])
        srv = dh.DServer(env, data, ["--ring-size", "10"])
        for back, must in ((10, True), (11, False)):
            c = await Client.open(srv, T, r, since=seq - back, epoch=epoch, label=f"restart back {back}")
            eq(c.welcome["epoch"], epoch, "epoch after restart")
            if must:
                eq(c.welcome["resync"], "replay", f"resync {back} events back after a restart "
                   "(the ring is rebuilt from the journal)")
            await resync_kind_ok(c, srv, r, seq - back, f"after restart, {back} events back", ref)
            await c.close()
        srv.stop()
        srv = None
    finally:
        if srv is not None:
            srv.kill9()


# --------------------------------------------------------------------------
# epochs and data directories

def fresh_data_new_epoch(env):
    async def epoch_of(srv, r, write=0):
        c = await Client.open(srv, T, r, user="ann")
        for k in range(write):
            await c.ok(new_chat(f"e{k}"))
        ep, seq = c.welcome["epoch"], c.seq
        await c.close()
        return ep, seq

    r = room("epoch")
    d1, d2 = env.data_dir(), env.data_dir()
    s1 = dh.DServer(env, d1)
    try:
        e1, seq1 = dh.run(epoch_of(s1, r, 2))
        check(isinstance(e1, str) and e1, "epoch")
        s2 = dh.DServer(env, d2)
        try:
            e2, seq2 = dh.run(epoch_of(s2, r))
            check(e2 != e1, f"two fresh data directories got the same epoch {e1}")
            eq(seq2, 0, "seq of the room in the other data directory")
        finally:
            s2.stop()
        s1.stop()
        s1 = dh.DServer(env, d1)
        eq(dh.run(epoch_of(s1, r)), (e1, seq1), "epoch and seq after a restart on the same directory")
        s1.stop()
        s1 = dh.DServer(env, d2)
        eq(dh.run(epoch_of(s1, r))[0], e2, "epoch of the second directory after a restart")
        s1.stop()
        # an emptied data directory is a new history
        for name in os.listdir(d1):
            p = os.path.join(d1, name)
            if os.path.isfile(p):
                os.unlink(p)
        s1 = dh.DServer(env, d1)
        e3, seq3 = dh.run(epoch_of(s1, r))
        check(e3 not in (e1, e2), "an emptied data directory kept an old epoch")
        eq(seq3, 0, "seq in an emptied data directory")
        s1.stop()
        # a data directory that does not exist yet (its parent does)
        d4 = os.path.join(env.dir, "not-yet")
        s1 = dh.DServer(env, d4)
        e4, _ = dh.run(epoch_of(s1, r))
        check(e4 not in (e1, e2, e3), "a new data directory kept an old epoch")
        s1.stop()
        s1 = None
    finally:
        if s1 is not None:
            s1.kill9()


# --------------------------------------------------------------------------
# writers during a replay or snapshot

class Writers:
    """n connections writing until finish(), each pausing `pause` s between
    operations (about 100 a second each by default, so that the room stays
    within the ring of 1,000 for the replay case)."""

    def __init__(self, srv, r, n=3, pause=0.01):
        self.srv, self.r, self.n, self.pause = srv, r, n, pause
        self.stop = False
        self.max_seq = 0
        self.count = 0
        self.tasks = []
        self.clients = []

    async def start(self):
        for i in range(self.n):
            c = await Client.open(self.srv, T, self.r, user=f"wr{i}")
            self.clients.append(c)
        self.tasks = [asyncio.create_task(self._run(c, i)) for i, c in enumerate(self.clients)]

    async def _run(self, c, i):
        chat = None
        k = 0
        while not self.stop:
            k += 1
            if chat is None or k % 5 == 0:
                op = new_chat(f"live {i}/{k}")
                chat = op["chat"]["id"]
            else:
                op = add_comment(chat, f"live reply {i}/{k}")
            ev = await c.ok(op, timeout=20)
            c.items.clear()
            self.max_seq = max(self.max_seq, ev["seq"])
            self.count += 1
            await asyncio.sleep(self.pause)

    async def finish(self):
        self.stop = True
        await asyncio.gather(*self.tasks)
        for c in self.clients:
            await c.close()
        return self.max_seq

    async def abandon(self):
        self.stop = True
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for c in self.clients:
            c.abort()


def slow_socket(srv):
    """A connected socket with a small receive buffer, so that the server's
    replay or snapshot backs up while the test is not reading."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect((srv.host, srv.port))
    s.setblocking(False)
    return s


async def writes_during_resync(srv, kind):
    r = room(f"during-{kind}")
    a = await Client.open(srv, T, r, user="ann")
    op = new_chat("first")
    await a.ok(op)
    since, epoch = a.seq, a.welcome["epoch"]
    a.abort()
    # history to replay: ~1 MB in 400 events, sent in bursts (group commit)
    big = "h" * 2500
    loader = await Client.open(srv, T, r, user="loader")
    for burst in range(4):
        ops = [new_chat(f"{big} {burst}/{k}") for k in range(100)]
        for o in ops:
            await loader.send(o)
        for o in ops:
            m = await loader.answer(o["broadcastId"], timeout=30)
            check(m["type"] != "error", f"preload rejected: {short(m)}")
        loader.items.clear()
    await loader.close()
    writers = Writers(srv, r)
    await writers.start()
    try:
        await resync_while_writing(srv, r, kind, writers, a, since, epoch)
    finally:
        if not writers.stop:
            await writers.abandon()


async def resync_while_writing(srv, r, kind, writers, a, since, epoch):
    await asyncio.sleep(0.2)
    kw = dict(max_queue=1, read_limit=4096, sock=slow_socket(srv))
    if kind == "replay":
        c = await Client.open(srv, T, r, user="ann", resume=a, hello=False, label="slow-replay", **kw)
        hello = {"type": "hello", "token": c.token, "since": since, "epoch": epoch}
    else:
        c = await Client.open(srv, T, r, user="ann", hello=False, label="slow-snapshot", **kw)
        hello = {"type": "hello", "token": c.token}
        since = None
    await c.send(hello)
    n0 = writers.count
    await asyncio.sleep(1.0)  # not reading: the server must hold live events behind the resync
    await c.read_start(since=since, epoch=epoch if since is not None else None, timeout=30)
    if kind == "replay" and c.welcome["seq"] - since >= 1000:
        raise AssertionError(f"test setup: {c.welcome['seq'] - since} events since the client's "
                             "seq, beyond the default ring of 1,000 (writers too fast?)")
    eq(c.welcome["resync"], kind, "resync")
    await asyncio.sleep(0.3)
    last = await writers.finish()
    check(writers.count - n0 >= 20, f"only {writers.count - n0} events written during the resync")
    await c.catch_up(last, timeout=20)
    dh.check_stream(c, since if since is not None else 0)
    before, after = dh.stream_seqs(c)
    print(f"# {kind}: {len(before)} events replayed, {len(after)} live after synced "
          f"(welcome seq {c.welcome['seq']}, {writers.count} written meanwhile)", flush=True)
    await converged(c, srv, r, f"client resynced by {kind} during writes")
    await c.close()


# --------------------------------------------------------------------------
# the default ring across a restart; freed rooms keep their seq

async def burst(c, ops):
    for o in ops:
        await c.send(o)
    out = []
    for o in ops:
        m = await c.answer(o["broadcastId"], timeout=30)
        check(m["type"] != "error", f"operation rejected: {short(m)}")
        out.append(m)
    c.items.clear()
    return out


async def default_ring(env):
    """PROTOCOL.md 8: at least the last 1,000 events of each room, across
    restarts too."""
    data = env.data_dir()
    srv = dh.DServer(env, data)
    try:
        r = room("ring1000")
        w = await Client.open(srv, T, r, user="ann", name="Ann")
        op = new_chat("the chat")
        await w.ok(op)
        evs = []
        for k in range(5):
            evs += await burst(w, [edit_comment(op["chat"]["id"], op["chat"]["comment"]["id"],
                                                f"edit {k}/{j}") for j in range(201)])
        seq, epoch = w.seq, w.welcome["epoch"]
        ref = {e["seq"]: e for e in evs}
        check(seq >= 1006, f"seq {seq}")
        await w.close()
        for phase in ("running", "restarted"):
            if phase == "restarted":
                srv.stop()
                srv = dh.DServer(env, data)
            c = await Client.open(srv, T, r, since=seq - 1000, epoch=epoch, label=f"{phase} -1000")
            eq(c.welcome["resync"], "replay", f"{phase}: resync 1,000 events back (default ring)")
            eq(len(c.replayed), 1000, f"{phase}: events replayed")
            for e in c.replayed:
                eq(e, ref[e["seq"]], f"{phase}: replayed seq {e['seq']} vs as broadcast")
            await c.close()
        srv.stop()
        srv = None
    finally:
        if srv is not None:
            srv.kill9()


async def freed_room_seq(env):
    """PROTOCOL.md 8: a room's seq never goes back within an epoch, even when
    an idle room (no connection, no live chat) is freed, and across a
    restart."""
    data = env.data_dir()
    srv = dh.DServer(env, data)
    try:
        r = room("freed")
        c = await Client.open(srv, T, r, user="ann")
        op = new_chat("short-lived")
        await c.ok(op)
        await c.ok(add_comment(op["chat"]["id"], "reply"))
        await c.ok(delete_chat(op["chat"]["id"]))
        seq, epoch = c.seq, c.welcome["epoch"]
        await c.close()
        await asyncio.sleep(0.3)  # the room is idle now, and may be freed
        for phase in ("running", "restarted"):
            if phase == "restarted":
                srv.stop()
                srv = dh.DServer(env, data)
            c = await Client.open(srv, T, r, user="ann", since=1, epoch=epoch, label=phase)
            eq(c.welcome["epoch"], epoch, f"{phase}: epoch")
            eq(c.welcome["seq"], seq, f"{phase}: seq of a room whose chats are all gone")
            if c.welcome["resync"] == "snapshot":
                eq(c.snapshot_chats(), [], f"{phase}: chats")
            else:
                eq([e["seq"] for e in c.replayed], list(range(2, seq + 1)), f"{phase}: replay")
            ev = await c.ok(new_chat(f"after ({phase})"))
            seq += 1
            eq(ev["seq"], seq, f"{phase}: next seq")
            await c.ok(delete_chat(ev["chat"]["id"]))
            seq += 1
            await c.close()
            await asyncio.sleep(0.3)
        srv.stop()
        srv = None
    finally:
        if srv is not None:
            srv.kill9()


# --------------------------------------------------------------------------

def main():
    env = dh.Env()
    srv = dh.DServer(env, env.data_dir())
    other = None
    r = h.Runner("resync", against=" ".join(dh.server_cmd()))
    r.server = srv.proc
    try:
        r.case("socket cut (RST): reconnect with since/epoch, replay, retry, same state",
               cut_resume, srv, "rst")
        r.case("silent cut (server side left open): reconnect, replay, same state",
               cut_resume, srv, "blackhole")
        r.case("reconnect with since == seq: replay of nothing", resume_up_to_date, srv)
        other = dh.DServer(env, env.data_dir(), label="other-server")
        r.case("stale or unknown epoch, since beyond seq: snapshot", stale_epoch, srv, other)
        r.case("writers during a slow client's replay: no gap, no duplicate",
               writes_during_resync, srv, "replay")
        r.case("writers during a slow client's snapshot: no gap, no duplicate",
               writes_during_resync, srv, "snapshot")
        r.case("across a restart (SIGTERM): same epoch, seq goes on, replay from the journal",
               across_restart, env)
        r.case("events older than the ring (--ring-size 10): snapshot or complete replay",
               older_than_ring, env)
        r.case("a fresh or emptied data directory means a new epoch", fresh_data_new_epoch, env)
        r.case("the default ring: 1,000 events back replay, running and after a restart",
               default_ring, env)
        r.case("an idle room freed from memory keeps its seq, across a restart too",
               freed_room_seq, env)
        if other is not None:
            r.case("other server exits 0 on SIGTERM", other.stop)
        r.case("server exits 0 on SIGTERM", srv.stop)
    finally:
        srv.kill9()
        if other is not None:
            other.kill9()
        env.cleanup()
    return r.summary()


if __name__ == "__main__":
    sys.exit(main())
