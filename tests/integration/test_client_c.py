#!/usr/bin/python3
"""The library's C client (collab/client.h) against the real collab-server
(issue 6 "C client"), through the scriptable peer it_client_sync
(tests/integration/it_client_sync.c, built by the Makefile into $ASAN_BIN):

- live traffic: acknowledgements by echo, own echoes never delivered as
  events, other tabs of the same user and other users get them, rejections
  by broadcastId, the local copy equal to a fresh snapshot;
- a server restart (SIGTERM: close 1001; same --data dir, behind a TCP proxy
  so the clients keep their URL): the clients reconnect, resync by replay
  from (epoch, seq), send the operations made while the server was down,
  and converge with no missed update and nothing applied twice;
- a dropped socket (the proxy cuts it, with an RST or silently): an
  operation whose echo was lost is acknowledged by the replay, one that
  never reached the server is sent again after `synced`, both applied once;
- auth failures (4401, 4403) stop the client.

Prints `N passed, N failed`; CASE=substring runs a subset, VERBOSE=1 shows
traces.
"""
import asyncio
import json
import os
import queue
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
import helpers as h  # noqa: E402
import server_helpers as sh  # noqa: E402
import durability_helpers as dh  # noqa: E402
from server_helpers import Client, check, eq, short, uid  # noqa: E402

T = dh.T
ROOM_N = [0]
VERBOSE = os.environ.get("VERBOSE") == "1"


def room(prefix="cc"):
    ROOM_N[0] += 1
    return f"https://c-client.example/{prefix}/{ROOM_N[0]}?k={uid()}"


def peer_prog():
    for d in (h.ASAN_BIN, h.BIN):
        p = os.path.join(d, "it_client_sync")
        if os.access(p, os.X_OK):
            return p
    raise SystemExit(f"it_client_sync not built in {h.ASAN_BIN} or {h.BIN}")


class CPeer:
    """it_client_sync as a subprocess: commands on stdin, JSON lines out."""

    def __init__(self, url, token=None, label="peer", extra=()):
        self.label = label
        cmd = [peer_prog(), url]
        if token:
            cmd += ["--token", token]
        cmd += list(extra)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, cwd=h.TOP)
        self.items = []
        self.cv = threading.Condition()
        self.eof = False
        threading.Thread(target=self._out, daemon=True).start()
        threading.Thread(target=self._err, daemon=True).start()

    def _out(self):
        for raw in iter(self.proc.stdout.readline, b""):
            text = raw.decode("utf-8", "replace").rstrip("\n")
            if VERBOSE:
                sys.stderr.write(f"[{self.label}] {text}\n")
            try:
                item = json.loads(text)
            except ValueError:
                item = {"garbage": text}
            with self.cv:
                self.items.append(item)
                self.cv.notify_all()
        with self.cv:
            self.eof = True
            self.cv.notify_all()

    def _err(self):
        for raw in iter(self.proc.stderr.readline, b""):
            sys.stderr.write(f"[{self.label} stderr] {raw.decode('utf-8', 'replace')}")

    def cmd(self, line):
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()

    def wait(self, pred, timeout=10.0, what="an item", start=0):
        """The first item at or after index start matching pred."""
        deadline = time.monotonic() + timeout
        with self.cv:
            while True:
                for it in self.items[start:]:
                    if pred(it):
                        return it
                left = deadline - time.monotonic()
                if left <= 0 or self.eof:
                    raise AssertionError(f"{self.label}: no {what} within {timeout} s "
                                         f"(last items: {short(self.items[-6:], 600)})")
                self.cv.wait(left)

    def count(self, pred):
        with self.cv:
            return sum(1 for it in self.items if pred(it))

    def op(self, line, ok=True):
        with self.cv:
            n = len(self.items)
        self.cmd(line)
        r = self.wait(lambda it: "op" in it, what=f"answer to {line!r}", start=n)
        if ok:
            eq(r["rc"], 0, f"{self.label}: {line!r} rc")
        return r

    def dump(self):
        with self.cv:
            n = len(self.items)
        self.cmd("dump")
        return self.wait(lambda it: "dump" in it, what="dump", start=n)["dump"]

    def lives(self):
        return self.count(lambda it: it.get("state") == "live")

    def wait_live(self, n=1, timeout=15.0):
        deadline = time.monotonic() + timeout
        while self.lives() < n:
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.label}: not live ({n}) within {timeout} s "
                                     f"(items {short(self.items[-6:], 600)})")
            time.sleep(0.02)

    def ack(self, bid, timeout=10.0):
        return self.wait(lambda it: it.get("ack") == bid, timeout, f"ack of {bid}")

    def event(self, bid, timeout=10.0):
        return self.wait(lambda it: it.get("bid") == bid and "event" in it, timeout,
                         f"event {bid}")

    def close(self):
        self.cmd("close")
        self.wait(lambda it: "closed" in it, what="closed")
        self.proc.stdin.close()
        eq(self.proc.wait(10), 0, f"{self.label} exit status")

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


def snapshot_shape(dump_chats):
    """The dump's chats as a snapshot shows them; nothing may be pending."""
    out = []
    for c in dump_chats:
        eq(c["pending"], 0, f"chat {c['id']} pending flags")
        cms = []
        for m in c["comments"]:
            eq(m["pending"], 0, f"comment {m['id']} pending flags")
            cms.append({k: m[k] for k in sh.COMMENT_KEYS})
        d = {k: c[k] for k in sh.CHAT_KEYS if k != "comments"}
        d["comments"] = cms
        out.append({k: d[k] for k in sh.CHAT_KEYS})
    return out


async def converge(srv, url_id, peers, what):
    """Every peer reaches the room's seq with a copy equal to a fresh
    snapshot, nothing pending."""
    chats, seq, w, _ = await dh.fresh(srv, T, url_id)
    for p in peers:
        deadline = time.monotonic() + 15
        while True:
            d = p.dump()
            if d["seq"] == seq and d["pending"] == 0:
                break
            check(time.monotonic() < deadline, f"{what}: {p.label} at seq {d['seq']} "
                  f"(pending {d['pending']}), the room at {seq}")
            await asyncio.sleep(0.05)
        eq(d["epoch"], w["epoch"], f"{what}: {p.label} epoch")
        eq(d["roomError"], 0, f"{what}: {p.label} room error")
        dh.same_state(snapshot_shape(d["chats"]), chats, f"{what}: {p.label} vs a fresh snapshot")
    return seq


# --------------------------------------------------------------------------

async def live_traffic(srv):
    r = room("live")
    url = srv.url(T, r)
    a = CPeer(url, srv.token(T, "u1", name="Ann"), "A")
    a2 = CPeer(url, srv.token(T, "u1", name="Ann"), "A-tab2")
    b = CPeer(url, srv.token(T, "u2", name="Bo"), "B")
    peers = (a, a2, b)
    try:
        for p in peers:
            p.wait_live()
        x = a.op("create hello \u00e9 world")
        a.ack(x["bid"])
        b.event(x["bid"])
        a2.event(x["bid"])  # the same user's other tab gets it
        reply = b.op(f"add {x['chat']} a reply")
        b.ack(reply["bid"])
        a.event(reply["bid"])
        ed = a.op(f"edit {x['chat']} {x['comment']} edited")
        a.ack(ed["bid"])
        bad = b.op(f"delete {x['chat']}")  # not B's chat
        rej = b.wait(lambda it: it.get("reject") == bad["bid"], what="rejection")
        eq(rej["code"], "forbidden", "rejection code")
        a.ack(a.op(f"resolve {x['chat']} 1")["bid"])
        b.ack(b.op(f"delc {x['chat']} {reply['comment']}")["bid"])
        y = a.op("create to delete")
        a.ack(a.op(f"delete {y['chat']}")["bid"])
        # a plain websocket writer too
        w = await Client.open(srv, T, r, user="u3", name="Cy")
        op = sh.new_chat("from python", {"quote": "p"})
        await w.ok(op)
        for p in peers:
            p.event(op["broadcastId"])
        await w.close()
        await converge(srv, r, peers, "live traffic")
        # own echoes never came as events; acknowledged exactly once
        for bid in (x["bid"], ed["bid"], y["bid"]):
            eq(a.count(lambda it, b_=bid: it.get("bid") == b_ and "event" in it), 0,
               "own echo delivered as an event")
            eq(a.count(lambda it, b_=bid: it.get("ack") == b_), 1, "acknowledgements")
        eq(b.count(lambda it: it.get("bid") == bad["bid"] and "event" in it), 0, "rejected op")
        for p in peers:
            p.close()
    finally:
        for p in peers:
            p.kill()


async def restart_resync(env):
    srv = dh.DServer(env, env.data_dir())
    proxy = dh.Proxy(srv.host, srv.port)
    srv2 = None
    r = room("restart")
    url = proxy.url(srv, T, r)
    a = CPeer(url, srv.token(T, "u1", name="Ann"), "A", ["--base-ms", "100", "--cap-ms", "300"])
    b = CPeer(url, srv.token(T, "u2", name="Bo"), "B", ["--base-ms", "100", "--cap-ms", "300"])
    try:
        a.wait_live()
        b.wait_live()
        x = a.op("create before the restart")
        a.ack(x["bid"])
        b.event(x["bid"])
        n_a = len(a.items)
        srv.stop()  # close 1001 to everyone, then exit 0
        st = a.wait(lambda it: it.get("state") == "reconnecting", start=n_a,
                    what="reconnecting after the shutdown")
        eq(st["code"], 1001, "close code seen by the client")
        eq(st["attempts"], 0, "1001: reconnect at once, no backoff counted")
        # work while the server is down: queued, shown as pending
        y = a.op("create made while the server was down")
        cmt = a.op(f"add {x['chat']} offline reply")
        d = a.dump()
        eq(d["pending"], 2, "queued operations")
        mine = [c for c in d["chats"] if c["id"] == y["chat"]]
        eq(len(mine), 1, "offline chat in the local copy")
        eq(mine[0]["pending"], 1, "offline chat pending-create flag")
        srv2 = dh.DServer(env, srv.data, label="restarted")
        proxy.target = (srv2.host, srv2.port)
        w = await Client.open(srv2, T, r, user="u3", name="Cy", moderator=True)
        ops = [sh.new_chat("written during the reconnect"),
               sh.resolve(x["chat"], True)]
        for op in ops:
            await w.ok(op)
        a.wait_live(2)
        b.wait_live(2)
        for p in (a, b):
            wl = [it for it in p.items if "welcome" in it]
            eq(wl[-1]["welcome"], "replay", f"{p.label}: resync after the restart")
        a.ack(y["bid"])
        a.ack(cmt["bid"])
        b.event(y["bid"])
        await w.ok(sh.add_comment(y["chat"], "after everyone is back"))
        await w.close()
        await converge(srv2, r, (a, b), "after a restart")
        for bid in (y["bid"], cmt["bid"]):
            eq(a.count(lambda it, b_=bid: it.get("ack") == b_), 1, "acknowledged once")
            eq(a.count(lambda it, b_=bid: it.get("reject") == b_), 0, "not rejected")
        for op in ops:
            for p in (a, b):
                eq(p.count(lambda it, b_=op["broadcastId"]: it.get("bid") == b_), 1,
                   f"{p.label}: event written during the reconnect seen once")
        a.close()
        b.close()
        srv2.stop()
    finally:
        a.kill()
        b.kill()
        proxy.close()
        srv.kill9()
        if srv2:
            srv2.kill9()


class MuteProxy(dh.Proxy):
    """A Proxy that can also swallow one direction: mute_down drops what the
    server sends, mute_up what the client sends."""

    mute_down = False
    mute_up = False

    def _pipe(self, pair, a, b):
        src, dst = pair[a], pair[b]
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if pair[2] != "open":
                return
            if not data:
                try:
                    dst.shutdown(1)
                except OSError:
                    pass
                return
            if (a == 1 and self.mute_down) or (a == 0 and self.mute_up):
                continue
            try:
                dst.sendall(data)
            except OSError:
                return


async def cut_resync(srv, mode):
    proxy = MuteProxy(srv.host, srv.port)
    r = room("cut-" + mode)
    a = CPeer(proxy.url(srv, T, r), srv.token(T, "u1", name="Ann"), "A",
              ["--base-ms", "200", "--cap-ms", "400"])
    b = CPeer(srv.url(T, r), srv.token(T, "u2", name="Bo"), "B")
    try:
        a.wait_live()
        b.wait_live()
        x = a.op("create first")
        a.ack(x["bid"])
        # 1. the operation reaches the server, its echo is lost with the socket
        proxy.mute_down = True
        z = a.op("create echo lost")
        b.event(z["bid"])  # applied by the server
        n_a = len(a.items)
        proxy.sever(mode)
        proxy.mute_down = False
        a.wait(lambda it: it.get("state") == "reconnecting", start=n_a, what="reconnecting")
        # others write while A is away
        c1 = b.op("create written while A was cut off")
        b.ack(c1["bid"])
        b.ack(b.op(f"add {x['chat']} reply while cut off")["bid"])
        a.wait_live(2)
        a.ack(z["bid"])  # by the replayed event
        a.event(c1["bid"])
        # 2. an operation that never reaches the server
        proxy.mute_up = True
        q = a.op("create lost on the way")
        await asyncio.sleep(0.3)
        n_a = len(a.items)
        proxy.sever(mode)
        proxy.mute_up = False
        a.wait(lambda it: it.get("state") == "reconnecting", start=n_a, what="reconnecting")
        a.wait_live(3)
        a.ack(q["bid"])  # sent again after synced
        b.event(q["bid"])
        await converge(srv, r, (a, b), f"after a cut ({mode})")
        for bid in (z["bid"], q["bid"]):
            eq(a.count(lambda it, b_=bid: it.get("ack") == b_), 1, "acknowledged once")
            eq(a.count(lambda it, b_=bid: it.get("bid") == b_ and "event" in it), 0,
               "own operation delivered as an event")
            eq(b.count(lambda it, b_=bid: it.get("bid") == b_ and "event" in it), 1,
               "applied exactly once")
        a.close()
        b.close()
    finally:
        a.kill()
        b.kill()
        proxy.close()


async def auth_fails(srv):
    r = room("auth")
    cases = [("garbage.token.here", 4401),
             (srv.token(T, "u1", url_ids=["https://elsewhere.example/"]), 4403)]
    for tok, code in cases:
        p = CPeer(srv.url(T, r), tok, f"auth-{code}", ["--base-ms", "5", "--cap-ms", "10"])
        try:
            st = p.wait(lambda it: it.get("state") == "auth-failed", what="auth-failed")
            eq(st["code"], code, "close code")
            time.sleep(0.5)
            eq(p.count(lambda it: it.get("state") in ("connecting", "reconnecting", "syncing")),
               2, f"{code}: no reconnect after the auth failure")
            p.close()
        finally:
            p.kill()


def main():
    env = dh.Env()
    srv = dh.DServer(env, env.data_dir())
    r = h.Runner("client_c", against=" ".join(dh.server_cmd()))
    r.server = srv.proc
    try:
        r.case("live: echo is the ack, other tabs and users get events, rejection", live_traffic, srv)
        r.case("socket cut (RST): lost echo acked by replay, lost op resent, converged",
               cut_resync, srv, "rst")
        r.case("silent cut (server side left open): same", cut_resync, srv, "blackhole")
        r.case("4401 and 4403 stop the client", auth_fails, srv)
        r.case("server restart (1001, same data): replay, offline ops sent, converged",
               restart_resync, env)
        r.case("server exits 0 on SIGTERM", srv.stop)
    finally:
        srv.kill9()
        env.cleanup()
    return r.summary()


if __name__ == "__main__":
    sys.exit(main())
