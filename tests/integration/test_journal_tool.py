#!/usr/bin/python3
"""collab-journal and the server's recovery (issue 5 "collab-journal" and
"Recovery at start", PROTOCOL.md 8, the rules of server/journal.h):

- `collab-journal verify DIR` on a sound journal: exit 0, one line
  `sound: N records, B bytes, epoch E, ...` with the server's epoch;
  `dump DIR`: one valid JSON line per record, framing offsets consistent
  with the file, the HEADER first, every acknowledged event in some record;
- a torn tail (the journal cut short inside its last record, a zero-filled
  extension): exit 3 naming the last record's offset; the server starts,
  cuts the tail and logs how many bytes; the journal is then sound;
- a damaged record followed by good ones (payload byte, length field, the
  HEADER, junk after the last record): exit 1 naming the offset; the server
  refuses to start with a message naming the offset and leaves the file
  alone; `--repair` starts, keeps the good prefix (and the epoch when the
  HEADER is intact), moves the rest aside byte for byte;
- a second server on the same data directory fails to start (lock) while
  the first keeps serving; verify runs beside a live server; the lock dies
  with its server (kill -9);
- a leftover journal.compact is noted by verify and removed by the server;
- usage errors exit 2.

Runs `$ASAN_BIN/collab-server` and `$ASAN_BIN/collab-journal` (SERVER_CMD /
JOURNAL_CMD replace them). Prints `N passed, N failed`.
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
import helpers as h  # noqa: E402
import server_helpers as sh  # noqa: E402
import durability_helpers as dh  # noqa: E402
from server_helpers import Client, add_comment, check, eq, new_chat, short, uid  # noqa: E402

T = dh.T
FRAME_HDR = 13  # server/journal.h: u32 length, u32 crc, u8 type, u32 hcrc
ROOMS = [f"https://journal.example/a/{uid()}", f"https://journal.example/b/{uid()}"]


class Template:
    """A sound data directory written by a real server: 8 events in one
    room, 4 in another, stopped cleanly."""

    def __init__(self, env):
        self.env = env
        self.data = env.data_dir("template")
        srv = dh.DServer(env, self.data, label="writer")
        try:
            self.events = {r: [] for r in ROOMS}
            self.epoch = dh.run(self._write(srv))
            srv.stop()
        except BaseException:
            srv.kill9()
            raise
        self.path = os.path.join(self.data, "journal")
        with open(self.path, "rb") as f:
            self.bytes = f.read()
        self.records, _ = dh.dump(self.data)

    async def _write(self, srv):
        epoch = None
        for r, n in ((ROOMS[0], 8), (ROOMS[1], 4)):
            c = await Client.open(srv, T, r, user="ann", name="Ann")
            epoch = c.welcome["epoch"]
            chat = None
            for k in range(n):
                op = new_chat(f"chat {k} in {r}") if chat is None or k % 3 == 0 else \
                    add_comment(chat, f"reply {k} \u00e9\u2603")
                ev = await c.ok(op)
                if sh.kind(op) == "new-text-chat":
                    chat = op["chat"]["id"]
                self.events[r].append(ev)
            await c.close()
        return epoch

    def copy(self, name):
        d = self.env.data_dir(name, create=False)
        shutil.copytree(self.data, d)
        for extra in glob.glob(os.path.join(d, "journal.corrupt-*")) + [os.path.join(d, "LOCK")]:
            if os.path.exists(extra):
                os.unlink(extra)
        return d

    def rec_with(self, bid):
        """Index of the record whose payload holds broadcastId bid."""
        for i, rec in enumerate(self.records):
            if bid in json.dumps(rec.get("payload")):
                return i
        return None


def write_file(path, data):
    with open(path, "wb") as f:
        f.write(data)


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def flip(data, pos):
    b = bytearray(data)
    b[pos] ^= 0x5A
    return bytes(b)


async def room_bids(srv, r, epoch):
    evs, w = await dh.history(srv, T, r, epoch)
    return [e["broadcastId"] for e in evs], w


# --------------------------------------------------------------------------

def sound(tp):
    rc, line, m = dh.verify(tp.data, want=(0,))
    n, size, epoch = int(m.group(1)), int(m.group(2)), m.group(3)
    eq(size, len(tp.bytes), "verify: bytes vs the file size")
    eq(epoch, tp.epoch, "verify: epoch vs the server's welcome epoch")
    recs = tp.records
    eq(len(recs), n, "dump lines vs verify's record count")
    off = 0
    for i, rec in enumerate(recs):
        check(isinstance(rec, dict), f"dump line {i + 1} is not an object")
        eq(list(rec.keys())[:3], ["offset", "type", "length"], f"dump line {i + 1} members")
        check("payload" in rec or "payloadBase64" in rec, f"dump line {i + 1} has no payload")
        eq(rec["offset"], off, f"dump line {i + 1} offset (framing: {FRAME_HDR}-byte header)")
        check(type(rec["type"]) is int and rec["type"] >= 1, f"dump line {i + 1} type")
        check(i == 0 or rec["type"] != 1, f"dump line {i + 1}: a HEADER after the first record")
        off += FRAME_HDR + rec["length"]
    eq(off, len(tp.bytes), "end of the last record vs the file size")
    eq(recs[0]["type"], 1, "first record type (HEADER)")
    hdr = recs[0].get("payload")
    check(isinstance(hdr, dict), f"HEADER payload is not JSON: {short(recs[0])}")
    eq(hdr.get("epoch"), tp.epoch, "HEADER epoch")
    eq(hdr.get("format"), 1, "HEADER format")
    for r in ROOMS:
        for ev in tp.events[r]:
            i = tp.rec_with(ev["broadcastId"])
            check(i is not None and i > 0, f"event seq {ev['seq']} of {r} is in no journal record")
    check(all("payload" in rec for rec in recs), "a record's payload is not JSON (payloadBase64)")


def usage_errors(tp, tmp):
    rc, out, err = dh.journal("verify", os.path.join(tmp, "does-not-exist"))
    eq(rc, 2, "verify of a missing directory")
    empty = os.path.join(tmp, "empty-dir")
    os.makedirs(empty, exist_ok=True)
    eq(dh.journal("dump", empty)[0], 2, "dump of a directory without a journal")
    r = subprocess.run(dh.journal_cmd(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    eq(r.returncode, 2, "no arguments")
    r = subprocess.run(dh.journal_cmd() + ["frobnicate", tp.data], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    eq(r.returncode, 2, "unknown command")


def torn(tp, cut_to_what):
    last = tp.records[-1]
    off, ln = last["offset"], last["length"]
    size = len(tp.bytes)
    d = tp.copy(f"torn-{cut_to_what}")
    path = os.path.join(d, "journal")
    if cut_to_what == "minus3":
        data = tp.bytes[:-3]
    elif cut_to_what == "header-only":
        data = tp.bytes[:off + FRAME_HDR]
    elif cut_to_what == "5-header-bytes":
        data = tp.bytes[:off + 5]
    elif cut_to_what == "minus1":
        data = tp.bytes[:-1]
    elif cut_to_what == "zero-extension":
        data = tp.bytes + b"\0" * 4096
        off = size
    else:
        raise ValueError(cut_to_what)
    write_file(path, data)
    tail = len(data) - off
    rc, line, m = dh.verify(d, want=(3,))
    eq(int(m.group(1)), off, f"torn offset in {line!r}")
    eq(int(m.group(2)), tail, f"torn bytes in {line!r}")
    recs, err = dh.dump(d, want=(3,))
    eq(len(recs), len(tp.records) - (0 if cut_to_what == "zero-extension" else 1),
       "dump of a torn journal: the good records")
    check("torn" in err, f"dump of a torn journal: the verdict on stderr ({err.strip()!r})")
    if cut_to_what not in ("minus3", "zero-extension"):
        return
    srv = dh.DServer(tp.env, d, label="torn")
    try:
        pat = rf"\b{tail}\b"
        try:
            srv.wait_log(pat, timeout=3)
        except AssertionError:
            raise AssertionError(f"the server cut a torn tail of {tail} bytes at offset {off} "
                                 f"without a log line saying how many bytes (issue 5); log: "
                                 f"{short(srv.log_text()[-600:], 700)}")
        dh.verify(d, want=(0,))
        eq(os.path.getsize(path), off, "journal size after the cut")
        r = ROOMS[1]
        bids, w = dh.run(room_bids(srv, r, tp.epoch))
        want = [e["broadcastId"] for e in tp.events[r]]
        if cut_to_what == "minus3":
            lost = tp.rec_with(want[-1])
            eq(lost, len(tp.records) - 1, "the last record holds the last event")
            want = want[:-1]
        eq(bids, want, "events after the cut")
        eq(w["epoch"], tp.epoch, "epoch after cutting a torn tail")

        async def write():
            c = await Client.open(srv, T, r, user="ann", name="Ann")
            ev = await c.ok(new_chat("after the cut"))
            eq(ev["seq"], len(want) + 1, "seq after the cut")
            await c.close()
        dh.run(write())
        srv.stop()
        srv = None
        dh.verify(d, want=(0,))
    finally:
        if srv is not None:
            srv.kill9()


_ENV = {}


def check_repaired(tp, srv, kept_if, off):
    """After a --repair that kept a prefix: a NEW epoch (PROTOCOL.md 8, seq
    never goes back within one), logged; a client of the old epoch gets a
    snapshot equal to the kept events; the new epoch replays them all."""
    check(re.search(r"NEW EPOCH [0-9a-f-]{36} after the repair", srv.log_text()),
          f"no loud new-epoch line after the repair: {short(srv.log_text()[-600:], 700)}")
    for r in ROOMS:
        kept = [e for e in tp.events[r] if kept_if(e)]
        chats, seq, w, _ = dh.run(dh.fresh(srv, T, r, since=tp.events[r][-1]["seq"],
                                           epoch=tp.epoch, label="old-epoch"))
        check(w["epoch"] != tp.epoch, f"a repair that moved data aside at offset {off} kept "
              "the epoch (seq could go back within it)")
        eq(w["resync"], "snapshot", "resync of a client of the old epoch after the repair")
        eq(seq, kept[-1]["seq"] if kept else 0, f"seq of {r} after the repair")
        dh.same_state(chats, dh.model_of(kept), f"snapshot of {r} vs the kept events")
        bids, w2 = dh.run(room_bids(srv, r, w["epoch"]))
        eq(bids, [e["broadcastId"] for e in kept],
           f"events of {r} after the repair (those before offset {off})")


def corrupt(tp, where):
    recs = tp.records
    mid = len(recs) // 2
    if where == "payload":
        i = mid
        pos = recs[i]["offset"] + FRAME_HDR + recs[i]["length"] // 2
    elif where == "length":
        i = mid
        pos = recs[i]["offset"] + 1
    elif where == "type":
        i = mid
        pos = recs[i]["offset"] + 8
    elif where == "header-record":
        i = 0
        pos = FRAME_HDR + recs[0]["length"] // 2
    elif where == "junk-after-last":
        i = len(recs)
        pos = None
    else:
        raise ValueError(where)
    off = recs[i]["offset"] if i < len(recs) else len(tp.bytes)
    d = tp.copy(f"corrupt-{where}")
    path = os.path.join(d, "journal")
    data = flip(tp.bytes, pos) if pos is not None else tp.bytes + bytes(range(1, 41))
    write_file(path, data)
    rc, line, m = dh.verify(d, want=(1,))
    eq(int(m.group(1)), off, f"corrupt offset in {line!r}")
    recs2, err = dh.dump(d, want=(1,))
    eq(len(recs2), i, "dump of a corrupt journal: the records before the damage")
    check(str(off) in err, f"dump's verdict on stderr names offset {off}: {err.strip()!r}")
    # the server refuses, naming the offset, and changes nothing
    rc, out, err = dh.start_fails(tp.env, d)
    check(re.search(rf"\b{off}\b", out + err),
          f"refusal message does not name offset {off}: {short((out + err)[-500:], 600)}")
    eq(read_file(path), data, "journal after a refused start (must be untouched)")
    check(not glob.glob(os.path.join(d, "journal.corrupt-*")), "refused start moved data aside")
    # --repair: keep the good prefix, move the rest aside
    srv = dh.DServer(tp.env, d, ["--repair"], label="repair")
    try:
        moved = glob.glob(os.path.join(d, "journal.corrupt-*"))
        eq(len(moved), 1, "files moved aside by --repair")
        eq(read_file(moved[0]), data[off:], "bytes moved aside (from the damage to the end)")
        dh.verify(d, want=(0,))
        if where == "header-record":
            # nothing before the damage: a new journal, a new history
            bids, w = dh.run(room_bids(srv, ROOMS[0], tp.epoch))
            check(w["epoch"] != tp.epoch, "repair of a damaged HEADER kept the old epoch")
            eq(w["seq"], 0, "seq after repairing a damaged HEADER")
        else:
            check_repaired(tp, srv, lambda e: tp.rec_with(e["broadcastId"]) < i, off)

        async def write():
            c = await Client.open(srv, T, ROOMS[0], user="ann", name="Ann")
            await c.ok(new_chat("after the repair"))
            await c.close()
        dh.run(write())
        srv.stop()
        srv = None
        dh.verify(d, want=(0,))
        # the repaired directory starts again without --repair
        srv = dh.DServer(tp.env, d, label="after-repair")
        srv.stop()
        srv = None
    finally:
        if srv is not None:
            srv.kill9()


def replay_gap(tp):
    """A well-framed journal the server cannot replay: one event record of
    the first room spliced out, so the next one's seq does not follow.
    verify: exit 1 naming that record's offset and the reason; dump is
    unchanged; the server refuses naming it; --repair keeps the records
    before it, moves the rest aside byte for byte, and starts a new
    epoch."""
    bids = [e["broadcastId"] for e in tp.events[ROOMS[0]]]
    gone = tp.rec_with(bids[3])
    rec = tp.records[gone]
    off = rec["offset"]
    data = tp.bytes[:off] + tp.bytes[off + FRAME_HDR + rec["length"]:]
    d = tp.copy("replay-gap")
    path = os.path.join(d, "journal")
    write_file(path, data)
    rc, line, m = dh.verify(d, want=(1,))
    eq(int(m.group(1)), off, f"offset in {line!r}")
    check("does not follow" in line, f"verify names the reason: {line!r}")
    recs2, err = dh.dump(d, want=(0,))
    eq(len(recs2), len(tp.records) - 1, "dump of a journal with a seq gap")
    rc, out, err = dh.start_fails(tp.env, d)
    check(re.search(rf"\b{off}\b", out + err) and "does not follow" in err,
          f"refusal does not name offset {off} and the reason: {short(err[-500:], 600)}")
    check("--repair" in err, "the refusal points to --repair")
    eq(read_file(path), data, "journal after a refused start (must be untouched)")
    srv = dh.DServer(tp.env, d, ["--repair"], label="repair")
    try:
        moved = glob.glob(os.path.join(d, "journal.corrupt-*"))
        eq(len(moved), 1, "files moved aside by --repair")
        eq(read_file(moved[0]), data[off:], "bytes moved aside (from the record to the end)")
        dh.verify(d, want=(0,))
        check(re.search(rf"REPAIRED a record that cannot be replayed at offset {off}\b",
                        srv.log_text()), f"repair log line: {short(srv.log_text()[-600:], 700)}")
        check("journal: journal:" not in srv.log_text(), "doubled log prefix")
        check_repaired(tp, srv, lambda e: tp.rec_with(e["broadcastId"]) < gone, off)
        srv.stop()
        srv = None
        dh.verify(d, want=(0,))
        srv = dh.DServer(tp.env, d, label="after-repair")
        srv.stop()
        srv = None
    finally:
        if srv is not None:
            srv.kill9()


def help_text(tp):
    """--help documents the verify lines as printed (the torn line's
    "(R good records before it)" included) and the replay check."""
    r = subprocess.run(dh.journal_cmd() + ["--help"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    eq(r.returncode, 0, "--help exit status")
    text = " ".join(r.stdout.decode().split())
    check("bytes after it (R good records before it)" in text,
          f"--help does not show the torn line as printed: {text!r}")
    check("does not follow" in text, "--help does not mention the replay check")


def lock(tp):
    d = tp.copy("lock")
    a = dh.DServer(tp.env, d, label="first")
    try:
        rc, out, err = dh.start_fails(tp.env, d)
        check(err.strip() or out.strip(), "second server refused without saying why")
        check("in use by another server" in err, f"lock refusal: {err.strip()!r}")
        check("another server uses this directory" not in err,
              f"the lock refusal says it twice: {err.strip()!r}")

        async def still_serving(srv):
            c = await Client.open(srv, T, ROOMS[0], user="ann", name="Ann")
            await c.ok(new_chat("first server still serves"))
            await c.close()
        dh.run(still_serving(a))
        dh.verify(d, want=(0,))  # beside a live (idle) server: no lock taken
        a.kill9()
        b = dh.DServer(tp.env, d, label="after-kill")  # the lock died with its owner
        try:
            dh.run(still_serving(b))
            b.stop()
        finally:
            b.kill9()
    finally:
        a.kill9()


def leftover_compact(tp):
    d = tp.copy("leftover")
    junk = os.path.join(d, "journal.compact")
    write_file(junk, b"\x07" * 100)
    rc, out, err = dh.journal("verify", d)
    eq(rc, 0, f"verify with a leftover journal.compact: {out.strip()!r}")
    check("journal.compact" in err, f"verify notes the leftover journal.compact: {err.strip()!r}")
    srv = dh.DServer(tp.env, d, label="leftover")
    try:
        check(not os.path.exists(junk), "the server left an interrupted journal.compact in place")
        bids, w = dh.run(room_bids(srv, ROOMS[0], tp.epoch))
        eq(bids, [e["broadcastId"] for e in tp.events[ROOMS[0]]], "events beside a leftover compact")
        srv.stop()
        srv = None
    finally:
        if srv is not None:
            srv.kill9()


def main():
    env = dh.Env()
    r = h.Runner("journal-tool", against=" ".join(dh.server_cmd() + ["+"] + dh.journal_cmd()))
    tp = None
    try:
        r.case("setup: a server writes 12 events in 2 rooms, stops cleanly",
               lambda: _ENV.setdefault("tp", Template(env)))
        tp = _ENV.get("tp")
        if tp is None:
            return r.summary()
        r.case("verify on a sound journal: exit 0; dump: one JSON line per record", sound, tp)
        r.case("usage errors: exit 2", usage_errors, tp, env.dir)
        r.case("torn: 3 bytes cut: exit 3; server cuts and logs the size", torn, tp, "minus3")
        r.case("torn: 1 byte cut: exit 3", torn, tp, "minus1")
        r.case("torn: only the last frame header left: exit 3", torn, tp, "header-only")
        r.case("torn: 5 bytes of the last frame header: exit 3", torn, tp, "5-header-bytes")
        r.case("torn: zero-filled extension: exit 3; server cuts it", torn, tp, "zero-extension")
        r.case("corrupt payload byte mid-journal: exit 1; refused; --repair", corrupt, tp, "payload")
        r.case("corrupt length field mid-journal: exit 1; refused; --repair", corrupt, tp, "length")
        r.case("corrupt type byte mid-journal: exit 1; refused; --repair", corrupt, tp, "type")
        r.case("corrupt HEADER record: exit 1; refused; --repair starts a new epoch",
               corrupt, tp, "header-record")
        r.case("junk after the last record: exit 1; refused; --repair", corrupt, tp, "junk-after-last")
        r.case("seq gap (a well-framed record the server cannot replay): verify exit 1; "
               "refused; --repair keeps the prefix, new epoch", replay_gap, tp)
        r.case("--help matches the verify output", help_text, tp)
        r.case("a second server on the same data directory fails to start (lock)", lock, tp)
        r.case("leftover journal.compact: noted by verify, removed by the server",
               leftover_compact, tp)
    finally:
        env.cleanup()
    return r.summary()


if __name__ == "__main__":
    sys.exit(main())
