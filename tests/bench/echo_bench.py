#!/usr/bin/python3
"""Echo server benchmark: collab-echo against Node `ws` and Python
`websockets` echo servers, in the same run, over loopback only.

Every server is a command that takes `--listen 127.0.0.1:0` and prints
`listening ws://127.0.0.1:PORT` as its first stdout line; each measurement
starts a fresh server process and stops it by PID (SIGTERM).

(a) round trips/s: C connections (default 64) spread over P client processes
    (default 2), each doing ping-pong of one 32-byte masked text message, for
    D seconds (default 5); plus latency p50/p99 and the server's CPU use
    (/proc/PID/stat) so a client-bound run shows itself.
(b) bytes per idle connection: VmRSS of the server (/proc/PID/status) before
    and after opening N upgraded idle connections (default 10,000, at most
    --per-proc per client process; the open-file limit is 20,000 a process),
    (after - before) / N.

The load generator is plain epoll over raw non-blocking sockets in several
processes (no WebSocket library): a round trip costs it a few microseconds.
The whole run keeps within --budget seconds (default 90; about 40 with the
defaults): a measurement that would not fit in what is left is skipped.

    /usr/bin/python3 tests/bench/echo_bench.py                # all three
    /usr/bin/python3 tests/bench/echo_bench.py --servers node-ws,python-websockets --idle 2000
    /usr/bin/python3 tests/bench/echo_bench.py --server mine="./a.out --x" --json out.json

collab-echo is $BIN/collab-echo (BIN defaults to build/bin, the release
build); when it is missing it is skipped and no ratios are printed.

With --bench-lines (tests/bench/run.sh) it also prints, per server (collab,
node, python) and then as collab-echo's ratio to each other server
(collab / other):

    bench echo_rtt_collab 85000 rt/s          bench echo_rtt_ratio_vs_node 1.46 x
    bench echo_rtt_per_cpu_collab ... rt/cpu-s
    bench echo_p99_collab ... ms
    bench idle_bytes_collab 152 B/conn        bench idle_bytes_ratio_vs_node 0.0245 x
"""
import argparse
import base64
import errno
import json
import multiprocessing as mp
import os
import re
import resource
import select
import shlex
import socket
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
sys.dont_write_bytecode = True
import helpers as h  # noqa: E402

PAYLOAD = b"0123456789abcdef0123456789abcdef"  # 32 bytes
CLK_TCK = os.sysconf("SC_CLK_TCK")


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def upgrade_request(port):
    key = base64.b64encode(os.urandom(16)).decode()
    return (f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n").encode()


def masked_text(payload):
    key = os.urandom(4)
    n = len(payload)
    k = (key * (n // 4 + 1))[:n]
    body = (int.from_bytes(payload, "little") ^ int.from_bytes(k, "little")).to_bytes(n, "little")
    return struct.pack("!BB", 0x81, 0x80 | n) + key + body


def open_many(port, count, inflight, deadline):
    """Open `count` upgraded connections with at most `inflight` handshakes at
    once (the listen backlog stays small). Returns (sockets, errors)."""
    ep = select.epoll()
    pending = {}   # fd -> [sock, state, buf]; state 0: connecting, 1: awaiting 101
    done, errors, started = [], 0, 0
    while (started < count or pending) and time.monotonic() < deadline:
        while started < count and len(pending) < inflight:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            rc = s.connect_ex(("127.0.0.1", port))
            if rc not in (0, errno.EINPROGRESS):
                s.close()
                errors += 1
                started += 1
                continue
            pending[s.fileno()] = [s, 0, b""]
            ep.register(s.fileno(), select.EPOLLOUT)
            started += 1
        for fd, ev in ep.poll(0.5):
            ent = pending.get(fd)
            if ent is None:
                continue
            s = ent[0]
            try:
                if ent[1] == 0:
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        raise OSError(err, os.strerror(err))
                    s.send(upgrade_request(port))
                    ent[1] = 1
                    ep.modify(fd, select.EPOLLIN)
                    continue
                data = s.recv(4096)
                if not data:
                    raise OSError("closed")
                ent[2] += data
                if b"\r\n\r\n" in ent[2]:
                    if not ent[2].startswith(b"HTTP/1.1 101"):
                        raise OSError("not 101")
                    ep.unregister(fd)
                    del pending[fd]
                    done.append(s)
            except OSError:
                ep.unregister(fd)
                del pending[fd]
                s.close()
                errors += 1
    for ent in pending.values():
        ent[0].close()
        errors += 1
    ep.close()
    return done, errors


def idle_worker(port, count, ready_q, release_ev, timeout):
    raise_nofile()
    socks, errors = open_many(port, count, 128, time.monotonic() + timeout)
    ready_q.put((len(socks), errors))
    release_ev.wait(timeout + 60)
    for s in socks:
        s.close()


def parse_frames(buf):
    """Complete server frames at the start of buf: ([(opcode, payload)], rest)."""
    out, i = [], 0
    while len(buf) - i >= 2:
        op, n, hl = buf[i] & 0xF, buf[i + 1] & 0x7F, 2
        if n == 126:
            if len(buf) - i < 4:
                break
            n, hl = struct.unpack_from("!H", buf, i + 2)[0], 4
        elif n == 127:
            if len(buf) - i < 10:
                break
            n, hl = struct.unpack_from("!Q", buf, i + 2)[0], 10
        if len(buf) - i < hl + n:
            break
        out.append((op, bytes(buf[i + hl:i + hl + n])))
        i += hl + n
    return out, buf[i:]


def rtt_worker(port, count, duration, start_ev, ready_q, out_q):
    raise_nofile()
    socks, errors = open_many(port, count, 64, time.monotonic() + 30)
    ready_q.put((len(socks), errors))
    frame = masked_text(PAYLOAD)
    echo = b"\x81" + bytes([len(PAYLOAD)]) + PAYLOAD  # the expected echo, unmasked
    ep = select.epoll()
    conns = {}
    for s in socks:
        ep.register(s.fileno(), select.EPOLLIN)
        conns[s.fileno()] = [s, b"", 0.0]  # sock, partial input, send time
    start_ev.wait(60)
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.monotonic()
    end = t0 + duration
    lat = []
    count_rt = bad = 0
    now = time.monotonic()
    for c in conns.values():
        c[2] = now
        c[0].send(frame)
    perf = time.monotonic
    while True:
        now = perf()
        if now >= end:
            break
        for fd, _ in ep.poll(min(0.1, end - now)):
            c = conns[fd]
            try:
                data = c[0].recv(65536)
            except BlockingIOError:
                continue
            if not data:
                ep.unregister(fd)
                continue
            if data == echo and not c[1]:  # the fast path: one whole echo
                n = 1
            else:  # anything else: parse frames, answer pings
                frames, c[1] = parse_frames(c[1] + data)
                n = 0
                for op, payload in frames:
                    if op == 1 and payload == PAYLOAD:
                        n += 1
                    elif op == 9:
                        c[0].send(bytes([0x8A, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)
                    elif op != 10:
                        bad += 1
            for _ in range(n):
                t = perf()
                lat.append(t - c[2])
                count_rt += 1
                c[2] = t
                if t < end:
                    c[0].send(frame)
    elapsed = perf() - t0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime
    lat.sort()  # every k-th of the sorted latencies keeps the quantiles
    out_q.put({"rt": count_rt, "elapsed": elapsed, "cpu": cpu, "bad": bad,
               "samples": lat[::max(1, len(lat) // 20000)]})
    for s in socks:
        s.close()


def proc_cpu(pid):
    """utime + stime of a process, seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_ticks():
    """(busy, total) jiffies of all CPUs, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return sum(v) - idle, sum(v)


def vm_rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for ln in f:
            if ln.startswith("VmRSS:"):
                return int(ln.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def split(total, per):
    n = max(1, -(-total // per))
    return [total // n + (1 if i < total % n else 0) for i in range(n)]


def start_server(cmd):
    proc, url = h.start(cmd + ["--listen", "127.0.0.1:0"])
    return proc, h.parse_url(url)[2]


def stop_server(name, proc):
    try:
        h.stop(proc)
    except AssertionError as e:
        print(f"# warning: {name}: {e}", file=sys.stderr)


def measure_rtt(ctx, name, cmd, conns, procs, duration):
    proc, port = start_server(cmd)
    try:
        start_ev, ready_q, out_q = ctx.Event(), ctx.Queue(), ctx.Queue()
        workers = [ctx.Process(target=rtt_worker, args=(port, n, duration, start_ev, ready_q, out_q))
                   for n in split(conns, -(-conns // procs))]
        for w in workers:
            w.start()
        opened = errors = 0
        for _ in workers:
            a, b = ready_q.get(timeout=60)
            opened, errors = opened + a, errors + b
        cpu0, t0, m0 = proc_cpu(proc.pid), time.monotonic(), machine_ticks()
        start_ev.set()
        results = [out_q.get(timeout=duration + 60) for _ in workers]
        cpu1, t1, m1 = proc_cpu(proc.pid), time.monotonic(), machine_ticks()
        for w in workers:
            w.join(10)
        rt = sum(r["rt"] for r in results)
        elapsed = max(r["elapsed"] for r in results)
        samples = sorted(x for r in results for x in r["samples"])
        pct = lambda q: samples[min(len(samples) - 1, int(q * len(samples)))] * 1e3 if samples else float("nan")  # noqa
        cpu = cpu1 - cpu0
        bad = sum(r["bad"] for r in results)
        if bad:
            print(f"# warning: {name}: {bad} unexpected frames (not our echo)", file=sys.stderr)
        return {"rt_per_s": rt / elapsed, "round_trips": rt, "conns": opened, "conn_errors": errors,
                "unexpected_frames": bad,
                "p50_ms": pct(0.5), "p99_ms": pct(0.99),
                "server_cpu_pct": 100 * cpu / (t1 - t0),
                "machine_busy_pct": 100 * (m1[0] - m0[0]) / max(1, m1[1] - m0[1]),
                "loadgen_cpu_pct": 100 * sum(r["cpu"] for r in results) / elapsed, "rt_per_cpu_s": rt / cpu if cpu > 0 else float("nan")}
    finally:
        stop_server(name, proc)


def measure_idle(ctx, name, cmd, total, per_proc, timeout):
    proc, port = start_server(cmd)
    try:
        time.sleep(0.5)
        before = vm_rss(proc.pid)
        ready_q, release = ctx.Queue(), ctx.Event()
        workers = [ctx.Process(target=idle_worker, args=(port, n, ready_q, release, timeout))
                   for n in split(total, per_proc)]
        t0 = time.monotonic()
        for w in workers:
            w.start()
        opened = errors = 0
        for _ in workers:
            a, b = ready_q.get(timeout=timeout + 30)
            opened, errors = opened + a, errors + b
        setup = time.monotonic() - t0
        time.sleep(1.0)  # let the server finish its per-connection setup
        after = 0
        for _ in range(3):  # the highest of three readings 0.2 s apart
            time.sleep(0.2)
            after = max(after, vm_rss(proc.pid))
        release.set()
        for w in workers:
            w.join(30)
        return {"idle_conns": opened, "idle_errors": errors, "rss_before": before, "rss_after": after,
                "bytes_per_conn": (after - before) / opened if opened else float("nan"),
                "setup_s": setup}
    finally:
        stop_server(name, proc)


def default_servers():
    binp = os.environ.get("BIN", "build/bin")
    binp = binp if os.path.isabs(binp) else os.path.join(TOP, binp)
    return {
        "collab-echo": [os.path.join(binp, "collab-echo")],
        "node-ws": ["node", os.path.join(HERE, "echo_node.js")],
        "python-websockets": ["/usr/bin/python3", os.path.join(HERE, "echo_python.py")],
    }


def fmt(v, spec, suffix=""):
    return "-" if v is None or v != v else format(v, spec) + suffix


# Short names for the bench lines: bench echo_rtt_collab, idle_bytes_node...
SHORT = {"collab-echo": "collab", "node-ws": "node", "python-websockets": "python"}
REF = "collab-echo"


def short(name):
    return SHORT.get(name) or re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_")


def ratio(a, b):
    """a / b, or None when either is missing (None or NaN) or b is 0."""
    if a is None or b is None or a != a or b != b or not b:
        return None
    return a / b


def bench_lines(ok):
    """`bench NAME VALUE UNIT` lines, grouped by measurement: each server's
    value, then collab-echo's ratio to each other server (collab / other:
    above 1 collab-echo does more round trips, below 1 it uses less
    memory)."""
    out = []
    others = [n for n in ok if n != REF] if REF in ok else []

    def group(key, field, unit, spec, ratios=True):
        for n, r in ok.items():
            v = r.get(field)
            if v is not None and v == v:
                out.append(f"bench {key}_{short(n)} {format(v, spec)} {unit}")
        for n in others if ratios else []:
            v = ratio(ok[REF].get(field), ok[n].get(field))
            if v is not None:
                out.append(f"bench {key}_ratio_vs_{short(n)} {v:.3g} x")

    group("echo_rtt", "rt_per_s", "rt/s", ".0f")
    group("echo_rtt_per_cpu", "rt_per_cpu_s", "rt/cpu-s", ".0f")
    group("echo_p99", "p99_ms", "ms", ".2f", ratios=False)
    group("idle_bytes", "bytes_per_conn", "B/conn", ".0f")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--servers", default="collab-echo,node-ws,python-websockets",
                    help="comma list of names (collab-echo, node-ws, python-websockets, or --server names)")
    ap.add_argument("--server", action="append", default=[], metavar="NAME=CMD",
                    help="add or replace a server command (split like a shell would)")
    ap.add_argument("--collab", metavar="CMD", help="collab-echo command (default $BIN/collab-echo)")
    ap.add_argument("--conns", type=int, default=64, help="connections for round trips (64)")
    ap.add_argument("--procs", type=int, default=2, help="client processes for round trips (2)")
    ap.add_argument("--duration", type=float, default=5.0, help="seconds of round trips (5)")
    ap.add_argument("--idle", type=int, default=10000, help="idle connections (10000; 0 skips)")
    ap.add_argument("--per-proc", type=int, default=5000, help="idle connections per client process (5000)")
    ap.add_argument("--timeout", type=float, default=60.0,
                    help="seconds to open the idle connections, at most (60)")
    ap.add_argument("--budget", type=float, default=90.0,
                    help="seconds for the whole run (90): a measurement that cannot "
                         "finish in what is left is skipped; 0: no limit")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    ap.add_argument("--bench-lines", action="store_true",
                    help="also print `bench NAME VALUE UNIT` lines (tests/bench/run.sh)")
    a = ap.parse_args()
    raise_nofile()
    os.environ.setdefault("NODE_PATH", os.path.join(TOP, "tests", "node", "node_modules"))
    t_start = time.monotonic()
    deadline = t_start + a.budget if a.budget > 0 else float("inf")

    servers = default_servers()
    if a.collab:
        servers["collab-echo"] = shlex.split(a.collab)
    for spec in a.server:
        name, _, cmd = spec.partition("=")
        servers[name] = shlex.split(cmd)
        if name not in a.servers.split(","):
            a.servers += "," + name
    names = [n for n in a.servers.split(",") if n]
    results = {}
    ctx = mp.get_context("spawn")
    for k, name in enumerate(names):
        cmd = servers.get(name)
        if cmd is None:
            sys.exit(f"unknown server {name!r}")
        if os.path.isabs(cmd[0]) and not os.access(cmd[0], os.X_OK):
            print(f"# {name}: {cmd[0]} not built, skipped", file=sys.stderr)
            continue
        print(f"# {name}: {' '.join(cmd)}", file=sys.stderr, flush=True)
        res = {"cmd": cmd}
        try:
            # Each server's share of what is left: its round trips (plus
            # start, connect and stop) and its idle connections.
            left = deadline - time.monotonic()
            share = left / (len(names) - k)
            if share < a.duration + 5:
                raise RuntimeError(f"out of the {a.budget:g} s budget")
            res.update(measure_rtt(ctx, name, cmd, a.conns, a.procs, a.duration))
            print(f"#   {res['rt_per_s']:.0f} round trips/s, server CPU {res['server_cpu_pct']:.0f}%, "
                  f"load generator CPU {res['loadgen_cpu_pct']:.0f}%, all CPUs busy "
                  f"{res['machine_busy_pct']:.0f}%",
                  file=sys.stderr, flush=True)
            if a.idle > 0:
                left = deadline - time.monotonic()
                share = left / (len(names) - k)
                # opening, then ~2 s of readings, release and stop
                timeout = min(a.timeout, share - 10)
                if timeout < 3:
                    raise RuntimeError(f"idle connections skipped: out of the {a.budget:g} s budget")
                res.update(measure_idle(ctx, name, cmd, a.idle, a.per_proc, timeout))
                print(f"#   {res['idle_conns']} idle connections: {res['bytes_per_conn']:.0f} bytes each "
                      f"(opened in {res['setup_s']:.1f} s, {res['idle_errors']} failed)",
                      file=sys.stderr, flush=True)
        except Exception as e:  # noqa: BLE001 - report and go on with the others
            print(f"# {name}: failed: {type(e).__name__}: {e}", file=sys.stderr)
            res["error"] = f"{type(e).__name__}: {e}"
        results[name] = res

    ok = {n: r for n, r in results.items() if "rt_per_s" in r}
    ref = REF if REF in ok else None
    print(f"\necho benchmark: {a.conns} connections x {a.duration:g} s ping-pong of a 32-byte text "
          f"({a.procs} client processes); {a.idle} idle connections; loopback; "
          f"{time.monotonic() - t_start:.0f} s")
    hdr = (f"{'server':<20} {'round trips/s':>13} {'p50 ms':>7} {'p99 ms':>7} {'srv CPU%':>8} "
           f"{'rt/CPU-s':>9} {'B/idle conn':>11} {'collab/this rt/s':>16} {'rt/CPU-s':>8} "
           f"{'B':>6}")
    print(hdr)
    print("-" * len(hdr))
    for name, r in results.items():
        if "rt_per_s" not in r:
            print(f"{name:<20} failed: {r.get('error')}")
            continue
        rr = ok[ref] if ref else {}
        rt_ratio = ratio(rr.get("rt_per_s"), r["rt_per_s"])
        cpu_ratio = ratio(rr.get("rt_per_cpu_s"), r["rt_per_cpu_s"])
        mem = r.get("bytes_per_conn")
        mem_ratio = ratio(rr.get("bytes_per_conn"), mem)
        r["collab_rt_ratio"] = rt_ratio
        r["collab_rt_per_cpu_ratio"] = cpu_ratio
        r["collab_mem_ratio"] = mem_ratio
        print(f"{name:<20} {r['rt_per_s']:>13.0f} {fmt(r['p50_ms'], '.2f'):>7} {fmt(r['p99_ms'], '.2f'):>7} "
              f"{r['server_cpu_pct']:>8.0f} {fmt(r['rt_per_cpu_s'], '.0f'):>9} {fmt(mem, '.0f'):>11} "
              f"{fmt(rt_ratio, '.3g', 'x'):>16} {fmt(cpu_ratio, '.3g', 'x'):>8} "
              f"{fmt(mem_ratio, '.3g', 'x'):>6}")
    print(f"(collab/this: collab-echo's value / this server's: rt/s and rt/CPU-s above 1, collab-echo is "
          f"faster; B above 1, it uses more memory per idle connection. srv CPU%: the server's CPU "
          f"time over the window (100 = one core). The server and the load generator share "
          f"{os.cpu_count()} cores: when all of them are busy, rt/CPU-s (round trips per second of "
          "server CPU) is the fairer comparison. B/idle conn: the server's VmRSS growth per idle "
          "upgraded connection, kernel socket buffers not included.)")
    if a.bench_lines:
        for ln in bench_lines(ok):
            print(ln)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"conns": a.conns, "duration": a.duration, "procs": a.procs, "idle": a.idle,
                       "reference": ref, "results": results}, f, indent=2)
    return 0 if ok and all("error" not in r for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
