#!/usr/bin/python3
"""collab-server benchmarks (make bench): fan-out (issue 4) and durability
(issue 5), each figure beside a raw-kernel baseline measured in the same
run, over loopback only.

The server ($BIN/collab-server, release build) runs pinned to CPU 0 and the
load generator ($BENCH/loadgen, tests/bench/loadgen.c) to CPU 1, with
`taskset -c N` (os.sched_setaffinity when taskset is missing). Each
measurement starts a fresh server on port 0 with a fresh data folder and a
tenants file with raised limits, and stops it by PID (SIGTERM).

Baseline: $BENCH/kernel_baseline (tests/bench/kernel_baseline.c), one
~300-byte send(2) per socket to 1,000 connected loopback sockets in turn
(and the same with 16 messages per send, the burst path's best case),
writer on CPU 0, reader on CPU 1. For (c) the kernel's floor is the time
10,000 such sends take (kernel_sends_10k_ms).

Fan-out (--durability none, so that only the fan-out is measured; the
durability part below measures the journal):
  (a) one room, 1,000 subscribers + 1 publisher, one event in flight (the
      publisher sends the next when its own echo returns): deliveries/s
  (b) the same with 16 events in flight
  (c) one room, 10,000 subscribers + 1 publisher, one event at a time: time
      from send until EVERY connection has it, p50/p99 over 200 events
  (d) 10,000 connections in 1,000 rooms, all publishing at a fixed rate
      (default 2 operations/s each): deliveries/s, server CPU (utime+stime
      of the process, and CPU 0 as a whole: the loopback receive path runs
      in softirq on the sender's CPU), server RSS
Every connection checks that its room's seq rises by exactly one; lost and
repeated deliveries over all four runs are reported (they must be 0).

Durability (data folder on the real disk, under /var/tmp):
  accepted operations/s with 1,000 concurrent writers (one room each, one
  operation in flight each) under strict, relaxed and none, and the ratio
  strict/none; then the time a server takes from exec to its `listening`
  line on a ~100 MB journal (written by a server under `none` fed by 1,000
  writers; compaction disabled so the journal keeps its size).

Output: `bench NAME VALUE UNIT` lines on stdout (tests/bench/run.sh
collects them); details and a summary against the targets on stderr. The
whole run takes about one minute on a quiet machine; --budget (default
180 s) caps it: a run that would not fit is skipped.

    /usr/bin/python3 tests/bench/bench_server.py
    /usr/bin/python3 tests/bench/bench_server.py --only fanout --json out.json
    /usr/bin/python3 tests/bench/bench_server.py --only a,c --duration 3

This machine is shared: other work on CPU 0 or 1 lowers every figure. Each
run measures how much of the two CPUs went to tasks other than ours
(/proc/stat task time minus the server's and the load generator's; the
softirq time of our own loopback traffic is not counted as other work); a
run with more than 10% is repeated (--retries, default 2, while the budget
allows) and the least disturbed one is kept, with a NOTE when even that
one was disturbed. (a), (b) and (c) each run between two kernel
baselines of their own, and are compared with their mean. Quote the
ratios.
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", ".."))
TENANT = "bench"
USER = "bench"
SECRET = "bench-secret-" + "0123456789abcdef" * 3
EVENT_BYTES = 300

# Issue 4 targets on this 2-core machine.
TARGET_A = 400_000        # deliveries/s, 1,000 subscribers, one in flight
TARGET_B = 4_000_000      # deliveries/s, 16 in flight
TARGET_C_P99_MS = 45.0    # completion to 10,000 subscribers

# A run during which other work took more than this share of our two CPUs
# (percent of one CPU) is repeated, up to --retries times, keeping the
# least disturbed one.
DISTURBED_PCT = 10.0
# Seconds kept for the durability part's first attempts (3 x ~8 s, plus
# ~10 s to fill and recover the journal).
DURABILITY_RESERVE = 45


def _dir(var, default):
    p = os.environ.get(var, default)
    return p if os.path.isabs(p) else os.path.abspath(p)


BIN = _dir("BIN", os.path.join(TOP, "build", "bin"))
BENCH = _dir("BENCH", os.path.join(TOP, "build", "bench"))


def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


# ---------------------------------------------------------------------------
# Tenants, tokens, pinning

def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def make_token(ttl=86400):
    """HS256 (PROTOCOL.md 7) for USER in TENANT."""
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"},
                             separators=(",", ":")).encode())
    body = b64url(json.dumps({"sub": USER, "tenantId": TENANT,
                              "exp": int(time.time()) + ttl},
                             separators=(",", ":")).encode())
    sig = hmac.new(SECRET.encode(), f"{head}.{body}".encode(),
                   hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(sig)}"


def write_tenants(folder):
    path = os.path.join(folder, "tenants.json")
    big = 1_000_000_000
    with open(path, "w") as f:
        json.dump({"tenants": [{
            "id": TENANT, "secret": SECRET, "anonymous": "read",
            "maxConnections": 100000, "opsPerSecond": big, "opsBurst": big,
            "maxChatsPerRoom": big, "maxCommentsPerChat": big}]}, f)
    return path


NCPU = os.cpu_count() or 1
TASKSET = shutil.which("taskset")


def pinned(cmd, cpu):
    """cmd pinned to cpu (no pinning on a one-CPU machine)."""
    if NCPU < 2:
        return cmd, None
    if TASKSET:
        return [TASKSET, "-c", str(cpu)] + cmd, None
    return cmd, (lambda: os.sched_setaffinity(0, {cpu}))


def raise_nofile():
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# ---------------------------------------------------------------------------
# The server

class Server:
    """collab-server on 127.0.0.1:0 pinned to CPU 0; start() returns once
    its `listening` line is out (recovery complete, PROTOCOL.md 8)."""

    def __init__(self, tenants, data, durability="none", extra=()):
        self.args = [os.path.join(BIN, "collab-server"),
                     "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0",
                     "--tenants", tenants, "--data", data,
                     "--durability", durability,
                     "--queue-limit", str(64 << 20),
                     "--log-level", "quiet"] + list(extra)
        self.proc = None
        self.port = None
        self.start_ms = None
        self.err = []

    def start(self, timeout=120.0):
        cmd, pre = pinned(self.args, 0)
        t0 = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE,
                                     preexec_fn=pre)
        threading.Thread(target=self._drain_err, daemon=True).start()
        box = []
        t = threading.Thread(target=lambda: box.append(self.proc.stdout.readline()),
                             daemon=True)
        t.start()
        t.join(timeout)
        line = box[0].decode("utf-8", "replace").strip() if box else ""
        self.start_ms = (time.monotonic() - t0) * 1000.0
        if not line.startswith("listening ws://"):
            self.kill()
            raise RuntimeError(f"collab-server did not start: {line!r} "
                               f"{''.join(self.err)[-500:]}")
        self.port = int(line.rsplit(":", 1)[1])
        threading.Thread(target=self._drain_out, daemon=True).start()
        return self

    def _drain_out(self):
        for _ in iter(self.proc.stdout.readline, b""):
            pass

    def _drain_err(self):
        for raw in iter(self.proc.stderr.readline, b""):
            self.err.append(raw.decode("utf-8", "replace"))
            del self.err[:-50]

    @property
    def url(self):
        return f"ws://127.0.0.1:{self.port}"

    def stop(self, timeout=15.0):
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            log("collab-server: no exit within 15 s of SIGTERM; killed")

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def loadgen(server, args, timeout):
    """Runs the load generator pinned to CPU 1; returns its JSON result."""
    cmd = [os.path.join(BENCH, "loadgen"), "--url", server.url,
           "--tenant", TENANT, "--token", make_token(), "--user", USER,
           "--size", str(EVENT_BYTES), "--server-pid", str(server.proc.pid),
           "--timeout-ms", str(int(timeout * 1000))] + [str(a) for a in args]
    cmd, pre = pinned(cmd, 1)
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout + 30, preexec_fn=pre)
    if p.returncode != 0:
        raise RuntimeError(f"loadgen failed ({p.returncode}): "
                           f"{p.stderr.decode('utf-8', 'replace')[-800:]}")
    return json.loads(p.stdout.decode().strip().splitlines()[-1])


def baseline(batch, duration):
    cmd = [os.path.join(BENCH, "kernel_baseline"), "--conns", "1000",
           "--size", str(EVENT_BYTES), "--batch", str(batch),
           "--duration-ms", str(int(duration * 1000))]
    if NCPU >= 2:
        cmd += ["--writer-cpu", "0", "--reader-cpu", "1"]
    else:
        cmd += ["--writer-cpu", "65535", "--reader-cpu", "65535"]
    p = subprocess.run(cmd, capture_output=True, timeout=duration + 60)
    if p.returncode != 0:
        raise RuntimeError(f"kernel_baseline failed: {p.stderr.decode()[-500:]}")
    r = json.loads(p.stdout.decode().strip().splitlines()[-1])
    r["rate"] = r["messages"] / (r["window_us"] / 1e6)
    r["send_rate"] = r["sends"] / (r["window_us"] / 1e6)
    return r


# ---------------------------------------------------------------------------
# Derived figures

def derive(r):
    w = max(r["window_ms"], 1) / 1000.0
    # deliveries: events received by every connection of the window; with
    # subscribers (a, b, c), those of the subscribers alone (not the
    # publisher's echo); in (d) every connection is a publisher
    r["deliv_rate"] = (r["sub_deliveries"] if r["subs"] else r["deliveries"]) / w
    r["acked_rate"] = r["acked"] / w
    r["srv_cpu_pct"] = 100.0 * r["srv_cpu_ticks"] / r["clk_tck"] / w
    r["lg_cpu_pct"] = 100.0 * r["self_cpu_us"] / 1e6 / w
    # /proc/stat per CPU: user nice system idle iowait irq softirq steal
    for n in (0, 1):
        f = r[f"cpu{n}"]
        tot = max(sum(f), 1)
        r[f"cpu{n}_pct"] = 100.0 * (tot - f[3] - f[4]) / tot
        r[f"cpu{n}_irq_pct"] = 100.0 * (f[5] + f[6]) / tot
        r[f"cpu{n}_task_pct"] = 100.0 * (f[0] + f[1] + f[2] + f[7]) / tot
    # other work on our two CPUs (other processes, or the hypervisor's
    # steal): task time beyond our two processes; softirq is not in it
    # (it is mostly our own loopback traffic, charged to neither process)
    r["other_pct"] = max(0.0, r["cpu0_task_pct"] + r["cpu1_task_pct"]
                         - r["srv_cpu_pct"] - r["lg_cpu_pct"])
    r["lost"] = r["gaps"] + r["missing_end"]
    return r


class Out:
    def __init__(self):
        self.lines = []

    def bench(self, name, value, unit, spec=".4g"):
        line = f"bench {name} {format(value, spec)} {unit}"
        self.lines.append(line)
        print(line, flush=True)


# ---------------------------------------------------------------------------
# Fan-out (issue 4)

FANOUT = {
    "a": ("1 room, 1,000 subscribers, 1 in flight",
          ["--rooms", 1, "--subs", 1000, "--pubs", 1, "--inflight", 1]),
    "b": ("1 room, 1,000 subscribers, 16 in flight",
          ["--rooms", 1, "--subs", 1000, "--pubs", 1, "--inflight", 16]),
    "c": ("1 room, 10,000 subscribers, completion time",
          ["--rooms", 1, "--subs", 10000, "--pubs", 1, "--wait-all", 1]),
    "d": ("1,000 rooms x 10 connections, all publishing",
          ["--rooms", 1000, "--subs", 0, "--pubs", 10]),
}


def run_fanout(mode, folder, tenants, a):
    label, args = FANOUT[mode]
    data = tempfile.mkdtemp(prefix=f"data-{mode}-", dir=folder)
    srv = Server(tenants, data, "none").start()
    try:
        args = list(args) + ["--warmup-ms", int(a.warmup * 1000),
                             "--duration-ms", int(a.duration * 1000)]
        if mode == "c":
            args = list(FANOUT[mode][1]) + ["--events", a.events,
                                            "--duration-ms", 40000]
        if mode == "d":
            args += ["--rate", a.rate]
        r = derive(loadgen(srv, args, timeout=90))
    finally:
        srv.stop()
        shutil.rmtree(data, ignore_errors=True)
    r["label"] = label
    return r


def fanout(out, folder, tenants, a, modes, deadline, reserve):
    """Each of (a), (b), (c) between two kernel baselines (single sends
    for a and c, 16 per send for b), so that a ratio compares runs a few
    seconds apart on this shared machine."""
    res = {"kernel": {}}
    budget_per = {"a": 17, "b": 17, "c": 50, "d": 25}
    base_of = {"a": 1, "b": 16, "c": 1}
    for i, m in enumerate(modes):
        if time.monotonic() + budget_per[m] > deadline:
            log(f"== ({m}) skipped: over the time budget")
            continue
        # a repeat must leave time for the later parts' first attempts
        later = sum(budget_per[x] for x in modes[i + 1:]) + reserve
        r, kb = None, None
        for attempt in range(1 + a.retries):
            if attempt and time.monotonic() + budget_per[m] + later > deadline:
                break
            k = baseline(base_of[m], a.base_duration) if m in base_of else None
            x = run_fanout(m, folder, tenants, a)
            if k is not None:
                # the kernel right before and right after the run, averaged
                k2 = baseline(base_of[m], a.base_duration)
                k = {"before": k, "after": k2,
                     "rate": (k["rate"] + k2["rate"]) / 2}
            if attempt:
                log(f"   ({m}) again: other work took {r['other_pct']:.0f}% of "
                    f"the CPUs; now {x['other_pct']:.0f}%")
            if r is None or x["other_pct"] < r["other_pct"]:
                r, kb = x, k
            if r["other_pct"] <= DISTURBED_PCT:
                break
        res[m] = r
        if kb is not None:
            res["kernel"][m] = kb
            log(f"== kernel baseline: 1,000 sockets, {base_of[m]} x "
                f"{EVENT_BYTES} bytes per send: {kb['rate']:,.0f} msg/s "
                f"(before the run {kb['before']['rate']:,.0f}, after "
                f"{kb['after']['rate']:,.0f})")
        log(f"== ({m}) {FANOUT[m][0]}")
        log(f"   deliveries {r['deliv_rate']:,.0f}/s  echo p50/p99 "
            f"{r['echo_p50_us'] / 1000:.1f}/{r['echo_p99_us'] / 1000:.1f} ms  "
            f"delivery p50/p99 {r['lat_p50_us'] / 1000:.1f}/"
            f"{r['lat_p99_us'] / 1000:.1f} ms")
        log(f"   server CPU {r['srv_cpu_pct']:.0f}% (CPU 0 {r['cpu0_pct']:.0f}%, "
            f"softirq {r['cpu0_irq_pct']:.0f}%)  loadgen CPU "
            f"{r['lg_cpu_pct']:.0f}% (CPU 1 {r['cpu1_pct']:.0f}%)  other work "
            f"{r['other_pct']:.0f}%  RSS {r['srv_rss_kb'] / 1024:.1f} MB")
        log(f"   lost {r['lost']}  repeated {r['dups']}  closed {r['closed']}  "
            f"errors {r['errors']}  drained {bool(r['drained'])}")
        if m in "ab":
            key = "server_1k_inflight1" if m == "a" else "server_1k_inflight16"
            out.bench(f"kernel_sends_1k{'' if m == 'a' else '_x16'}", kb["rate"],
                      "msg/s", ".0f")
            out.bench(key, r["deliv_rate"], "deliveries/s", ".0f")
            out.bench(key + "_vs_kernel", r["deliv_rate"] / kb["rate"], "x", ".3g")
            out.bench(key + "_p99", r["lat_p99_us"] / 1000.0, "ms", ".3g")
            out.bench(key + "_cpu0", r["cpu0_pct"], "%", ".0f")
        elif m == "c":
            # the kernel's floor: 10,000 single sends at the baseline rate
            floor = 10000 / kb["rate"] * 1000.0
            r["kernel_floor_ms"] = floor
            out.bench("kernel_sends_10k_ms", floor, "ms", ".3g")
            out.bench("server_10k_complete_p50", r["complete_p50_us"] / 1000.0,
                      "ms", ".3g")
            out.bench("server_10k_complete_p99", r["complete_p99_us"] / 1000.0,
                      "ms", ".3g")
            out.bench("server_10k_complete_p50_vs_kernel",
                      r["complete_p50_us"] / 1000.0 / floor, "x", ".3g")
        elif m == "d":
            out.bench("server_10k_1k_rooms", r["deliv_rate"], "deliveries/s", ".0f")
            out.bench("server_10k_1k_rooms_ops", r["acked_rate"], "ops/s", ".0f")
            out.bench("server_10k_1k_rooms_cpu", r["srv_cpu_pct"], "%", ".0f")
            out.bench("server_10k_1k_rooms_cpu0", r["cpu0_pct"], "%", ".0f")
            out.bench("server_10k_1k_rooms_rss", r["srv_rss_kb"] / 1024.0, "MB", ".1f")
            out.bench("server_10k_1k_rooms_p99", r["lat_p99_us"] / 1000.0, "ms", ".3g")
        if r["other_pct"] > DISTURBED_PCT:
            log(f"   NOTE: other work took {r['other_pct']:.0f}% of the two CPUs "
                "during this run: its figures are low")
    runs = [res[m] for m in modes if m in res]
    if runs:
        out.bench("server_fanout_lost", sum(r["lost"] for r in runs), "events", "d")
        out.bench("server_fanout_repeated", sum(r["dups"] for r in runs), "events", "d")
    return res


# ---------------------------------------------------------------------------
# Durability (issue 5)

def disk_folder():
    for d in ("/var/tmp", TOP, tempfile.gettempdir()):
        if os.path.isdir(d) and os.access(d, os.W_OK):
            return tempfile.mkdtemp(prefix="collab-bench-", dir=d)
    raise RuntimeError("no writable folder on disk")


def fs_type(path):
    try:
        best, fstype = "", "?"
        with open("/proc/mounts") as f:
            for line in f:
                parts = line.split()
                mnt = parts[1]
                if path.startswith(mnt) and len(mnt) > len(best):
                    best, fstype = mnt, parts[2]
        return fstype
    except OSError:
        return "?"


def writers_run(tenants, disk, mode, a):
    """a.writers writers, one room each, one operation in flight each."""
    data = os.path.join(disk, f"data-{mode}")
    srv = Server(tenants, data, mode).start()
    try:
        return derive(loadgen(srv, ["--rooms", a.writers, "--subs", 0,
                                    "--pubs", 1, "--inflight", 1,
                                    "--warmup-ms", int(a.warmup * 1000),
                                    "--duration-ms", int(a.duration * 1000),
                                    "--room-prefix", "w"], timeout=90))
    finally:
        srv.stop()
        shutil.rmtree(data, ignore_errors=True)


def durability(out, tenants, a, deadline, do_ops=True, do_recovery=True):
    res = {}
    disk = disk_folder()
    log(f"== durability: data on {disk} ({fs_type(disk)})")
    try:
        for mode in ("strict", "relaxed", "none") if do_ops else ():
            if time.monotonic() + 15 > deadline:
                log(f"   {mode}: skipped (time budget)")
                continue
            r = None
            for attempt in range(1 + a.retries):
                if attempt and time.monotonic() + 15 + 40 > deadline:
                    break
                x = writers_run(tenants, disk, mode, a)
                if r is None or x["other_pct"] < r["other_pct"]:
                    r = x
                if r["other_pct"] <= DISTURBED_PCT:
                    break
            res[mode] = r
            log(f"   {mode:8s} {r['acked_rate']:,.0f} ops/s  echo p50/p99 "
                f"{r['echo_p50_us'] / 1000:.2f}/{r['echo_p99_us'] / 1000:.2f} ms  "
                f"server CPU {r['srv_cpu_pct']:.0f}% (CPU 0 {r['cpu0_pct']:.0f}%)  "
                f"other work {r['other_pct']:.0f}%  lost {r['lost']}")
            out.bench(f"journal_ops_{mode}", r["acked_rate"], "ops/s", ".0f")
        if "strict" in res and "none" in res and res["none"]["acked_rate"] > 0:
            out.bench("journal_strict_vs_none",
                      res["strict"]["acked_rate"] / res["none"]["acked_rate"],
                      "x", ".3g")
        if not do_recovery:
            pass
        elif time.monotonic() + 40 > deadline:
            log("   recovery: skipped (time budget)")
        else:
            res["recovery"] = recovery(out, tenants, disk, a)
    finally:
        shutil.rmtree(disk, ignore_errors=True)
    return res


def recovery(out, tenants, disk, a):
    """Fills a journal to a.journal_mb MB under `none`, stops the server,
    and times a fresh start until its `listening` line."""
    data = os.path.join(disk, "data-recovery")
    want = a.journal_mb << 20
    jpath = os.path.join(data, "journal")
    no_compact = ["--compact-threshold", str(1 << 40)]
    srv = Server(tenants, data, "none", no_compact).start()
    t0 = time.monotonic()
    cmd = [os.path.join(BENCH, "loadgen"), "--url", srv.url, "--tenant", TENANT,
           "--token", make_token(), "--user", USER, "--size", str(EVENT_BYTES),
           "--rooms", str(a.writers), "--subs", "0", "--pubs", "1",
           "--inflight", "8", "--warmup-ms", "0", "--duration-ms", "120000",
           "--timeout-ms", "180000", "--room-prefix", "j"]
    cmd, pre = pinned(cmd, 1)
    lg = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, preexec_fn=pre)
    size = 0
    try:
        while time.monotonic() - t0 < 120:
            try:
                size = os.path.getsize(jpath)
            except OSError:
                size = 0
            if size >= want or lg.poll() is not None:
                break
            time.sleep(0.05)
    finally:
        if lg.poll() is None:
            lg.send_signal(signal.SIGKILL)
        lg.wait()
        fill_s = time.monotonic() - t0
        srv.stop()
    size = os.path.getsize(jpath)
    log(f"   journal: {size / 1048576:.0f} MB written in {fill_s:.1f} s")
    # drop the page cache copy? Not possible without root; a warm cache is
    # what a restart right after a crash sees anyway.
    srv = Server(tenants, data, "strict", no_compact).start(timeout=300)
    ms = srv.start_ms
    rss = 0
    try:
        with open(f"/proc/{srv.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
    except OSError:
        pass
    srv.stop()
    shutil.rmtree(data, ignore_errors=True)
    log(f"   recovery of {size / 1048576:.0f} MB: {ms:.0f} ms to `listening` "
        f"({size / 1048576 / (ms / 1000):.0f} MB/s), RSS after {rss / 1024:.0f} MB")
    out.bench("journal_recovery_ms", ms, "ms", ".0f")
    out.bench("journal_recovery_mb", size / 1048576.0, "MB", ".0f")
    out.bench("journal_recovery_rate", size / 1048576 / (ms / 1000), "MB/s", ".0f")
    return {"bytes": size, "ms": ms, "rss_kb": rss, "fill_s": fill_s}


# ---------------------------------------------------------------------------

def summary(res):
    f = res.get("fanout", {})
    kb = f.get("kernel", {}).get("a", {}).get("rate")
    rows = []
    if "a" in f:
        rows.append(("(a) 1k subs, 1 in flight", f"{f['a']['deliv_rate']:,.0f}/s",
                     f">= {TARGET_A:,}/s", f['a']['deliv_rate'] >= TARGET_A))
    if "b" in f:
        rows.append(("(b) 1k subs, 16 in flight", f"{f['b']['deliv_rate']:,.0f}/s",
                     f">= {TARGET_B:,}/s", f['b']['deliv_rate'] >= TARGET_B))
    if "c" in f:
        p99 = f['c']['complete_p99_us'] / 1000
        rows.append(("(c) 10k subs, p99 completion", f"{p99:.1f} ms",
                     f"<= {TARGET_C_P99_MS:.0f} ms", p99 <= TARGET_C_P99_MS))
    if rows:
        log("")
        log(f"{'fan-out':32s} {'measured':>14s} {'target':>16s}")
        for name, v, t, ok in rows:
            log(f"{name:32s} {v:>14s} {t:>16s}  {'met' if ok else 'NOT met'}")
        if kb:
            log(f"(kernel limit here: {kb:,.0f} single sends/s; the issue's "
                "targets assume about 420,000)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default="fanout,durability",
                    help="comma list of: fanout, durability, a, b, c, d, "
                         "ops, recovery (default: fanout,durability)")
    ap.add_argument("--duration", type=float, default=4.0,
                    help="measuring window per run, s (default 4)")
    ap.add_argument("--warmup", type=float, default=1.0,
                    help="warm-up before each window, s (default 1)")
    ap.add_argument("--base-duration", type=float, default=2.0,
                    help="kernel baseline window, s (default 2)")
    ap.add_argument("--events", type=int, default=200,
                    help="(c): events timed (default 200)")
    ap.add_argument("--rate", type=int, default=2,
                    help="(d): operations/s per connection (default 2)")
    ap.add_argument("--writers", type=int, default=1000,
                    help="durability: concurrent writers (default 1000)")
    ap.add_argument("--journal-mb", type=int, default=100,
                    help="recovery: journal size, MB (default 100)")
    ap.add_argument("--budget", type=float, default=180.0,
                    help="start no run that would end past this many s; "
                         "repeats of disturbed runs only while they fit "
                         "(default 180)")
    ap.add_argument("--retries", type=int, default=2,
                    help="repeat a run disturbed by other work up to this "
                         "many times (default 2)")
    ap.add_argument("--json", help="write every figure to this file")
    a = ap.parse_args()

    need = [os.path.join(BIN, "collab-server"), os.path.join(BENCH, "loadgen"),
            os.path.join(BENCH, "kernel_baseline")]
    missing = [p for p in need if not os.access(p, os.X_OK)]
    if missing:
        log("bench_server.py: skipped, not built: " + ", ".join(missing))
        return 0
    raise_nofile()
    only = set(a.only.split(","))
    modes = [m for m in "abcd" if "fanout" in only or m in only]
    deadline = time.monotonic() + a.budget
    do_ops = "durability" in only or "ops" in only
    do_rec = "durability" in only or "recovery" in only
    out = Out()
    res = {}
    folder = tempfile.mkdtemp(prefix="collab-bench-")
    try:
        tenants = write_tenants(folder)
        if modes:
            res["fanout"] = fanout(out, folder, tenants, a, modes, deadline,
                                   DURABILITY_RESERVE if do_ops or do_rec else 0)
        if do_ops or do_rec:
            res["durability"] = durability(out, tenants, a, deadline,
                                           do_ops, do_rec)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    summary(res)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
