#!/usr/bin/python3
"""collab-server disk faults (issue 5 "The journal" and "Tests: Disk
faults", PROTOCOL.md 4 `unavailable` and 8):

(a) RLIMIT_FSIZE: the server runs under a file-size limit (set in the child
    before exec; SIGXFSZ is left at its default, so the server must ignore
    it itself). Writes go on until operations get `unavailable` (with their
    broadcastId); rejected operations take no seq and reach nobody; the
    server keeps serving reads; the journal is sound (cut back) while it
    runs; a rejected operation retried later with the same broadcastId is
    applied; once the limit is lifted (prlimit on the running process) writes
    are accepted again in the same process. After a clean stop, or a kill -9,
    a restart without the limit holds exactly the acknowledged events.
(b) A tiny filesystem (a 256 KiB tmpfs mounted here; skipped with a note
    when mounting is not permitted): fill it, get `unavailable`, delete the
    filler file, and writes are accepted again in the SAME process; a
    restart holds exactly the acknowledged events.
(c) `--durability relaxed` with the timer's fdatasync failing once (an
    LD_PRELOAD shim built here; skipped with a note when no C compiler):
    the events cut from the file are rewritten from memory at once, writes
    go on, and a restart holds every event the clients saw, seqs
    contiguous. With the rewrite failing too, the journal stops taking
    writes (`unavailable`, /health 503, a loud log line).

Runs `$ASAN_BIN/collab-server` (or SERVER_CMD). Prints `N passed, N failed`.
"""
import asyncio
import errno
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
import helpers as h  # noqa: E402
import server_helpers as sh  # noqa: E402
import durability_helpers as dh  # noqa: E402
from server_helpers import Client, add_comment, check, eq, new_chat, uid  # noqa: E402

T = dh.T
FSIZE = 64 * 1024
TEXT = "d" * 1500  # each event record is about 2 KB


def fsize_limit(n):
    """A soft limit of n bytes (the hard limit stays, so that the test can
    lift the soft one on the running server without CAP_SYS_RESOURCE)."""
    def f():
        # SIGXFSZ at its default action (which kills): the server must
        # ignore it itself (issue 5)
        signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
        hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
        resource.setrlimit(resource.RLIMIT_FSIZE, (n, hard))
    return f


def died_of(srv):
    rc = srv.proc.poll()
    if rc is None:
        return None
    if rc < 0:
        return f"killed by {signal.Signals(-rc).name}" + (
            " (the server must ignore SIGXFSZ: issue 5)" if -rc == signal.SIGXFSZ else "")
    return f"exited with status {rc}"


class Run:
    """One writer and one observer in a room; records what was acknowledged
    and what was rejected."""

    def __init__(self, srv, r):
        self.srv, self.r = srv, r
        self.acked = []      # events, in order
        self.rejected = []   # operations answered `unavailable`

    async def open(self):
        self.w = await Client.open(self.srv, T, self.r, user="ann", name="Ann")
        self.obs = await Client.open(self.srv, T, self.r, label="observer")
        self.chat = None

    def next_op(self, k):
        if self.chat is None or k % 4 == 0:
            op = new_chat(f"{TEXT} {k}")
            return op
        return add_comment(self.chat, f"{TEXT} reply {k}")

    async def op(self, op):
        try:
            m = await self.w.op(op, timeout=10)
        except sh.Closed:
            why = died_of(self.srv)
            raise AssertionError(f"writer's connection closed; server {why or 'still running'}")
        if m["type"] == "error":
            sh.check_error(m, "unavailable", op=op)
            return None
        sh.check_event(m, op, "ann", "Ann")
        if self.acked:
            eq(m["seq"], self.acked[-1]["seq"] + 1, "seq of the next accepted operation "
               "(a rejected operation takes no seq)")
        self.acked.append(m)
        if sh.kind(op) == "new-text-chat":
            self.chat = op["chat"]["id"]
        return m

    async def until_unavailable(self, max_ops=400, more=3):
        k = 0
        while k < max_ops:
            op = self.next_op(k)
            k += 1
            if await self.op(op) is None:
                self.rejected.append(op)
                if len(self.rejected) > more:
                    return
        raise AssertionError(f"no `unavailable` within {max_ops} operations "
                             f"({len(self.acked)} accepted)")

    async def check_reads(self, what):
        """Nobody saw a rejected operation; a new client gets a snapshot
        equal to exactly the acknowledged events."""
        await self.obs.quiet(0.3)
        seen = [e["broadcastId"] for e in dh.flat_events(self.obs.messages)]
        eq(seen, [e["broadcastId"] for e in self.acked], f"{what}: events the observer received")
        chats, seq, w, _ = await dh.fresh(self.srv, T, self.r)
        eq(seq, self.acked[-1]["seq"] if self.acked else 0, f"{what}: room seq")
        dh.same_state(chats, dh.model_of(self.acked), f"{what}: snapshot vs the acknowledged events")

    async def accepted_again(self, what, retry=True):
        """A rejected operation retried with its broadcastId is applied now;
        new operations are accepted."""
        deadline = time.monotonic() + 3
        if retry and self.rejected:
            op = self.rejected[0]
            while True:
                m = await self.op(op)
                if m is not None:
                    break
                check(time.monotonic() < deadline, f"{what}: retry still `unavailable` after 3 s")
                await asyncio.sleep(0.2)
        for k in range(5):
            check(await self.op(self.next_op(1000 + k)) is not None,
                  f"{what}: operation rejected once space returned")

    async def close(self):
        for c in (self.w, self.obs):
            await c.close()


async def restart_holds_acked(env, data, r, acked, epoch):
    """A server without any limit on the same data: the journal is sound
    after its recovery, the room holds exactly the acknowledged events, and
    writes are accepted."""
    srv = dh.DServer(env, data, label="restarted")
    try:
        dh.verify(data)
        evs, w = await dh.history(srv, T, r, epoch)
        eq(w["epoch"], epoch, "epoch after the restart")
        eq([e["broadcastId"] for e in evs], [e["broadcastId"] for e in acked],
           "events after the restart vs the acknowledged ones (nothing half-written survives)")
        for a, b in zip(evs, acked):
            eq(a, b, f"event seq {a['seq']} after the restart")
        chats, seq, _, _ = await dh.fresh(srv, T, r)
        dh.same_state(chats, dh.model_of(acked), "snapshot after the restart")
        c = await Client.open(srv, T, r, user="ann", name="Ann")
        ev = await c.ok(new_chat("after the restart"))
        eq(ev["seq"], seq + 1, "first seq after the restart")
        await c.close()
        srv.stop()
        srv = None
        dh.verify(data)
    finally:
        if srv is not None:
            srv.kill9()


def fsize_case(env, end):
    data = env.data_dir()
    r = f"https://faults.example/fsize/{end}/{uid()}"
    srv = dh.DServer(env, data, preexec_fn=fsize_limit(FSIZE), label="fsize-limited")

    async def body():
        run = Run(srv, r)
        await run.open()
        epoch = run.w.welcome["epoch"]
        await run.until_unavailable()
        print(f"# RLIMIT_FSIZE {FSIZE}: {len(run.acked)} accepted, then `unavailable`", flush=True)
        check(srv.alive(), f"server {died_of(srv)}")
        await run.check_reads("after `unavailable`")
        # the journal was cut back to its last durable record
        rc, line, m = dh.verify(data)
        check(int(m.group(2)) <= FSIZE, f"journal of {m.group(2)} bytes under a {FSIZE}-byte limit")
        # still rejected while the limit holds, and nothing changes
        op = run.next_op(7)
        check(await run.op(op) is None, "operation accepted although the file is at its limit")
        run.rejected.append(op)
        if end == "term":
            hard = resource.prlimit(srv.pid, resource.RLIMIT_FSIZE)[1]
            resource.prlimit(srv.pid, resource.RLIMIT_FSIZE, (hard, hard))
            await run.accepted_again("limit lifted on the running server")
            await run.check_reads("after the limit was lifted")
        await run.close()
        return run.acked, epoch

    try:
        acked, epoch = dh.run(body())
        if end == "term":
            srv.stop()
            dh.verify(data)
        else:
            srv.kill9()
            dh.verify(data)  # idle when killed: the failed batch was already cut off
        srv = None
        dh.run(restart_holds_acked(env, data, r, acked, epoch))
    finally:
        if srv is not None:
            srv.kill9()


def fill(path):
    """Writes path until the filesystem is full; returns the bytes written."""
    n = 0
    with open(path, "wb", buffering=0) as f:
        for chunk in (65536, 4096, 512, 1):
            block = b"\xa5" * chunk
            while True:
                try:
                    w = f.write(block)
                except OSError as e:
                    if e.errno in (errno.ENOSPC, errno.EFBIG):
                        break
                    raise
                n += w
                if w < chunk:
                    break
    return n


def tmpfs_case(env):
    mnt = tempfile.mkdtemp(prefix="collab-tmpfs-")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", mnt],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        os.rmdir(mnt)
        print(f"# note: tiny-filesystem case skipped: mount -t tmpfs is not permitted here "
              f"({r.stdout.decode(errors='replace').strip()})", flush=True)
        return
    srv = None
    try:
        data = os.path.join(mnt, "data")
        os.makedirs(data)
        srv = dh.DServer(env, data, label="tmpfs")
        rid = f"https://faults.example/tmpfs/{uid()}"
        filler = os.path.join(mnt, "filler")

        async def body():
            run = Run(srv, rid)
            await run.open()
            epoch = run.w.welcome["epoch"]
            for k in range(3):
                check(await run.op(run.next_op(k)) is not None, "write before the disk filled")
            nbytes = fill(filler)
            await run.until_unavailable(max_ops=300)
            print(f"# tmpfs 256 KiB: filler of {nbytes} bytes, {len(run.acked)} accepted, "
                  "then `unavailable`", flush=True)
            check(srv.alive(), f"server {died_of(srv)}")
            await run.check_reads("disk full")
            dh.verify(data)
            os.unlink(filler)
            await run.accepted_again("space returned (filler deleted), same process")
            await run.check_reads("after space returned")
            await run.close()
            return run.acked, epoch

        acked, epoch = dh.run(body())
        srv.stop()
        srv = None
        dh.verify(data)
        dh.run(restart_holds_acked(env, data, rid, acked, epoch))
    finally:
        if srv is not None:
            srv.kill9()
        if subprocess.run(["umount", mnt]).returncode != 0:
            subprocess.run(["umount", "-l", mnt])
        try:
            os.rmdir(mnt)
        except OSError:
            pass


SHIM_C = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
/* fdatasync fails with EIO COLLAB_FAIL_SYNC_COUNT times (default 1) once
 * the file COLLAB_FAIL_SYNC_TRIGGER exists; the trigger is then removed. */
static int left = -1;
int fdatasync(int fd)
{
	static int (*real)(int);
	const char *t = getenv("COLLAB_FAIL_SYNC_TRIGGER");
	if (real == NULL)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	if (left < 0 && t != NULL && access(t, F_OK) == 0) {
		const char *n = getenv("COLLAB_FAIL_SYNC_COUNT");
		left = n != NULL ? atoi(n) : 1;
		unlink(t);
	}
	if (left > 0) {
		left--;
		errno = EIO;
		return -1;
	}
	return real(fd);
}
"""


def build_shim(env):
    src = os.path.join(env.dir, "failsync.c")
    so = os.path.join(env.dir, "failsync.so")
    if not os.path.exists(so):
        with open(src, "w") as f:
            f.write(SHIM_C)
        r = subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", so, src, "-ldl"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            return None
    return so


def relaxed_sync_case(env, rewrite_fails):
    so = build_shim(env)
    if so is None:
        print("# note: relaxed-sync case skipped: no C compiler for the shim", flush=True)
        return
    data = env.data_dir()
    trigger = os.path.join(env.dir, f"trigger-{uid()}")
    r = f"https://faults.example/relaxed/{uid()}"
    extra = {"LD_PRELOAD": so, "COLLAB_FAIL_SYNC_TRIGGER": trigger,
             "COLLAB_FAIL_SYNC_COUNT": "2" if rewrite_fails else "1",
             "ASAN_OPTIONS": (os.environ.get("ASAN_OPTIONS", "") +
                              ":verify_asan_link_order=0").lstrip(":")}
    srv = dh.DServer(env, data, ["--durability", "relaxed"], extra_env=extra, label="relaxed")

    async def body():
        run = Run(srv, r)
        await run.open()
        epoch = run.w.welcome["epoch"]
        for k in range(4):
            check(await run.op(run.next_op(k)) is not None, "write before the failed sync")
        await asyncio.sleep(1.3)   # synced by the timer
        for k in range(4, 8):
            check(await run.op(run.next_op(k)) is not None, "write before the failed sync")
        with open(trigger, "w"):
            pass
        srv.wait_log(r"journal: sync failed", timeout=5)
        if not rewrite_fails:
            srv.wait_log(r"rewritten from memory", timeout=5)
            for k in range(8, 14):
                check(await run.op(run.next_op(k)) is not None, "write after the rewrite")
            await run.check_reads("after the failed sync")
        else:
            srv.wait_log(r"JOURNAL FAILED", timeout=5)
            op = run.next_op(8)
            m = await run.w.op(op, timeout=10)
            sh.check_error(m, "unavailable", op=op)
            st, _ = srv.admin_get("/health")[:2]
            eq(st, 503, "/health once the journal failed")
        check(srv.alive(), f"server {died_of(srv)}")
        await run.close()
        return run.acked, epoch

    try:
        acked, epoch = dh.run(body())
        srv.stop()
        srv = None
        dh.verify(data)
        if not rewrite_fails:
            dh.run(restart_holds_acked(env, data, r, acked, epoch))
        else:
            # writes stopped at once: the restart starts, seqs contiguous
            s2 = dh.DServer(env, data, label="restarted")
            try:
                evs, w = dh.run(dh.history(s2, T, r, epoch))
                check(len(evs) <= len(acked), "more events than were acknowledged")
                s2.stop()
            finally:
                s2.kill9()
    finally:
        if srv is not None:
            srv.kill9()


def main():
    env = dh.Env()
    r = h.Runner("disk-faults", against=" ".join(dh.server_cmd()))
    try:
        r.case("RLIMIT_FSIZE: unavailable, reads go on, limit lifted, clean stop, restart",
               fsize_case, env, "term")
        r.case("RLIMIT_FSIZE: unavailable, then kill -9, restart holds the acknowledged events",
               fsize_case, env, "kill")
        r.case("tiny tmpfs: disk full, unavailable, space returns in the same process, restart",
               tmpfs_case, env)
        r.case("relaxed: the timer's fdatasync fails once: rewritten from memory, restart "
               "holds every event seen", relaxed_sync_case, env, False)
        r.case("relaxed: the sync and the rewrite fail: writes refused, /health 503",
               relaxed_sync_case, env, True)
    finally:
        env.cleanup()
    return r.summary()


if __name__ == "__main__":
    sys.exit(main())
