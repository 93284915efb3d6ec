#!/usr/bin/python3
"""collab-server: operations and events (PROTOCOL.md sections 4 and 5, the
closes of section 6 they cause): every operation and action with its exact
event, echo and delivery, each rejection code, retries by broadcastId, seq
continuity, batching, user counts and their throttling, 1003/1008/1009.

Runs `$ASAN_BIN/collab-server` (or SERVER_CMD) on port 0. Prints
`N passed, N failed`; CASE=substring runs a subset, VERBOSE=1 shows traces.
"""
import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
import helpers as h  # noqa: E402
import server_helpers as sh  # noqa: E402
from server_helpers import (Client, add_comment, check, check_error, check_event,  # noqa: E402
                            delete_chat, delete_comment, dumps, edit_comment, eq,
                            new_chat, resolve, uid)

T = "t"          # limits raised
SMALL = "small"  # maxChatsPerRoom 3, maxCommentsPerChat 2
RL = "rl"        # opsPerSecond 2, opsBurst 3
DFLT = "dflt"    # default limits
ROOM_N = [0]


def room(prefix="room"):
    ROOM_N[0] += 1
    return f"https://example.test/{prefix}/{ROOM_N[0]}?q={uid()}"


async def fresh_chats(srv, tenant, url_id):
    """The room's chats as a new anonymous connection's snapshot shows them,
    and its seq."""
    c = await Client.open(srv, tenant, url_id, label="fresh")
    try:
        return c.snapshot_chats(), c.welcome["seq"]
    finally:
        await c.close()


# --------------------------------------------------------------------------
# accepted operations

async def every_operation(srv):
    r = room("every")
    a = await Client.open(srv, T, r, user="u1", name="Ann")
    a2 = await Client.open(srv, T, r, user="u1", name="Ann", label="u1-tab2")
    b = await Client.open(srv, T, r, user="u2")  # no name: userName is the sub
    m = await Client.open(srv, T, r, user="mod", name="Mo", moderator=True)
    anon = await Client.open(srv, T, r)
    eq(a.welcome["user"], {"id": "u1", "name": "Ann", "moderator": False}, "welcome user")
    eq(b.welcome["user"], {"id": "u2", "name": "u2", "moderator": False}, "name falls back to sub")
    eq(m.welcome["user"], {"id": "mod", "name": "Mo", "moderator": True}, "moderator flag")
    everyone = (a, a2, b, m, anon)
    seq0 = a.seq
    expect_seq = [seq0]

    async def run(sender, op, user_id, user_name):
        t0 = sh.now_ms()
        ev = await sender.ok(op)
        check_event(ev, op, user_id, user_name)
        expect_seq[0] += 1
        eq(ev["seq"], expect_seq[0], "seq rises by one per event")
        check(t0 - 5000 <= ev["ts"] <= sh.now_ms() + 5000, "ts is the server's time in ms")
        for c in everyone:
            if c is sender:
                continue
            got = await c.answer(op["broadcastId"])
            eq(got, ev, f"event as delivered to {c.name}")
        return ev

    anchor = {"quote": "quoted text", "selector": "#p1 > span", "offsets": [12, 40],
              "nested": {"n": None, "t": True, "f": False, "u": "\u00e9\u20ac\U0001F600",
                         "neg": -7, "big": 9007199254740991, "arr": [[], {}]}}
    op = new_chat("first comment", anchor)
    op["extra"] = "not relayed"
    op["chat"]["extra"] = {"x": 1}
    op["chat"]["comment"]["extra"] = [1]
    ev = await run(a, op, "u1", "Ann")
    chat_id, first = op["chat"]["id"], op["chat"]["comment"]["id"]
    # a typical event (100-byte comment, small anchor) is under 1 KiB
    typ = new_chat("c" * 100, {"quote": "some quoted text", "offset": 120})
    tev = await run(a, typ, "u1", "Ann")
    raw = [x for x in a.raw if typ["broadcastId"] in x]
    eq(len(raw), 1, "raw event")
    check(len(raw[0].encode()) + 4 < 1024, f"a typical new-text-chat event is {len(raw[0].encode())} bytes")
    await run(a, delete_chat(tev["chat"]["id"]), "u1", None)
    eq(ev["chat"]["anchor"], anchor, "anchor relayed unchanged")
    eq(list(ev["chat"]["anchor"].keys()), list(anchor.keys()), "anchor member order")

    op = add_comment(chat_id, "a reply from u2 \u2603")
    op["comment"]["extra"] = True
    ev = await run(b, op, "u2", "u2")
    reply = op["comment"]["id"]
    await run(b, edit_comment(chat_id, reply, "edited by its author"), "u2", None)
    await run(a2, edit_comment(chat_id, first, "edited from the author's other tab"), "u1", None)
    await run(m, delete_comment(chat_id, reply), "mod", None)
    op = add_comment(chat_id, "own comment")
    await run(b, op, "u2", "u2")
    await run(b, delete_comment(chat_id, op["comment"]["id"]), "u2", None)
    await run(a, resolve(chat_id, True), "u1", None)
    chats, _ = await fresh_chats(srv, T, r)
    eq(len(chats), 1, "live chats")
    eq(chats[0]["resolved"], True, "resolved in a snapshot")
    eq([c["text"] for c in chats[0]["comments"]], ["edited from the author's other tab"],
       "comments in a snapshot")
    eq(chats, a.model.as_list(), "snapshot equals the state built from events")
    await run(m, resolve(chat_id, False), "mod", None)
    await run(a, resolve(chat_id, False), "u1", None)  # a repeated resolve is still an event
    await run(a, delete_chat(chat_id), "u1", None)
    op = new_chat("second chat")
    await run(m, op, "mod", "Mo")
    await run(m, delete_chat(op["chat"]["id"]), "mod", None)
    chats, seq = await fresh_chats(srv, T, r)
    eq(chats, [], "no live chat after the deletes")
    eq(seq, expect_seq[0], "room seq")
    for c in everyone:
        eq(c.seq, expect_seq[0], f"{c.name} applied every event")
        eq(c.model.as_list(), [], f"{c.name} state")
        await c.close()


async def cross_tab(srv):
    """Other tabs of the same user are other connections: they get the event
    with the sender's broadcastId, and the sender gets it once."""
    r = room("tabs")
    t1 = await Client.open(srv, T, r, user="same", name="Same")
    t2 = await Client.open(srv, T, r, user="same", name="Same", label="tab2")
    t3 = await Client.open(srv, T, r, user="same", name="Same", label="tab3")
    op = new_chat("from tab 1")
    ev = await t1.ok(op)
    for t in (t2, t3):
        got = await t.answer(op["broadcastId"])
        eq(got, ev, f"{t.name} event")
    op2 = add_comment(op["chat"]["id"], "from tab 3")
    ev2 = await t3.ok(op2)
    eq(await t1.answer(op2["broadcastId"]), ev2, "tab1 got tab3's event")
    await t1.expect_nothing(0.3)  # exactly one copy each
    for t in (t1, t2, t3):
        await t.catch_up(ev2["seq"])
        eq(t.model.as_list(), t1.model.as_list(), "tabs agree")
        await t.close()


# --------------------------------------------------------------------------
# rejections

def _bad_ops(chat_id, comment_id):
    """(label, message text or object, expected error broadcastId: "same"
    for the op's own, None for null)."""
    out = []

    def add(label, msg, bid="same"):
        out.append((label, msg, bid))

    add("not JSON", "{not json", None)
    add("truncated JSON", '{"type":"new-text-chat"', None)
    add("JSON array", "[1,2,3]", None)
    add("JSON string", '"new-text-chat"', None)
    add("JSON null", "null", None)
    add("unknown type", {"type": "no-such-op", "broadcastId": uid()})
    add("type null", {"type": None, "broadcastId": uid()})
    add("type missing", {"broadcastId": uid(), "chatId": chat_id})
    add("unknown action", {"type": "updated-text-chat", "broadcastId": uid(), "chatId": chat_id,
                           "action": "frobnicate"})
    add("action null", {"type": "updated-text-chat", "broadcastId": uid(), "chatId": chat_id,
                        "action": None})
    add("action missing", {"type": "updated-text-chat", "broadcastId": uid(), "chatId": chat_id})
    o = new_chat(); del o["broadcastId"]; add("broadcastId missing", o, None)
    o = new_chat(); o["broadcastId"] = None; add("broadcastId null", o, None)
    o = new_chat(); o["broadcastId"] = 12; add("broadcastId number", o, None)
    o = new_chat(); o["broadcastId"] = "not-a-uuid"; add("broadcastId not a UUID", o, None)
    o = new_chat(); o["broadcastId"] = uid().upper(); add("broadcastId uppercase UUID", o, None)
    o = new_chat(); o["broadcastId"] = "{" + uid() + "}"; add("broadcastId braced UUID", o, None)
    o = new_chat(); o["broadcastId"] = uid().replace("-", ""); add("broadcastId without dashes", o, None)
    o = new_chat(); del o["chat"]; add("new chat: chat missing", o)
    o = new_chat(); o["chat"] = None; add("new chat: chat null", o)
    o = new_chat(); o["chat"] = "x"; add("new chat: chat a string", o)
    o = new_chat(); del o["chat"]["id"]; add("new chat: id missing", o)
    o = new_chat(); o["chat"]["id"] = None; add("new chat: id null", o)
    o = new_chat(); o["chat"]["id"] = "chat-1"; add("new chat: id not a UUID", o)
    o = new_chat(); o["chat"]["id"] = o["chat"]["id"].upper(); add("new chat: id uppercase UUID", o)
    o = new_chat(); o["chat"]["id"] = uid()[:-1] + "g"; add("new chat: id with a non-hex digit", o)
    o = new_chat(); del o["chat"]["anchor"]; add("new chat: anchor missing", o)
    o = new_chat(); o["chat"]["anchor"] = None; add("new chat: anchor null", o)
    o = new_chat(); o["chat"]["anchor"] = []; add("new chat: anchor an array", o)
    o = new_chat(); o["chat"]["anchor"] = "p1"; add("new chat: anchor a string", o)
    o = new_chat(); del o["chat"]["comment"]; add("new chat: comment missing", o)
    o = new_chat(); o["chat"]["comment"] = None; add("new chat: comment null", o)
    o = new_chat(); del o["chat"]["comment"]["id"]; add("new chat: comment id missing", o)
    o = new_chat(); o["chat"]["comment"]["id"] = 7; add("new chat: comment id a number", o)
    o = new_chat(); del o["chat"]["comment"]["text"]; add("new chat: text missing", o)
    o = new_chat(); o["chat"]["comment"]["text"] = None; add("new chat: text null", o)
    o = new_chat(); o["chat"]["comment"]["text"] = 5; add("new chat: text a number", o)
    o = new_chat(""); add("new chat: empty text", o)
    o = add_comment(chat_id); del o["chatId"]; add("add-comment: chatId missing", o)
    o = add_comment(chat_id); o["chatId"] = None; add("add-comment: chatId null", o)
    o = add_comment(chat_id); o["chatId"] = "1234"; add("add-comment: chatId not a UUID", o)
    o = add_comment(chat_id); o["chatId"] = chat_id.upper(); add("add-comment: chatId uppercase", o)
    o = add_comment(chat_id); del o["comment"]; add("add-comment: comment missing", o)
    o = add_comment(chat_id); o["comment"]["id"] = "x"; add("add-comment: comment id bad", o)
    o = add_comment(chat_id, ""); add("add-comment: empty text", o)
    o = add_comment(chat_id); o["comment"]["text"] = ["a"]; add("add-comment: text an array", o)
    o = edit_comment(chat_id, comment_id); del o["commentId"]; add("edit-comment: commentId missing", o)
    o = edit_comment(chat_id, comment_id); o["commentId"] = None; add("edit-comment: commentId null", o)
    o = edit_comment(chat_id, comment_id); o["commentId"] = comment_id.upper()
    add("edit-comment: commentId uppercase", o)
    o = edit_comment(chat_id, comment_id); del o["text"]; add("edit-comment: text missing", o)
    o = edit_comment(chat_id, comment_id); o["text"] = None; add("edit-comment: text null", o)
    o = edit_comment(chat_id, comment_id, ""); add("edit-comment: empty text", o)
    o = delete_comment(chat_id, comment_id); del o["commentId"]; add("delete-comment: commentId missing", o)
    o = delete_comment(chat_id, comment_id); o["commentId"] = 1; add("delete-comment: commentId a number", o)
    o = resolve(chat_id); del o["resolved"]; add("resolve: resolved missing", o)
    o = resolve(chat_id); o["resolved"] = None; add("resolve: resolved null", o)
    o = resolve(chat_id); o["resolved"] = "true"; add("resolve: resolved a string", o)
    o = resolve(chat_id); o["resolved"] = 1; add("resolve: resolved a number", o)
    o = delete_chat(chat_id); del o["chatId"]; add("delete chat: chatId missing", o)
    o = delete_chat(chat_id); o["chatId"] = 123; add("delete chat: chatId a number", o)
    o = delete_chat(chat_id); o["chatId"] = ""; add("delete chat: chatId empty", o)
    return out


async def rejected_invalid(srv):
    r = room("invalid")
    a = await Client.open(srv, T, r, user="u1")
    obs = await Client.open(srv, T, r, user="u2")
    op = new_chat("keep me")
    await a.ok(op)
    await obs.answer(op["broadcastId"])
    chat_id, comment_id = op["chat"]["id"], op["chat"]["comment"]["id"]
    before, seq = await fresh_chats(srv, T, r)
    failures = []
    for label, msg, bid in _bad_ops(chat_id, comment_id):
        await a.send(msg)
        want_bid = msg["broadcastId"] if bid == "same" else None
        try:
            got = await a.take(lambda m: m.get("type") == "error" or m.get("type") in sh.EVENT_TYPES,
                               what=f"answer to {label}")
            check_error(got, "invalid", bid=want_bid)
        except AssertionError as e:
            failures.append(f"{label}: {e}")
    # only the sender saw errors, and nothing was applied
    marker = add_comment(chat_id, "marker")
    ev = await a.ok(marker)
    got = await obs.next()
    eq(got, ev, "the observer's next message is the marker event (no error, no event before)")
    eq(ev["seq"], seq + 1, "rejected operations took no seq")
    after, _ = await fresh_chats(srv, T, r)
    before[0]["comments"].append(ev["comment"])
    eq(after, before, "state after rejections")
    await a.close()
    await obs.close()
    check(not failures, f"{len(failures)} wrong answers:\n  " + "\n  ".join(failures))


async def rejected_forbidden(srv):
    r = room("forbidden")
    a = await Client.open(srv, T, r, user="author", name="Au")
    a2 = await Client.open(srv, T, r, user="author", name="Au", label="author-tab2")
    b = await Client.open(srv, T, r, user="other")
    m = await Client.open(srv, T, r, user="mod", moderator=True)
    anon = await Client.open(srv, T, r)
    eq(anon.welcome["user"], None, "anonymous welcome user")
    op = new_chat("by the author")
    await a.ok(op)
    chat, first = op["chat"]["id"], op["chat"]["comment"]["id"]
    op = add_comment(chat, "by other")
    await b.ok(op)
    other_c = op["comment"]["id"]
    seq = b.seq
    await wait_all((a, a2, b, m, anon), seq)

    await anon.rejected(new_chat("anonymous"), "forbidden")
    await anon.rejected(add_comment(chat, "anonymous"), "forbidden")
    await anon.rejected(edit_comment(chat, first, "anonymous"), "forbidden")
    await anon.rejected(resolve(chat), "forbidden")
    await anon.rejected(delete_chat(chat), "forbidden")
    await b.rejected(edit_comment(chat, first, "not mine"), "forbidden")
    await m.rejected(edit_comment(chat, first, "moderators do not edit"), "forbidden")
    await a.rejected(edit_comment(chat, other_c, "chat author is not comment author"), "forbidden")
    await b.rejected(delete_comment(chat, first), "forbidden")
    await a.rejected(delete_comment(chat, other_c), "forbidden")
    await b.rejected(resolve(chat, True), "forbidden")
    await b.rejected(delete_chat(chat), "forbidden")
    # nothing reached anyone else, nothing changed
    for c in (a2, m, anon):
        await c.expect_nothing(0.2)
    chats, s = await fresh_chats(srv, T, r)
    eq(s, seq, "seq after forbidden operations")
    eq(chats, a.model.as_list(), "state after forbidden operations")
    # what is allowed
    await a2.ok(edit_comment(chat, first, "author, other tab"))
    await m.ok(delete_comment(chat, other_c))
    await m.ok(resolve(chat, True))
    await a.ok(resolve(chat, False))
    await b.ok(add_comment(chat, "anyone with a token may comment"))
    await m.ok(delete_chat(chat))
    op = new_chat("second")
    await b.ok(op)
    await b.ok(resolve(op["chat"]["id"]))
    await b.ok(delete_chat(op["chat"]["id"]))
    await wait_all((a, a2, b, m, anon), b.seq)
    for c in (a, a2, b, m, anon):
        await c.close()


async def wait_all(clients, seq, timeout=5.0):
    """Each client reaches seq; the events it read are dropped."""
    for c in clients:
        await c.catch_up(seq, timeout)
        c.items = [x for x in c.items if x.get("type") not in sh.EVENT_TYPES]


async def rejected_not_found(srv):
    r = room("notfound")
    a = await Client.open(srv, T, r, user="u1", moderator=True)
    op = new_chat("x")
    await a.ok(op)
    chat, first = op["chat"]["id"], op["chat"]["comment"]["id"]
    ghost, ghost_c = uid(), uid()
    seq = a.seq
    for o in (add_comment(ghost), edit_comment(ghost, first), delete_comment(ghost, first),
              resolve(ghost), delete_chat(ghost), edit_comment(chat, ghost_c),
              delete_comment(chat, ghost_c)):
        await a.rejected(o, "not-found")
    op2 = add_comment(chat, "to delete")
    await a.ok(op2)
    await a.ok(delete_comment(chat, op2["comment"]["id"]))
    await a.rejected(edit_comment(chat, op2["comment"]["id"]), "not-found")
    await a.rejected(delete_comment(chat, op2["comment"]["id"]), "not-found")
    await a.ok(delete_chat(chat))
    for o in (add_comment(chat), edit_comment(chat, first), resolve(chat), delete_chat(chat)):
        await a.rejected(o, "not-found")
    chats, s = await fresh_chats(srv, T, r)
    eq((chats, s), ([], seq + 3), "state and seq")
    await a.close()


async def rejected_conflict(srv):
    r = room("conflict")
    a = await Client.open(srv, T, r, user="u1")
    b = await Client.open(srv, T, r, user="u2")
    op = new_chat("one")
    await a.ok(op)
    chat, first = op["chat"]["id"], op["chat"]["comment"]["id"]
    await b.answer(op["broadcastId"])
    await a.rejected(new_chat("same chat id", chat_id=chat), "conflict")
    await b.rejected(new_chat("same chat id, other user", chat_id=chat), "conflict")
    await a.rejected(add_comment(chat, "same id as the first comment", comment_id=first), "conflict")
    c2 = add_comment(chat, "two")
    await b.ok(c2)
    await a.rejected(add_comment(chat, "same id again", comment_id=c2["comment"]["id"]), "conflict")
    # comment ids are unique within their chat only
    other = new_chat("other chat, same first comment id", comment_id=first)
    await a.ok(other)
    await a.ok(add_comment(other["chat"]["id"], "and a reused reply id", comment_id=c2["comment"]["id"]))
    # a broadcastId of a retained event, sent by another user
    await b.rejected(new_chat("b reuses a's broadcastId", bid=op["broadcastId"]), "conflict")
    await b.rejected(add_comment(chat, "again", bid=other["broadcastId"]), "conflict")
    # ids are unique among LIVE chats / comments: reuse after a delete is allowed
    await b.ok(delete_comment(chat, c2["comment"]["id"]))
    await b.ok(add_comment(chat, "reused id of a deleted comment", comment_id=c2["comment"]["id"]))
    await a.ok(delete_chat(chat))
    await a.ok(new_chat("reused id of a deleted chat", chat_id=chat))
    chats, s = await fresh_chats(srv, T, r)
    eq(chats, a.model.as_list(), "state")
    eq(s, a.seq, "seq")
    await a.close()
    await b.close()


def text_of(nbytes):
    """UTF-8 text of exactly nbytes bytes with 2-byte characters."""
    s = "\u00e9" * (nbytes // 2) + "a" * (nbytes % 2)
    assert len(s.encode()) == nbytes
    return s


async def rejected_too_large(srv):
    r = room("toolarge")
    a = await Client.open(srv, T, r, user="u1")
    op = new_chat(text_of(4096))
    ev = await a.ok(op)
    chat = op["chat"]["id"]
    eq(ev["chat"]["comments"][0]["text"], text_of(4096), "4096-byte text")
    await a.ok(new_chat("a"))  # 1 byte
    await a.rejected(new_chat(text_of(4097)), "too-large")
    await a.rejected(new_chat("\U0001F600" * 1024 + "a"), "too-large")
    await a.ok(add_comment(chat, "\U0001F600" * 1024))
    await a.rejected(add_comment(chat, text_of(4097)), "too-large")
    first = op["chat"]["comment"]["id"]
    await a.ok(edit_comment(chat, first, text_of(4096)))
    await a.rejected(edit_comment(chat, first, text_of(4097)), "too-large")
    # anchor: at most 2048 bytes as compact JSON; {"q":"..."} is 8 + n bytes
    await a.ok(new_chat("anchor 2048", {"q": "x" * 2040}))
    await a.rejected(new_chat("anchor 2049", {"q": "x" * 2041}), "too-large")
    await a.rejected(new_chat("anchor 8 KiB", {"q": ["y" * 100] * 80}), "too-large")
    # whitespace does not count: the server measures its compact re-encoding
    o = new_chat("padded anchor")
    o["chat"]["anchor"] = "@@ANCHOR@@"
    padded = '{ "q" :   "' + "x" * 2040 + '"' + " " * 3000 + "}"
    raw = dumps(o).replace('"@@ANCHOR@@"', padded)
    await a.send(raw)
    got = await a.answer(o["broadcastId"])
    check(got["type"] == "new-text-chat", f"a whitespace-padded 2048-byte anchor is accepted: {sh.short(got)}")
    eq(got["chat"]["anchor"], {"q": "x" * 2040}, "padded anchor content")
    await a.close()


async def limits_per_room(srv):
    r = room("limits")
    a = await Client.open(srv, SMALL, r, user="u1")
    ops = [new_chat(f"chat {i}") for i in range(3)]
    for o in ops:
        await a.ok(o)
    await a.rejected(new_chat("fourth"), "too-large")
    await a.ok(delete_chat(ops[0]["chat"]["id"]))
    await a.ok(new_chat("fits again after a delete"))
    await a.rejected(new_chat("over again"), "too-large")
    chat = ops[1]["chat"]["id"]
    c2 = add_comment(chat, "second comment: the first one counts")
    await a.ok(c2)
    await a.rejected(add_comment(chat, "third"), "too-large")
    await a.ok(delete_comment(chat, c2["comment"]["id"]))
    await a.ok(add_comment(chat, "fits again after a delete"))
    await a.rejected(add_comment(chat, "over again"), "too-large")
    # other rooms of the tenant have their own count
    b = await Client.open(srv, SMALL, room("limits-other"), user="u1")
    await b.ok(new_chat("another room"))
    chats, _ = await fresh_chats(srv, SMALL, r)
    eq(chats, a.model.as_list(), "state")
    eq(len(chats), 3, "live chats")
    await a.close()
    await b.close()


async def rate_limited(srv):
    r = room("rate")
    a = await Client.open(srv, RL, r, user="u1")
    obs = await Client.open(srv, RL, r, user="u2")
    ops = [new_chat(f"burst {i}") for i in range(10)]
    for o in ops:  # back to back, without waiting for answers
        await a.send(o)
    answers = [await a.answer(o["broadcastId"]) for o in ops]
    ok = [x for x in answers if x["type"] != "error"]
    limited = [x for x in answers if x["type"] == "error"]
    for x, o in zip(answers, ops):
        if x["type"] == "error":
            check_error(x, "rate-limited", op=o)
        else:
            check_event(x, o, "u1")
    check(3 <= len(ok) <= 5, f"{len(ok)} of a burst of 10 accepted with opsBurst 3 and opsPerSecond 2")
    check(answers[0]["type"] != "error" and answers[1]["type"] != "error" and answers[2]["type"] != "error",
          "the first 3 operations after hello fit in the burst")
    eq(len(ok) + len(limited), 10, "answers")
    # the observer saw only the accepted ones
    for x in ok:
        eq(await obs.answer(x["broadcastId"]), x, "observer event")
    await obs.expect_nothing(0.3)
    # tokens come back at 2 per second
    await asyncio.sleep(1.6)
    await a.ok(new_chat("after a pause"))
    # the limit is per connection: another connection of the same user is fresh
    a2 = await Client.open(srv, RL, r, user="u1", label="u1-tab2")
    for i in range(3):
        await a2.ok(new_chat(f"tab 2, {i}"))
    for c in (a, a2, obs):
        await c.close()


async def rate_defaults(srv):
    """Default limits (20 per second, bursts of 40): a burst of 60 gets
    about 40 through; invalid messages take tokens too."""
    r = room("rate-default")
    a = await Client.open(srv, DFLT, r, user="u1")
    ops = [new_chat(f"burst {i}") for i in range(60)]
    for o in ops:
        await a.send(o)
    answers = [await a.answer(o["broadcastId"]) for o in ops]
    n_ok = sum(1 for x in answers if x["type"] != "error")
    for x in answers[:40]:
        check(x["type"] != "error", f"one of the first 40 operations rejected: {sh.short(x)}")
    # (the upper bound leaves room for tokens refilled while a slow machine
    # works through the burst: 20 per second)
    check(40 <= n_ok <= 50, f"{n_ok} of a burst of 60 accepted (burst 40, 20/s)")
    for x, o in zip(answers, ops):
        if x["type"] == "error":
            check_error(x, "rate-limited", op=o)
    await a.close()
    # every message takes a token, a rejected one too
    b = await Client.open(srv, RL, room("rate-tokens"), user="u1")
    for _ in range(3):
        await b.send("not JSON")
    for _ in range(3):
        check_error(await b.take(lambda m: m.get("type") == "error"), "invalid", bid=None)
    await b.rejected(new_chat("no token left"), "rate-limited")
    await b.close()


async def rate_limited_1008(srv):
    """rate-limited rejections count toward the 100 in a row; the accepted
    ones are echoed to the sender before the 1008."""
    rm = room("rate-1008")
    a = await Client.open(srv, RL, rm, user="u1")
    ops = [new_chat(f"flood {i}") for i in range(160)]
    for o in ops:
        try:
            await a.send(o)
        except Exception:  # noqa: BLE001 - closed while sending
            break
    await a.expect_close(1008, timeout=10)
    limited = [m for m in a.items if m.get("type") == "error"]
    chats, _ = await fresh_chats(srv, RL, rm)
    ok = chats
    check(3 <= len(ok) <= 6, f"{len(ok)} accepted before the close")
    for m in limited:
        eq(m["code"], "rate-limited", "error code")
    check(99 <= len(limited) <= 100 + 3 * len(ok), f"{len(limited)} rate-limited answers before the 1008")
    acked = {m["chat"]["id"] for m in a.items if m.get("type") == "new-text-chat"}
    eq(acked, {c["id"] for c in chats}, "every accepted operation echoed to the sender before the 1008")


async def close_1008(srv):
    r = room("1008")
    a = await Client.open(srv, T, r, user="u1")
    ghost = uid()
    ops = [resolve(ghost) for _ in range(99)]
    for o in ops:
        await a.send(o)
    for o in ops:
        check_error(await a.answer(o["broadcastId"]), "not-found", op=o)
    await a.ok(new_chat("an accepted operation ends the row"))
    ops = [resolve(ghost) for _ in range(99)]
    for o in ops:
        await a.send(o)
    for o in ops:
        check_error(await a.answer(o["broadcastId"]), "not-found", op=o)
    await a.send("not json either")  # a rejection too: the row is now 100
    code = await a.expect_close(1008, timeout=10)
    eq(code, 1008, "close code")
    errs = [m for m in a.items if m.get("type") == "error"]
    check(len(errs) <= 1, f"{len(errs)} errors after the 100th rejection")
    # the server is fine and the room unchanged
    chats, _ = await fresh_chats(srv, T, r)
    eq(len(chats), 1, "chats")


async def close_1008_after_echoes(srv):
    """Valid operations, then 100 invalid ones, in ONE TCP write (one loop
    turn): the 100th rejection closes with 1008 only after the turn's
    broadcast, so the sender gets the echoes of the valid ones (its
    acknowledgements) and then the close; others get the events."""
    r = room("1008-echo")
    obs = await Client.open(srv, T, r, user="observer")
    loop = asyncio.get_running_loop()
    w = await loop.run_in_executor(None, raw_writer, srv, T, r, "writer")
    good = [new_chat(f"kept {i}") for i in range(5)]
    ghost = uid()
    bad = [resolve(ghost) for _ in range(100)]
    late = new_chat("after the 100th rejection: ignored")
    blob = b"".join(h.build_frame(h.OP_TEXT, dumps(o).encode()) for o in good + bad + [late])
    w.ws.send_raw(blob)  # one TCP write

    def read_to_close():
        got = []
        while True:
            try:
                m = w.recv(10)
            except sh.Closed as e:
                return got, e.code
            got += m["events"] if m["type"] == "batch" else [m]
    got, code = await loop.run_in_executor(None, read_to_close)
    eq(code, 1008, "close code")
    echoes = [m["broadcastId"] for m in got if m["type"] == "new-text-chat"]
    eq(echoes, [o["broadcastId"] for o in good], "echoes of the valid operations before the close")
    errs = [m for m in got if m["type"] == "error"]
    eq(len(errs), 100, "one error per invalid operation")
    for m, o in zip(errs, bad):
        check_error(m, "not-found", op=o)
    for o in good:
        await obs.answer(o["broadcastId"])
    await loop.run_in_executor(None, w.ws.close_socket)
    chats, _ = await fresh_chats(srv, T, r)
    eq(sorted(c["id"] for c in chats), sorted(o["chat"]["id"] for o in good),
       "the room holds the valid operations, not the one after the 1008")
    await obs.close()


async def retry_same_user(srv):
    r = room("retry")
    a = await Client.open(srv, T, r, user="u1", name="Ann")
    b = await Client.open(srv, T, r, user="u2")
    op = new_chat("applied once")
    ev = await a.ok(op)
    eq(await b.answer(op["broadcastId"]), ev, "b got the event")
    # the same connection retries: the original event to the sender alone
    got = await a.op(op)
    eq(got, ev, "retry answered with the original event")
    # reconnect (TCP cut) and retry after synced, as PROTOCOL 4 says
    a.abort()
    a2 = await Client.open(srv, T, r, user="u1", name="Ann", resume=a, label="u1-again")
    eq(a2.welcome["resync"], "replay", "resync after a cut")
    eq(a2.replayed, [], "nothing missed")
    got = await a2.op(op)
    eq(got, ev, "retry after reconnect: the original event, same seq")
    # even with other content, the same broadcastId from the same user is that event
    changed = new_chat("different content", bid=op["broadcastId"])
    eq(await a2.op(changed), ev, "retry with other content")
    await b.expect_nothing(0.3)
    marker = add_comment(op["chat"]["id"], "marker")
    mev = await a2.ok(marker)
    eq(mev["seq"], ev["seq"] + 1, "retries took no seq")
    eq(await b.next(), mev, "b's next message is the marker: retries reached nobody else")
    # a retry of an update, too
    up = edit_comment(op["chat"]["id"], op["chat"]["comment"]["id"], "edited once")
    uev = await a2.ok(up)
    await b.answer(up["broadcastId"])
    eq(await a2.op(up), uev, "retry of an edit")
    # another user with that broadcastId: conflict
    await b.rejected(new_chat("b", bid=up["broadcastId"]), "conflict")
    await b.expect_nothing(0.2)
    await a2.expect_nothing(0.2)
    chats, s = await fresh_chats(srv, T, r)
    eq(s, uev["seq"], "seq")
    eq(chats, b.model.as_list(), "state")
    eq(len(chats[0]["comments"]), 2, "comments")
    await a2.close()
    await b.close()


async def seq_continuity(srv):
    r = room("seq")
    obs = await Client.open(srv, T, r, user="observer")
    writers = [await Client.open(srv, T, r, user=f"w{i}") for i in range(5)]
    seq0 = obs.seq

    async def write(c):
        chat = None
        ops = []
        for j in range(100):
            if j % 4 == 0:
                o = new_chat(f"{c.name} chat {j}")
                chat = o["chat"]["id"]
            else:
                o = add_comment(chat, f"{c.name} comment {j}")
            ops.append(o)
            await c.send(o)
        for o in ops:
            got = await c.answer(o["broadcastId"], timeout=30)
            check(got["type"] != "error", f"{c.name}: rejected {sh.short(got)}")
    await asyncio.gather(*(write(c) for c in writers))
    for c in [obs] + writers:
        await c.catch_up(seq0 + 500, 30)
        eq(c.seq, seq0 + 500, f"{c.name} last seq")
    seen = [m["seq"] for m in obs.items if m.get("type") in sh.EVENT_TYPES]
    eq(seen, list(range(seq0 + 1, seq0 + 501)), "observer seqs: +1 per event, no gap, no duplicate")
    chats, s = await fresh_chats(srv, T, r)
    eq(s, seq0 + 500, "room seq")
    eq(chats, obs.model.as_list(), "snapshot equals the observer's state")
    for c in [obs] + writers:
        eq(c.model.as_list(), obs.model.as_list(), f"{c.name} state")
        await c.close()


def raw_writer(srv, tenant, url_id, user):
    rc = sh.RawClient(srv, tenant, url_id)
    rc.hello(srv.token(tenant, user))
    return rc


async def batching(srv):
    r = room("batch")
    obs = await Client.open(srv, T, r, user="observer")
    loop = asyncio.get_running_loop()
    w = await loop.run_in_executor(None, raw_writer, srv, T, r, "writer")
    ops = [new_chat(f"burst {i}") for i in range(20)]
    blob = b"".join(h.build_frame(h.OP_TEXT, dumps(o).encode()) for o in ops)
    seq0 = obs.seq
    w.ws.send_raw(blob)  # one TCP write
    for o in ops:
        ev = await obs.answer(o["broadcastId"], timeout=10)
        check_event(ev, o, "writer")
    eq(obs.seq, seq0 + 20, "seq")
    check(obs.max_events_in_batch >= 2,
          f"20 operations in one TCP write never came as a batch of several events "
          f"(messages: {[m['type'] for m in obs.messages[-25:]]})")
    # the sender got the same messages
    def read_echo():
        got = []
        while len(got) < 20:
            m = w.recv(10)
            if m["type"] == "batch":
                got += m["events"]
            elif m["type"] != "user-count":
                got.append(m)
        return got
    echoes = await loop.run_in_executor(None, read_echo)
    eq([e["broadcastId"] for e in echoes], [o["broadcastId"] for o in ops], "echo order")
    # a bigger burst: batches stay within 64 KiB of payload
    ops = [new_chat(("%03d" % i) + "z" * 3997) for i in range(40)]
    blob = b"".join(h.build_frame(h.OP_TEXT, dumps(o).encode()) for o in ops)
    n0 = len(obs.raw)
    w.ws.send_raw(blob)
    for o in ops:
        await obs.answer(o["broadcastId"], timeout=20)
    for raw in obs.raw[n0:]:
        m = sh.loads(raw)
        if m["type"] == "batch" and len(m["events"]) > 1:
            check(len(raw.encode()) <= 65536,
                  f"a batch of {len(m['events'])} events is {len(raw.encode())} bytes (> 64 KiB)")
    await loop.run_in_executor(None, w.ws.close_socket)
    await obs.close()


async def user_counts(srv):
    r = room("count")
    a = await Client.open(srv, T, r, user="u1")
    eq(a.welcome["count"], 1, "alone")
    b = await Client.open(srv, T, r, user="u2")
    eq(b.welcome["count"], 2, "welcome count includes the newcomer")
    await a.wait_count(2)
    await b.close()
    await a.wait_count(1)
    # three tabs of one user count once
    n0 = len(a.counts)
    t2 = await Client.open(srv, T, r, user="u1", label="tab2")
    t3 = await Client.open(srv, T, r, user="u1", label="tab3")
    eq((t2.welcome["count"], t3.welcome["count"]), (1, 1), "tabs of one user")
    await a.quiet(0.8)
    check(all(c == 1 for c in a.counts[n0:]), f"counts while tabs joined: {a.counts[n0:]}")
    # anonymous connections count one each
    x = await Client.open(srv, T, r, label="anon1")
    eq(x.welcome["count"], 2, "anonymous counts")
    y = await Client.open(srv, T, r, label="anon2")
    eq(y.welcome["count"], 3, "each anonymous connection counts")
    for c in (a, t2, t3, x, y):
        await c.wait_count(3)
    await x.close()
    for c in (a, t3, y):
        await c.wait_count(2)
    await a.close()
    await t2.close()
    await y.quiet(0.8)
    eq(y.counts[-1], 2, "u1 still has a tab")
    await t3.close()
    await y.wait_count(1)
    for c in (a, t2, t3, x, y):
        for m in c.messages:
            check(m["type"] != "batch" or all(e["type"] != "user-count" for e in m["events"]),
                  "user-count inside a batch")
    await y.close()


async def count_throttled(srv):
    """--presence-interval-ms 300: 20 quick joins give far fewer than 20
    user-count messages, the last one the true count."""
    r = room("throttle")
    obs = await Client.open(srv, T, r, user="observer")
    joiners = await asyncio.gather(*(Client.open(srv, T, r, user=f"j{i}") for i in range(20)))
    await obs.wait_count(21, timeout=10)
    await obs.quiet(1.0)
    n_join = len(obs.counts)
    eq(obs.counts[-1], 21, "last count")
    check(n_join <= 12, f"{n_join} user-count messages for 20 quick joins: not throttled ({obs.counts})")
    await asyncio.gather(*(j.close() for j in joiners))
    await obs.wait_count(1, timeout=10)
    await obs.quiet(1.0)
    eq(obs.counts[-1], 1, "last count after the leaves")
    check(len(obs.counts) - n_join <= 12, f"user-counts for 20 quick leaves: {obs.counts[n_join:]}")
    for a, b in zip(obs.counts, obs.counts[1:]):
        check(a != b, f"a user-count repeats the last value sent: {obs.counts}")
    await obs.close()


async def replay_batches(srv):
    """Replayed events are batched and split like live ones (<= 64 KiB a
    batch), and a room freed from memory keeps its seq."""
    r = room("replay-big")
    a = await Client.open(srv, T, r, user="reader")
    b = await Client.open(srv, T, r, user="writer")
    await b.ok(new_chat("start"))
    await a.catch_up(b.seq)
    a.abort()
    missed = []
    for i in range(40):
        missed.append(await b.ok(new_chat("%02d " % i + "r" * 4000)))
    a2 = await Client.open(srv, T, r, user="reader", resume=a, label="reader-again")
    eq(a2.welcome["resync"], "replay", "resync of 40 missed events (ring 1000)")
    eq(a2.replayed, missed, "replayed events")
    for raw in a2.raw:
        m = sh.loads(raw)
        if m["type"] == "batch" and len(m["events"]) > 1:
            check(len(raw.encode()) <= 65536, f"a replay batch of {len(raw.encode())} bytes")
    check(len(a2.raw) >= 4, "160 KiB of replay in fewer than 3 messages")
    await a2.close()
    await b.close()


async def freed_room_keeps_seq(srv):
    r = room("freed")
    a = await Client.open(srv, T, r, user="u1")
    op = new_chat("x")
    await a.ok(op)
    ev = await a.ok(delete_chat(op["chat"]["id"]))
    epoch = a.welcome["epoch"]
    await a.close()  # no connection, no chat: the room may be freed
    await asyncio.sleep(1.0)
    b = await Client.open(srv, T, r, user="u1")
    eq(b.welcome["seq"], ev["seq"], "seq of a room with neither connections nor chats")
    eq(b.welcome["epoch"], epoch, "epoch")
    await b.close()
    c = await Client.open(srv, T, r, user="u1", since=ev["seq"], epoch=epoch)
    eq((c.welcome["resync"], c.replayed), ("replay", []), "resume at the room's seq")
    ev2 = await c.ok(new_chat("y"))
    eq(ev2["seq"], ev["seq"] + 1, "seq continues")
    await c.close()


async def close_1003(srv):
    a = await Client.open(srv, T, room("binary"), user="u1")
    await a.ws.send(b'{"type":"new-text-chat"}')
    await a.expect_close(1003)


async def close_1009(srv):
    r = room("big")
    a = await Client.open(srv, T, r, user="u1")
    # exactly 64 KiB is not over the limit
    o = new_chat("padded to 64 KiB")
    o["pad"] = ""
    pad = 65536 - len(dumps(o).encode())
    o["pad"] = "p" * pad
    eq(len(dumps(o).encode()), 65536, "padded size")
    ev = await a.ok(o)
    check("pad" not in ev, "unknown field relayed")
    o = new_chat("over 64 KiB")
    o["pad"] = "p" * 65536
    await a.send(o)
    await a.expect_close(1009)
    chats, _ = await fresh_chats(srv, T, r)
    eq(len(chats), 1, "the oversized operation was not applied")


def main():
    srv = sh.Server([sh.tenant(T, **sh.FAST), sh.tenant(SMALL, maxChatsPerRoom=3, maxCommentsPerChat=2, **sh.FAST),
                     sh.tenant(RL, opsPerSecond=2, opsBurst=3), sh.tenant(DFLT)],
                    ["--presence-interval-ms", "300"])
    r = h.Runner("server-ops", against=sh.server_name())
    r.server = srv.proc
    try:
        r.case("every operation and action: shape, echo, delivery", every_operation, srv)
        r.case("cross-tab delivery", cross_tab, srv)
        r.case("invalid: each malformed operation", rejected_invalid, srv)
        r.case("forbidden: anonymous, non-author, moderator rights", rejected_forbidden, srv)
        r.case("not-found: unknown chat or comment", rejected_not_found, srv)
        r.case("conflict: repeated ids and foreign broadcastId", rejected_conflict, srv)
        r.case("too-large: text and anchor sizes", rejected_too_large, srv)
        r.case("too-large: maxChatsPerRoom, maxCommentsPerChat", limits_per_room, srv)
        r.case("rate-limited: opsPerSecond 2, opsBurst 3", rate_limited, srv)
        r.case("rate limits by default: 40 burst; every message takes a token", rate_defaults, srv)
        r.case("rate-limited rejections count toward 1008", rate_limited_1008, srv)
        r.case("100 rejections in a row: close 1008", close_1008, srv)
        r.case("1008 in the turn of accepted operations: echoes first", close_1008_after_echoes, srv)
        r.case("retry by broadcastId: original event to the sender alone", retry_same_user, srv)
        r.case("seq continuity: 500 ops from 5 clients", seq_continuity, srv)
        r.case("batching: one TCP write gives batches, never nested, <= 64 KiB", batching, srv)
        r.case("user-count: join/leave, tabs once, anonymous each", user_counts, srv)
        r.case("user-count throttled (--presence-interval-ms 300)", count_throttled, srv)
        r.case("replay of 160 KiB: batches <= 64 KiB", replay_batches, srv)
        r.case("a freed room keeps its seq", freed_room_keeps_seq, srv)
        r.case("binary message: close 1003", close_1003, srv)
        r.case("message over 64 KiB: close 1009 (64 KiB accepted)", close_1009, srv)
        r.case("server exits 0 on SIGTERM", srv.stop)
    finally:
        srv.kill()
    return r.summary()


if __name__ == "__main__":
    sys.exit(main())
