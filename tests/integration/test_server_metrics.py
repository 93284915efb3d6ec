#!/usr/bin/python3
"""collab-server: usage metrics (PROTOCOL.md section 9) on the admin
listener: /usage (every tenant, zeros included, exact fields),
pubSubMessageCount / pubSubBandwidth equal to exactly what this test's raw
clients received (data frames, headers included; over TLS, bytes before
TLS), /metrics in the Prometheus text format with the named families, and
/health.

Runs `$ASAN_BIN/collab-server --presence-interval-ms 100` (or SERVER_CMD) on
port 0, and a second one with --tls-cert/--tls-key. Prints `N passed, N failed`.
"""
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
import helpers as h  # noqa: E402
import server_helpers as sh  # noqa: E402
from server_helpers import (RawClient, add_comment, check, eq, metric, new_chat,  # noqa: E402
                            resolve, upgrade_request)

M, M2, Z = "m", "m2", "z"
TENANTS = [M, M2, Z]


def usage_rows(srv, ids=TENANTS):
    st, hd, body = srv.admin_get("/usage")
    eq(st, 200, "/usage status")
    ct = hd.get("content-type", "")
    check(ct.lower().startswith("application/json"), f"/usage Content-Type {ct!r}")
    rows = sh.loads(body.decode())
    check(isinstance(rows, list), "/usage is not an array")
    eq(sorted(r.get("tenantId") for r in rows), sorted(ids), "/usage tenants (each once)")
    for r in rows:
        eq(list(r.keys()), ["tenantId", "pubSubMessageCount", "pubSubBandwidth"], "/usage fields")
        check(type(r["pubSubMessageCount"]) is int and r["pubSubMessageCount"] >= 0, "count")
        check(type(r["pubSubBandwidth"]) is int and r["pubSubBandwidth"] >= 0, "bandwidth")
    return {r["tenantId"]: r for r in rows}


def fresh_server(srv):
    rows = usage_rows(srv)
    for t in TENANTS:
        eq((rows[t]["pubSubMessageCount"], rows[t]["pubSubBandwidth"]), (0, 0), f"{t} at start")
    st, hd, body = srv.admin_get("/health")
    eq(st, 200, "/health")
    st, hd, body = srv.admin_get("/metrics")
    eq(st, 200, "/metrics")
    ct = hd.get("content-type", "")
    check(ct.lower().startswith("text/plain"), f"/metrics Content-Type {ct!r}")
    text = body.decode()
    s = sh.parse_prometheus(text)
    for fam, typ in (("collab_pubsub_messages_total", "counter"), ("collab_pubsub_bytes_total", "counter"),
                     ("collab_connections", "gauge"), ("collab_rooms", "gauge"),
                     ("collab_operations_total", "counter")):
        check(f"# TYPE {fam} {typ}" in text, f"/metrics lacks '# TYPE {fam} {typ}'")
    for t in TENANTS:
        eq(metric(s, "collab_pubsub_messages_total", tenant=t), 0.0, f"messages of {t}")
        eq(metric(s, "collab_pubsub_bytes_total", tenant=t), 0.0, f"bytes of {t}")
        eq(metric(s, "collab_connections", tenant=t) or 0.0, 0.0, f"connections of {t}")
    eq(metric(s, "collab_rooms"), 0.0, "rooms")


def read_all(clients, seconds=0.5):
    for c in clients:
        c.quiet(seconds)


def exchange(srv):
    tok = lambda u: srv.token(M, u)  # noqa: E731
    room = "https://example.test/metrics"
    a = RawClient(srv, M, room)
    a.hello(tok("u1"))
    b = RawClient(srv, M, room)
    b.hello(tok("u2"))
    c = RawClient(srv, M, room)
    c.hello()  # anonymous
    other = RawClient(srv, M, "another page")
    other.hello(tok("u3"))
    clients = [a, b, c, other]
    # not counted: rejected upgrades, a hello refused with a close frame
    st, _, _, _, ws = sh.http_exchange(srv.host, srv.port, upgrade_request(
        srv.path(M, room), headers=[("Origin", "http://evil.example")]))
    ws.close_socket()
    eq(st, 403, "bad origin")
    refused = RawClient(srv, M2, room)
    refused.send({"type": "hello"})
    try:
        refused.recv()
        raise AssertionError("anonymous hello on an anonymous:none tenant was accepted")
    except sh.Closed as e:
        eq(e.code, 4401, "close code")
    refused.ws.close_socket()
    read_all(clients)

    accepted = invalid = not_found = 0
    op = new_chat("first", {"q": "x"})
    a.send(op)
    accepted += 1
    read_all(clients)
    b.send(add_comment(op["chat"]["id"], "reply " * 30))
    accepted += 1
    a.send("this is not JSON")
    invalid += 1
    a.send(resolve(sh.uid()))
    not_found += 1
    a.send(resolve(op["chat"]["id"]))
    accepted += 1
    read_all(clients)
    # a burst in one TCP write (batches), events of 4-byte-header size
    burst = [add_comment(op["chat"]["id"], "z" * 300) for _ in range(6)]
    a.ws.send_raw(b"".join(h.build_frame(h.OP_TEXT, sh.dumps(o).encode()) for o in burst))
    accepted += 6
    read_all(clients)
    # a chat over 64 KiB: its snapshot message needs a 64-bit frame length
    big = new_chat("big " + "b" * 4000)
    b.send(big)
    accepted += 1
    for i in range(17):
        b.send(add_comment(big["chat"]["id"], "c" * 4000))
        accepted += 1
    read_all(clients)
    d = RawClient(srv, M, room)
    d.hello(tok("u4"))
    check(any(m["type"] == "snapshot" and len(sh.dumps(m)) > 65535 for m in d.received),
          "no snapshot message over 64 KiB")
    clients.append(d)
    read_all(clients)
    # one leaves with a close handshake; the others get a user-count
    c.close()
    clients.remove(c)
    read_all(clients, 0.6)

    want_msgs = sum(x.msgs for x in clients) + c.msgs
    want_bytes = sum(x.bytes for x in clients) + c.bytes
    check(want_msgs > 20, f"only {want_msgs} messages")
    rows = usage_rows(srv)
    eq(rows[M]["pubSubMessageCount"], want_msgs, "pubSubMessageCount = data messages received")
    eq(rows[M]["pubSubBandwidth"], want_bytes, "pubSubBandwidth = frame bytes received")
    for t in (M2, Z):
        eq((rows[t]["pubSubMessageCount"], rows[t]["pubSubBandwidth"]), (0, 0), f"{t} untouched")

    # /metrics agrees, and counts connections, rooms, operations
    deadline = time.monotonic() + 5
    while True:
        s = srv.metrics()
        if metric(s, "collab_connections", tenant=M) == len(clients) and metric(s, "collab_rooms") == 2:
            break
        check(time.monotonic() < deadline,
              f"collab_connections{{tenant=m}} = {metric(s, 'collab_connections', tenant=M)} "
              f"(expected {len(clients)}), collab_rooms = {metric(s, 'collab_rooms')} (expected 2)")
        time.sleep(0.1)
    eq(metric(s, "collab_pubsub_messages_total", tenant=M), float(want_msgs), "messages_total")
    eq(metric(s, "collab_pubsub_bytes_total", tenant=M), float(want_bytes), "bytes_total")
    eq(metric(s, "collab_connections", tenant=M2) or 0.0, 0.0, "m2 connections")
    ops = lambda r: metric(s, "collab_operations_total", tenant=M, result=r)  # noqa: E731
    eq(ops("accepted"), float(accepted), "operations accepted")
    eq(ops("invalid"), float(invalid), "operations invalid")
    eq(ops("not-found"), float(not_found), "operations not-found")
    for code in ("forbidden", "conflict", "too-large", "rate-limited", "unavailable"):
        eq(ops(code) or 0.0, 0.0, f"operations {code}")
    # the last ones leave: the last of them gets user-counts as the others
    # go, and the final figures still match
    for x in clients:
        x.close()
    rows2 = usage_rows(srv)
    eq(rows2[M]["pubSubMessageCount"], sum(x.msgs for x in clients) + c.msgs, "messages after all left")
    eq(rows2[M]["pubSubBandwidth"], sum(x.bytes for x in clients) + c.bytes, "bytes after all left")


def exact_after_close(srv):
    """A second pass on a quiet server: a lone client's traffic is all of
    the tenant's new traffic, message for message."""
    before = usage_rows(srv)[M]
    a = RawClient(srv, M, "lone page")
    a.hello(srv.token(M, "lone"))
    for i in range(5):
        a.send(new_chat("lone %d" % i + "y" * (i * 60)))
        a.recv()
    a.close()
    time.sleep(0.3)
    after = usage_rows(srv)[M]
    eq(after["pubSubMessageCount"] - before["pubSubMessageCount"], a.msgs, "new messages")
    eq(after["pubSubBandwidth"] - before["pubSubBandwidth"], a.bytes, "new bytes")


def health_and_others(srv):
    st, _, _ = srv.admin_get("/health")
    eq(st, 200, "/health")
    st, _, _ = srv.admin_get("/no-such-endpoint")
    check(st in (404, 405), f"unknown admin path: {st}")


def tls_bandwidth(certs):
    srv = sh.Server([sh.tenant(M, **sh.FAST), sh.tenant(Z)], certs=certs)
    try:
        eq(srv.scheme, "wss", "listening scheme")
        a = RawClient(srv, M, "tls page")
        a.hello(srv.token(M, "u1"))
        for i in range(3):
            a.send(new_chat("over TLS %d " % i + "t" * 200))
            a.recv()
        a.quiet(0.3)
        rows = usage_rows(srv, [M, Z])
        eq(rows[M]["pubSubMessageCount"], a.msgs, "messages over TLS")
        eq(rows[M]["pubSubBandwidth"], a.bytes, "bytes over TLS are counted before TLS")
        a.close()
    finally:
        try:
            srv.stop()
        finally:
            srv.kill()


def main():
    srv = sh.Server([sh.tenant(M, **sh.FAST), sh.tenant(M2, anonymous="none"), sh.tenant(Z)],
                    ["--presence-interval-ms", "100"])
    certs = h.make_certs()
    r = h.Runner("server-metrics", against=sh.server_name())
    r.server = srv.proc
    try:
        r.case("fresh server: /usage zeros, /metrics families, /health", fresh_server, srv)
        r.case("scripted exchange: usage equals what clients received", exchange, srv)
        r.case("a lone client's traffic, message for message", exact_after_close, srv)
        r.case("/health 200, unknown admin path", health_and_others, srv)
        r.case("server exits 0 on SIGTERM", srv.stop)
        r.server = None
        r.case("TLS: bandwidth counted before TLS", tls_bandwidth, certs)
    finally:
        srv.kill()
        shutil.rmtree(certs["dir"], ignore_errors=True)
    return r.summary()


if __name__ == "__main__":
    sys.exit(main())
