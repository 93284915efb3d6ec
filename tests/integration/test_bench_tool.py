#!/usr/bin/python3
"""collab-bench (PROTOCOL.md section 10, issue 6 "Tools"), the load generator
on the C client, against the sanitized collab-server:

- 200 connections over 5 rooms for 3 s: the --json report has deliveries,
  nothing lost or out of order, every operation acknowledged, exactly one
  delivery per other connection of the room for every measured operation,
  latency percentiles in order; progress lines on stderr; exit status 0;
- two threads, two source addresses, --op add with chats rolled over;
- usage errors (exit 2) and --help;
- a refused token: connections never live, exit status 3, closes 4401.

Runs `$ASAN_BIN/collab-bench` (else `$BIN/collab-bench`) and
`$ASAN_BIN/collab-server` (or SERVER_CMD). Prints `N passed, N failed`.
"""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
import helpers as h  # noqa: E402
import server_helpers as sh  # noqa: E402
from server_helpers import check, eq  # noqa: E402

T = "bench"
PROGRESS = re.compile(r"^collab-bench: \d+\.\d{3}s (connect|warmup|measure|drain|done)\s+live \d+/\d+ ")


def bench_prog():
    for d in (h.ASAN_BIN, h.BIN):
        p = os.path.join(d, "collab-bench")
        if os.access(p, os.X_OK):
            return p
    raise SystemExit(f"collab-bench not built in {h.ASAN_BIN} or {h.BIN}")


def run_bench(srv, *args, timeout=120):
    cmd = [bench_prog(), "--url", srv.base] + list(args)
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout, cwd=h.TOP)
    out, err = p.stdout.decode(), p.stderr.decode()
    if os.environ.get("VERBOSE") == "1":
        sys.stderr.write(f"$ {' '.join(cmd)}\n{err}{out}")
    return p.returncode, out, err


def report(srv, *args):
    rc, out, err = run_bench(srv, "--json", *args)
    lines = [ln for ln in out.split("\n") if ln]
    eq(len(lines), 1, f"stdout lines of --json (stderr: {sh.short(err, 2000)})")
    return rc, json.loads(lines[0]), err


def check_hist(r, key):
    hs = r[key]
    order = [hs["min"], hs["p50"], hs["p90"], hs["p99"], hs["p999"], hs["max"]]
    check(all(isinstance(v, (int, float)) for v in order), f"{key}: numbers")
    check(order == sorted(order), f"{key}: min <= p50 <= p90 <= p99 <= p99.9 <= max: {hs}")
    check(hs["min"] <= hs["mean"] <= hs["max"], f"{key}: mean within [min, max]: {hs}")
    check(hs["count"] > 0 and hs["p50"] > 0, f"{key}: samples: {hs}")


def check_clean(r, conns, per_room):
    eq(r["connected"], conns, "connections live")
    eq(r["never_live"], 0, "never_live")
    eq(r["not_live_at_end"], 0, "not_live_at_end")
    eq(r["closed_for_good"], 0, "closed_for_good")
    eq(r["lost"], 0, "lost")
    eq(r["out_of_order"], 0, "out_of_order")
    eq(r["unanswered"], 0, "unanswered")
    eq(r["reconnects"], 0, "reconnects")
    eq(r["rejected"], 0, f"rejected {r['rejections']}")
    eq(r["foreign_events"], 0, "foreign_events")
    eq(r["op_errors"], {}, "op_errors")
    check(r["published"] > 0, "published")
    eq(r["acked"], r["published"], "every measured operation acknowledged")
    check(r["deliveries"] > 0, "deliveries")
    # every measured operation reaches every other connection of its room
    eq(r["deliveries"], r["published"] * (per_room - 1), "deliveries = published x (room size - 1)")
    eq(r["latency_us"]["count"], r["deliveries"], "latency samples")
    eq(r["ack_latency_us"]["count"], r["acked"], "ack latency samples")
    check_hist(r, "latency_us")
    check_hist(r, "ack_latency_us")
    check_hist(r, "connect_ms")
    check(r["deliveries_per_second"] > 0, "deliveries_per_second")
    eq(r["exit_status"], 0, "exit_status in the report")


def main_run(srv):
    rc, r, err = report(srv, "--tenants", srv.tenants_file, "--tenant", T,
                        "--connections", "200", "--rooms", "5", "--duration", "3",
                        "--warmup", "1", "--rate", "100", "--progress", "1")
    eq(rc, 0, f"exit status (stderr: {sh.short(err, 2000)})")
    eq((r["connections"], r["rooms"], r["publishers"], r["threads"]), (200, 5, 5, 1), "set-up")
    check(2.9 <= r["measured_s"] <= 3.5, f"measured_s {r['measured_s']}")
    check_clean(r, 200, 40)
    # 100 ops/s for 3 s, give or take the edges
    check(240 <= r["published"] <= 360, f"published {r['published']}")
    prog = [ln for ln in err.split("\n") if PROGRESS.match(ln)]
    check(len(prog) >= 3, f"progress lines on stderr: {sh.short(err, 2000)}")
    check(any(" measure " in ln for ln in prog), "a progress line while measuring")


def threads_sources_add(srv):
    rc, r, err = report(srv, "--tenants", srv.tenants_file, "--connections", "40",
                        "--rooms", "4", "--publishers", "8", "--rate", "200",
                        "--duration", "2", "--warmup", "0", "--threads", "2",
                        "--sources", "127.0.0.2,127.0.0.3", "--op", "add",
                        "--comments-per-chat", "20", "--size", "300", "--progress", "0")
    eq(rc, 0, f"exit status (stderr: {sh.short(err, 2000)})")
    eq((r["threads"], r["sources"], r["op"], r["size"]), (2, 2, "add", 300), "set-up")
    check_clean(r, 40, 10)
    eq(err, "", "stderr with --progress 0")
    # 25 ops/s per publisher for 2 s: past 20 comments a new chat each
    check(r["published_total"] > r["published"], "chats rolled over (creates are not measured)")


def usage_errors(srv):
    rc, out, err = run_bench(srv, "--help")
    eq(rc, 0, "--help exit status")
    for flag in ("--connections N", "--rooms M", "--publishers P", "--rate R", "--duration S",
                 "--warmup S", "--size BYTES", "--sources", "--source-range", "--threads T",
                 "--json", "--progress S", "--tenants FILE", "--token JWT", "default 100"):
        check(flag in out, f"--help mentions {flag!r}")
    for args, what in ((["--rooms", "10", "--connections", "5"], "--rooms"),
                       (["--bogus"], "unknown argument"),
                       (["--connections", "x"], "--connections"),
                       (["--connections", "5", "--connections", "6"], "given twice"),
                       (["--tenant", T], "publishing needs a token"),
                       (["--tenant", T, "--token", "t", "--source-range", "127.0.0.9-127.0.0.2"],
                        "--source-range"),
                       (["--tenant", T, "--token", "t", "--op", "delete"], "--op")):
        rc, out, err = run_bench(srv, *args)
        eq(rc, 2, f"exit status of {args}")
        check(what in err, f"{args}: stderr names {what!r}: {err!r}")
        eq(out, "", f"{args}: nothing on stdout")


def refused_token(srv):
    rc, r, err = report(srv, "--tenant", T, "--token", "garbage.token.here", "--connections", "3",
                        "--rooms", "1", "--duration", "1", "--warmup", "0", "--progress", "0")
    eq(rc, 3, f"exit status (stderr: {sh.short(err, 2000)})")
    eq(r["connected"], 0, "connected")
    eq(r["closed_for_good"], 3, "closed_for_good")
    codes = {c["code"] for c in r["closes"]}
    eq(codes, {4401}, f"close codes {r['closes']}")
    eq(r["lost"], 0, "lost")


def main():
    limits = dict(maxConnections=1000, opsPerSecond=1000, opsBurst=1000)
    srv = sh.Server([sh.tenant(T, **limits)])
    r = h.Runner("bench-tool", against=sh.server_name())
    r.server = srv.proc
    try:
        r.case("200 connections, 5 rooms, 3 s: nothing lost, one delivery per peer, "
               "percentiles ordered", main_run, srv)
        r.case("2 threads, 2 source addresses, --op add", threads_sources_add, srv)
        r.case("usage errors exit 2, --help lists every flag", usage_errors, srv)
        r.case("a refused token: never live, exit 3, closes 4401", refused_token, srv)
        r.case("server exits 0 on SIGTERM", srv.stop)
    finally:
        srv.kill()
    return r.summary()


if __name__ == "__main__":
    sys.exit(main())
