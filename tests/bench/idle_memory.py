#!/usr/bin/python3
"""User-space memory per idle WebSocket connection of an echo server.

Starts the server (collab-echo from $BIN, default build/bin; or the command
in ECHO_CMD), reads its VmRSS, opens N idle upgraded connections from P
client processes (each stays under the 20,000 open-file limit), reads
VmRSS again, checks that every connection still echoes, and prints the
growth per connection. Kernel socket buffers are not in VmRSS: this is the
server's own memory.

    tests/bench/idle_memory.py [--conns 10000] [--procs 4] [--tls]

Prints one line: `idle-memory: N conns, RSS +X KiB, Y bytes/conn`. With
--max-bytes B it exits 1 when Y > B.
"""
import argparse
import base64
import multiprocessing as mp
import os
import shlex
import signal
import socket
import ssl
import subprocess
import sys
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def upgrade(port, ctx):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    if ctx:
        s = ctx.wrap_socket(s, server_hostname="localhost")
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(4096)
        if not d:
            raise RuntimeError("closed during the handshake")
        buf += d
    if not buf.startswith(b"HTTP/1.1 101"):
        raise RuntimeError(f"no 101: {buf[:40]!r}")
    return s


def echo_once(s):
    payload = b"still here"
    key = os.urandom(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    s.sendall(bytes([0x81, 0x80 | len(payload)]) + key + masked)
    got = b""
    while len(got) < 2 + len(payload):
        d = s.recv(4096)
        if not d:
            raise RuntimeError("closed")
        got += d
    if got[2:] != payload:
        raise RuntimeError(f"bad echo {got!r}")


def client(port, n, tls_ca, ready, go, done):
    ctx = None
    if tls_ca:
        ctx = ssl.create_default_context(cafile=tls_ca)
    socks = [upgrade(port, ctx) for _ in range(n)]
    ready.release()
    go.wait()
    for s in socks[:: max(1, n // 20)]:
        echo_once(s)
    done.release()
    go2 = time.monotonic() + 600
    while time.monotonic() < go2:  # parent terminates us
        time.sleep(1)


def make_certs(d):
    def run(*a):
        subprocess.run(["openssl", *a], cwd=d, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    run("req", "-x509", *ec, "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "1",
        "-subj", "/CN=bench CA", "-addext", "basicConstraints=critical,CA:TRUE")
    run("req", *ec, "-nodes", "-keyout", "s.p8", "-out", "s.csr", "-subj", "/CN=localhost")
    with open(os.path.join(d, "ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("x509", "-req", "-in", "s.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "s.pem", "-days", "1", "-extfile", "ext")
    run("ec", "-in", "s.p8", "-out", "s.key")
    return os.path.join(d, "ca.pem"), os.path.join(d, "s.pem"), os.path.join(d, "s.key")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--conns", type=int, default=10000)
    ap.add_argument("--procs", type=int, default=4)
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--max-bytes", type=int, default=0)
    a = ap.parse_args()

    bin_dir = os.environ.get("BIN", os.path.join(TOP, "build", "bin"))
    cmd = shlex.split(os.environ["ECHO_CMD"]) if os.environ.get("ECHO_CMD") else \
        [os.path.join(bin_dir, "collab-echo")]
    cmd += ["--listen", "127.0.0.1:0"]
    ca = None
    if a.tls:
        import tempfile
        d = tempfile.mkdtemp(prefix="idle-mem-")
        ca, cert, key = make_certs(d)
        cmd += ["--tls-cert", cert, "--tls-key", key]
    srv = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    procs = []
    try:
        line = srv.stdout.readline().decode()
        port = int(line.strip().rsplit(":", 1)[1])
        # warm up: scratch buffers, first slots, TLS session cache
        warm = [upgrade(port, ssl.create_default_context(cafile=ca) if ca else None)
                for _ in range(50)]
        for s in warm:
            echo_once(s)
            s.close()
        time.sleep(0.5)
        before = rss_kib(srv.pid)
        ready, done, go = mp.Semaphore(0), mp.Semaphore(0), mp.Event()
        per = a.conns // a.procs
        for i in range(a.procs):
            p = mp.Process(target=client, args=(port, per, ca, ready, go, done))
            p.start()
            procs.append(p)
        for _ in procs:
            if not ready.acquire(timeout=300):
                raise RuntimeError("clients did not connect in time")
        time.sleep(1.0)
        after = rss_kib(srv.pid)
        go.set()
        for _ in procs:
            if not done.acquire(timeout=120):
                raise RuntimeError("echo check failed")
        n = per * a.procs
        per_conn = (after - before) * 1024 / n
        print(f"idle-memory: {n} {'TLS' if a.tls else 'plain'} conns, RSS {before} -> {after} KiB "
              f"(+{after - before} KiB), {per_conn:.0f} bytes/conn", flush=True)
        status = 1 if a.max_bytes and per_conn > a.max_bytes else 0
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.join(10)
        srv.send_signal(signal.SIGTERM)
        try:
            srv.wait(10)
        except subprocess.TimeoutExpired:
            srv.kill()
    return status


if __name__ == "__main__":
    sys.exit(main())
