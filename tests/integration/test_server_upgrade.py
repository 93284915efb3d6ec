#!/usr/bin/python3
"""collab-server: the WebSocket upgrade (PROTOCOL.md section 1), every row of
its table: accepted upgrades and subprotocol selection, 404, 400 (query and
upgrade headers), 426, 403 (same body for unknown tenant and bad Origin),
431, 503 with Retry-After at maxConnections, the handshake timeout, and
query decoding as URLSearchParams does it.

Runs `$ASAN_BIN/collab-server --handshake-timeout-ms 700` (or SERVER_CMD) on
port 0 with raw sockets. Prints `N passed, N failed`.
"""
import asyncio
import base64
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
import helpers as h  # noqa: E402
import server_helpers as sh  # noqa: E402
from server_helpers import check, eq, uid, upgrade_request  # noqa: E402

UP = "up"
CAP = "cap"       # maxConnections 2
ALLOWED = "http://allowed.example"
HANDSHAKE_MS = 700
LONG = "Az09_-" + "x" * 58   # a 64-byte tenantId using every allowed character class


def q(tenant=UP, url_id=None):
    return f"/ws?tenantId={tenant}&urlId={url_id or 'page-' + uid()}"


def exchange(srv, request, timeout=5.0):
    """(status, headers, body) of a raw request; the connection is closed
    afterwards for every status but 101."""
    st, hd, body, closed, ws = sh.http_exchange(srv.host, srv.port, request, timeout)
    try:
        if st != 101 and not closed:
            sh.expect_closed(ws, 5.0)
    finally:
        ws.close_socket()
    return st, hd, body


def rejected(srv, request, status, what=""):
    st, hd, body = exchange(srv, request)
    eq(st, status, f"status {what}")
    check(0 < len(body) <= 1024, f"{what}: body of {len(body)} bytes, expected a short text")
    body.decode("utf-8")
    ct = hd.get("content-type")
    check(ct is None or ct.lower().startswith("text/"), f"{what}: Content-Type {ct!r}")
    check("sec-websocket-accept" not in hd, f"{what}: Sec-WebSocket-Accept in a rejection")
    return hd, body


def accepted(srv, path, headers=None, key=None):
    key = key or base64.b64encode(os.urandom(16)).decode()
    st, hd, body, closed, ws = sh.http_exchange(srv.host, srv.port,
                                                upgrade_request(path, headers=headers, key=key))
    try:
        eq(st, 101, f"status for {path[:80]}")
        eq(hd.get("sec-websocket-accept"), sh.accept_for(key), "Sec-WebSocket-Accept")
        check("websocket" in hd.get("upgrade", "").lower(), "Upgrade header")
        check("upgrade" in hd.get("connection", "").lower(), "Connection header")
        # it is a live session: hello -> welcome
        ws.send_text('{"type":"hello"}')
        op, data = ws.recv_message(5, controls=[])
        msg = sh.loads(data.decode())
        eq(msg["type"], "welcome", "first message")
        ws.send_close(1000)
        return hd, msg
    finally:
        ws.close_socket()


# --------------------------------------------------------------------------

def accept_plain(srv):
    hd, w = accepted(srv, q())
    check("sec-websocket-protocol" not in hd, "a subprotocol selected though none was offered")
    eq(w["user"], None, "anonymous")
    hd, w = accepted(srv, q(), headers=[("Origin", ALLOWED)])
    hd, w = accepted(srv, q(), headers=[("Upgrade", "WebSocket"), ("Connection", "keep-alive, Upgrade")])


def subprotocols(srv):
    hd, _ = accepted(srv, q(), headers=[("Sec-WebSocket-Protocol", "collab.v1")])
    eq(hd.get("sec-websocket-protocol"), "collab.v1", "collab.v1 offered alone")
    hd, _ = accepted(srv, q(), headers=[("Sec-WebSocket-Protocol", "chat, collab.v1")])
    eq(hd.get("sec-websocket-protocol"), "collab.v1", "collab.v1 offered second")
    hd, _ = accepted(srv, q(), headers=[("Sec-WebSocket-Protocol", "chat, superchat")])
    check("sec-websocket-protocol" not in hd, "another offered subprotocol was selected")
    hd, _ = accepted(srv, q(), headers=[("Sec-WebSocket-Protocol", "collab.v2")])
    check("sec-websocket-protocol" not in hd, "collab.v2 was selected")


async def subprotocol_websockets(srv):
    async with sh.ws_connect(srv.url(UP, "p"), subprotocols=["collab.v1"]) as ws:
        eq(ws.subprotocol, "collab.v1", "selected")
    async with sh.ws_connect(srv.url(UP, "p")) as ws:
        eq(ws.subprotocol, None, "none offered")


def not_found(srv):
    for path in ("/other?tenantId=up&urlId=x", "/", "/ws/x?tenantId=up&urlId=x",
                 "/WS?tenantId=up&urlId=x", "/wss?tenantId=up&urlId=x", "/index.html"):
        rejected(srv, upgrade_request(path), 404, path)
    rejected(srv, b"GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n", 404, "plain GET")


BAD_QUERIES = [
    ("no query", "/ws"),
    ("tenantId missing", "/ws?urlId=x"),
    ("tenantId empty", "/ws?tenantId=&urlId=x"),
    ("tenantId without =", "/ws?tenantId&urlId=x"),
    ("tenantId 65 bytes", "/ws?tenantId=" + "a" * 65 + "&urlId=x"),
    ("tenantId with a dot", "/ws?tenantId=u.p&urlId=x"),
    ("tenantId with a space (+)", "/ws?tenantId=u+p&urlId=x"),
    ("tenantId with a space (%20)", "/ws?tenantId=u%20p&urlId=x"),
    ("tenantId with a slash", "/ws?tenantId=u%2Fp&urlId=x"),
    ("tenantId non-ASCII", "/ws?tenantId=%C3%A9&urlId=x"),
    ("urlId missing", "/ws?tenantId=up"),
    ("urlId empty", "/ws?tenantId=up&urlId="),
    ("urlId without =", "/ws?tenantId=up&urlId"),
    ("urlId 513 bytes", "/ws?tenantId=up&urlId=" + "%C3%A9" * 256 + "a"),
    ("urlId 513 ASCII bytes", "/ws?tenantId=up&urlId=" + "u" * 513),
    ("urlId %FF", "/ws?tenantId=up&urlId=%FF"),
    ("urlId truncated UTF-8", "/ws?tenantId=up&urlId=a%C3"),
    ("urlId overlong UTF-8", "/ws?tenantId=up&urlId=%C0%AF"),
    ("urlId UTF-16 surrogate", "/ws?tenantId=up&urlId=%ED%A0%80"),
    ("urlId above U+10FFFF", "/ws?tenantId=up&urlId=%F4%90%80%80"),
    ("tenantId repeated (same value)", "/ws?tenantId=up&tenantId=up&urlId=x"),
    ("tenantId repeated (other value)", "/ws?tenantId=up&urlId=x&tenantId=cap"),
    ("urlId repeated", "/ws?tenantId=up&urlId=x&urlId=x"),
    ("urlId repeated, one empty", "/ws?tenantId=up&urlId=&urlId=x"),
    ("malformed escape %ZZ", "/ws?tenantId=up&urlId=%ZZ"),
    ("malformed escape at the end", "/ws?tenantId=up&urlId=abc%"),
    ("malformed escape, one digit", "/ws?tenantId=up&urlId=abc%4"),
    ("malformed escape %%41", "/ws?tenantId=up&urlId=%%41"),
    ("malformed escape in tenantId", "/ws?tenantId=u%p&urlId=x"),
    ("malformed escape in another parameter", "/ws?tenantId=up&urlId=x&other=%G1"),
]


def bad_queries(srv):
    failures = []
    for label, path in BAD_QUERIES:
        try:
            rejected(srv, upgrade_request(path), 400, label)
        except AssertionError as e:
            failures.append(f"{label} ({path[:60]}): {e}")
    check(not failures, f"{len(failures)} cases:\n  " + "\n  ".join(failures))


def good_queries(srv):
    accepted(srv, "/ws?tenantId=up&urlId=" + "%C3%A9" * 256)               # 512 bytes
    accepted(srv, "/ws?tenantId=up&urlId=" + "u" * 512)
    accepted(srv, f"/ws?tenantId={LONG}&urlId=x")                          # 64 bytes, every class
    accepted(srv, "/ws?urlId=x&tenantId=up")                                # order
    accepted(srv, "/ws?tenantId=up&urlId=x&foo=bar&tenantIdx=1&urlid=9&=&&")  # others ignored
    accepted(srv, "/ws?tenantId=%75%70&urlId=x")                            # escaped tenantId
    accepted(srv, "/ws?tenantId=up&urlId=%F0%9F%98%80%20%2B")               # 4-byte UTF-8


def bad_upgrades(srv):
    path = q()
    key = base64.b64encode(os.urandom(16)).decode()
    cases = [
        ("POST", upgrade_request(path, method="POST")),
        ("PUT", upgrade_request(path, method="PUT")),
        ("Upgrade missing", upgrade_request(path, headers=[("Upgrade", None)])),
        ("Upgrade h2c", upgrade_request(path, headers=[("Upgrade", "h2c")])),
        ("Connection missing", upgrade_request(path, headers=[("Connection", None)])),
        ("Connection keep-alive", upgrade_request(path, headers=[("Connection", "keep-alive")])),
        ("key missing", upgrade_request(path, headers=[("Sec-WebSocket-Key", None)])),
        ("key not base64", upgrade_request(path, key="not base64 at all!")),
        ("key of 15 bytes", upgrade_request(path, key=base64.b64encode(os.urandom(15)).decode())),
        ("key of 17 bytes", upgrade_request(path, key=base64.b64encode(os.urandom(17)).decode())),
        ("plain GET /ws", f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()),
        ("HTTP/1.0", upgrade_request(path).replace(b"HTTP/1.1\r\n", b"HTTP/1.0\r\n", 1)),
        ("key twice", upgrade_request(path, headers=[("Sec-WebSocket-Key", key)])
         .replace(b"\r\n\r\n", f"\r\nSec-WebSocket-Key: {key}\r\n\r\n".encode())),
    ]
    failures = []
    for label, req in cases:
        try:
            rejected(srv, req, 400, label)
        except AssertionError as e:
            failures.append(f"{label}: {e}")
    check(not failures, f"{len(failures)} cases:\n  " + "\n  ".join(failures))


def version_426(srv):
    for v in ("8", "12", "14", "13x"):
        hd, _ = rejected(srv, upgrade_request(q(), version=v), 426, f"version {v}")
        eq(hd.get("sec-websocket-version"), "13", "Sec-WebSocket-Version in the 426")
    st, hd, _ = exchange(srv, upgrade_request(q(), headers=[("Sec-WebSocket-Version", None)]))
    check(st in (400, 426), f"missing version: status {st}, expected 400 or 426")


def forbidden_403(srv):
    _, b1 = rejected(srv, upgrade_request(q("nosuchtenant")), 403, "unknown tenant")
    _, b2 = rejected(srv, upgrade_request(q(), headers=[("Origin", "http://evil.example")]), 403,
                     "disallowed Origin")
    eq(b1, b2, "403 bodies for unknown tenant and bad Origin")
    _, b3 = rejected(srv, upgrade_request(q("nosuchtenant"), headers=[("Origin", ALLOWED)]), 403,
                     "unknown tenant with an Origin")
    eq(b3, b1, "403 body")
    rejected(srv, upgrade_request(q("a" * 64)), 403, "well-formed unknown 64-byte tenantId")
    for o in ("null", ALLOWED + "/", "http://allowed.example:80", "https://allowed.example",
              "http://other.example"):
        rejected(srv, upgrade_request(q(), headers=[("Origin", o)]), 403, f"Origin {o}")
    # allowed
    accepted(srv, q(), headers=[("Origin", ALLOWED)])
    accepted(srv, q(), headers=[("Origin", "http://second.example")])
    accepted(srv, q())  # no Origin: a non-browser client


def head_431(srv):
    path = q()
    base = len(upgrade_request(path, headers=[("X-Pad", "")]))
    accepted(srv, path, headers=[("X-Pad", "p" * (8192 - 200 - base))])
    req = upgrade_request(path, headers=[("X-Pad", "p" * (8192 + 200 - base))])
    check(8192 < len(req) < 8800, "request size")
    rejected(srv, req, 431, "head over 8 KiB")
    many = [(f"X-H{i}", "v" * 40) for i in range(300)]
    rejected(srv, upgrade_request(path, headers=many), 431, "300 headers")


def retry_after_503(srv):
    loop_clients = []
    try:
        for _ in range(2):
            ws = h.RawWS(srv.base, None, 5).connect()
            ws.handshake(q(CAP))  # upgraded, no hello yet: it counts
            loop_clients.append(ws)
        hd, _ = rejected(srv, upgrade_request(q(CAP)), 503, "third connection")
        ra = hd.get("retry-after", "")
        check(ra.strip().isdigit(), f"Retry-After {ra!r}")
        # another tenant is not affected
        accepted(srv, q(UP))
        # one closes: accepted again
        loop_clients[0].send_close(1000)
        try:
            loop_clients[0].expect_close(1000, eof_timeout=5)
        except AssertionError:
            pass
        loop_clients.pop(0).close_socket()
        deadline = time.monotonic() + 5
        while True:
            st, hd, body, closed, ws = sh.http_exchange(srv.host, srv.port, upgrade_request(q(CAP)))
            if st == 101:
                loop_clients.append(ws)
                break
            ws.close_socket()
            eq(st, 503, "status while full")
            check(time.monotonic() < deadline, "not accepted again within 5 s of a close")
            time.sleep(0.1)
        rejected(srv, upgrade_request(q(CAP)), 503, "full again")
    finally:
        for ws in loop_clients:
            ws.close_socket()
    # a connection cut without a close handshake frees its slot too
    wait_free(srv)


def wait_free(srv):
    deadline = time.monotonic() + 5
    while True:
        st, hd, body, closed, ws = sh.http_exchange(srv.host, srv.port, upgrade_request(q(CAP)))
        ws.close_socket()
        if st == 101:
            return
        check(time.monotonic() < deadline, "slots not freed within 5 s of TCP cuts")
        time.sleep(0.1)


def handshake_timeout(srv):
    for label, data in (("nothing sent", b""),
                        ("partial head", b"GET /ws?tenantId=up&urlId=x HTTP/1.1\r\nHost: x\r\n")):
        s = socket.create_connection((srv.host, srv.port), timeout=10)
        try:
            if data:
                s.sendall(data)
            t0 = time.monotonic()
            got = b""
            while True:
                try:
                    d = s.recv(4096)
                except ConnectionResetError:
                    break
                except socket.timeout:
                    raise AssertionError(f"{label}: not closed within 10 s "
                                         f"(--handshake-timeout-ms {HANDSHAKE_MS})")
                if not d:
                    break
                got += d
            took = time.monotonic() - t0
            check(took < HANDSHAKE_MS / 1000 + 4, f"{label}: closed after {took:.1f} s")
            check(took > HANDSHAKE_MS / 1000 * 0.5, f"{label}: closed after {took:.2f} s, before the timeout")
            if got:
                check(got.startswith(b"HTTP/1.1 408") or got.startswith(b"HTTP/1.0 408"),
                      f"{label}: answered {got[:40]!r} (only a 408 may be sent)")
        finally:
            s.close()


async def url_decoding(srv):
    """Two clients using different encodings of one urlId are in one room;
    %2B is a literal plus, so `a+b` and `a%2Bb` are different rooms."""
    tag = uid()[:8]
    p1 = f"/ws?tenantId={UP}&urlId=page+{tag}%20x"
    p2 = f"/ws?tenantId={UP}&urlId=page%20{tag}+x"
    p3 = f"/ws?tenantId={UP}&urlId=page%2B{tag}%20x"
    p4 = f"/ws?tenantId={UP}&urlId=%70%61%67%65%20{tag}%20%78"
    tok = srv.token(UP, "u1")
    a = await sh.Client.open(srv, UP, None, token=tok, url=srv.base + p1, label="a")
    a.user_id = a.user_name = "u1"
    op = sh.new_chat("in the room 'page TAG x'")
    await a.ok(op)
    b = await sh.Client.open(srv, UP, None, url=srv.base + p2, label="b")
    eq([c["id"] for c in b.snapshot_chats()], [op["chat"]["id"]], "+ and %20 are one room")
    eq(b.welcome["count"], 2, "count in the shared room")
    d = await sh.Client.open(srv, UP, None, url=srv.base + p4, label="d")
    eq(len(d.snapshot_chats()), 1, "fully escaped urlId is the same room")
    c = await sh.Client.open(srv, UP, None, url=srv.base + p3, label="c")
    eq(c.snapshot_chats(), [], "%2B is a literal plus: another room")
    eq(c.welcome["count"], 1, "count in the other room")
    # the same urlId in another tenant is another room
    e = await sh.Client.open(srv, CAP, None, url=srv.base + p1.replace("=up&", "=cap&"), label="e")
    eq(e.snapshot_chats(), [], "another tenant's room")
    for x in (a, b, c, d, e):
        await x.close()
    await asyncio.sleep(0.3)  # let cap's slot free


def main():
    srv = sh.Server([sh.tenant(UP, origins=[ALLOWED, "http://second.example"]),
                     sh.tenant(CAP, maxConnections=2), sh.tenant(LONG)],
                    ["--handshake-timeout-ms", str(HANDSHAKE_MS)])
    r = h.Runner("server-upgrade", against=sh.server_name())
    r.server = srv.proc
    try:
        r.case("accepted upgrade (no Origin, allowed Origin, header variants)", accept_plain, srv)
        r.case("collab.v1 selected only when offered", subprotocols, srv)
        r.case("collab.v1 with the websockets client", subprotocol_websockets, srv)
        r.case("404 for other paths", not_found, srv)
        r.case("400 for bad tenantId/urlId/escapes/repeats", bad_queries, srv)
        r.case("accepted query variants (512 bytes, order, extras, escapes)", good_queries, srv)
        r.case("400 for a bad upgrade request", bad_upgrades, srv)
        r.case("426 with Sec-WebSocket-Version: 13", version_426, srv)
        r.case("403: unknown tenant and bad Origin, same body", forbidden_403, srv)
        r.case("431 for a head over 8 KiB", head_431, srv)
        r.case("503 with Retry-After at maxConnections, then accepted", retry_after_503, srv)
        r.case("handshake timeout closes the connection", handshake_timeout, srv)
        r.case("urlId decoded as URLSearchParams (+, %20, %2B)", url_decoding, srv)
        r.case("server exits 0 on SIGTERM", srv.stop)
    finally:
        srv.kill()
    return r.summary()


if __name__ == "__main__":
    sys.exit(main())
