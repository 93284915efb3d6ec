'use strict';
// collab-echo driven by Node's `ws` (tests/node/node_modules), over ws:// and
// over wss:// trusting a throwaway test CA (the `ca` option).
//
// Runs `$ASAN_BIN/collab-echo --listen 127.0.0.1:0 [--tls-cert --tls-key]`,
// or the command in ECHO_CMD (split on spaces; same flags appended), e.g.
//   ECHO_CMD="/usr/bin/python3 tests/bench/echo_python.py" node tests/integration/test_echo_node.js
// Plain script, no framework: prints `N passed, N failed`, exits 1 on failure.
const { spawn, execFileSync } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const WebSocket = require('ws');

const TOP = path.resolve(__dirname, '..', '..');
const MIB = 1 << 20;
const VERBOSE = process.env.VERBOSE === '1';
const ONLY = process.env.CASE || '';

function binDir(name, dflt) {
  const p = process.env[name] || dflt;
  return path.isAbsolute(p) ? p : path.join(TOP, p);
}

function echoCmd(certs) {
  let cmd;
  if (process.env.ECHO_CMD) {
    cmd = process.env.ECHO_CMD.trim().split(/\s+/);
  } else {
    const prog = path.join(binDir('ASAN_BIN', 'build/asan/bin'), 'collab-echo');
    if (!fs.existsSync(prog)) {
      console.log(`collab-echo not built: ${prog} missing (set ECHO_CMD to test a stand-in server)`);
      process.exit(1);
    }
    cmd = [prog];
  }
  cmd.push('--listen', '127.0.0.1:0');
  if (certs) cmd.push('--tls-cert', certs.cert, '--tls-key', certs.key);
  return cmd;
}

// Start a program; resolve {proc, url} from its first stdout line.
function start(cmd) {
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd[0], cmd.slice(1), { cwd: TOP, stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    let done = false;
    const timer = setTimeout(() => {
      if (!done) { done = true; proc.kill('SIGKILL'); reject(new Error('no listening line within 20 s')); }
    }, 20000);
    proc.on('exit', (code) => {
      proc.exitStatus = code;
      if (!done) { done = true; clearTimeout(timer); reject(new Error(`exited (${code}) before its listening line`)); }
    });
    proc.stdout.on('data', (d) => {
      if (done) { process.stderr.write(`[server stdout] ${d}`); return; }
      buf += d.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      done = true;
      clearTimeout(timer);
      const line = buf.slice(0, nl).replace(/\r$/, '');
      const m = /^listening (wss?):\/\/(\S+):(\d+)\/?\s*$/.exec(line);
      if (!m) { proc.kill('SIGKILL'); reject(new Error(`first stdout line ${JSON.stringify(line)}`)); return; }
      resolve({ proc, url: `${m[1]}://${m[2]}:${m[3]}` });
    });
  });
}

// Signal by PID; the program must exit with status 0 within 5 s.
function stop(proc, sig) {
  return new Promise((resolve, reject) => {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      reject(new Error(`server had already exited (${proc.exitCode})`));
      return;
    }
    const timer = setTimeout(() => {
      process.kill(proc.pid, 'SIGKILL');
      reject(new Error(`server did not exit within 5 s of ${sig}; killed`));
    }, 5000);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`server exit status ${code} signal ${signal} after ${sig}, expected 0`));
    });
    process.kill(proc.pid, sig);
  });
}

function makeCerts() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'collab-certs-'));
  const p = (n) => path.join(dir, n);
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
  const run = (...a) => execFileSync('openssl', a, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  run('req', '-x509', ...key, '-nodes', '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '2',
    '-subj', '/CN=libcollab test CA', '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  run('req', ...key, '-nodes', '-keyout', p('server.p8.key'), '-out', p('server.csr'), '-subj', '/CN=localhost');
  fs.writeFileSync(p('server.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n' +
    'extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n');
  run('x509', '-req', '-in', p('server.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial',
    '-out', p('server.pem'), '-days', '2', '-sha256', '-extfile', p('server.ext'));
  run('ec', '-in', p('server.p8.key'), '-out', p('server.key'));
  return { dir, ca: p('ca.pem'), cert: p('server.pem'), key: p('server.key') };
}

// ---------------------------------------------------------------------------
// A client with a message queue: next() resolves the next message.

function withTimeout(promise, ms, what) {
  let t;
  return Promise.race([
    promise,
    new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`timeout: ${what}`)), ms); }),
  ]).finally(() => clearTimeout(t));
}

function open(url, opts) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { maxPayload: 16 * MIB, handshakeTimeout: 10000, ...opts });
    const queue = [];
    const waiters = [];
    ws.on('message', (data, isBinary) => {
      const m = { data, isBinary };
      if (waiters.length) waiters.shift()(m); else queue.push(m);
    });
    ws.next = (ms = 10000) => withTimeout(new Promise((res) => {
      if (queue.length) res(queue.shift()); else waiters.push(res);
    }), ms, 'echo');
    ws.closed = new Promise((res) => ws.on('close', (code, reason) => res({ code, reason: reason.toString() })));
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

async function expectEcho(ws, data, isBinary) {
  const m = await ws.next(20000);
  if (m.isBinary !== isBinary) throw new Error(`echo is ${m.isBinary ? 'binary' : 'text'}, sent ${isBinary ? 'binary' : 'text'}`);
  const want = Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8');
  if (!want.equals(m.data)) throw new Error(`echo differs: ${m.data.length} bytes vs ${want.length}`);
}

async function roundtrip(url, opts, data, isBinary) {
  const ws = await open(url, opts);
  ws.send(data, { binary: isBinary });
  await expectEcho(ws, data, isBinary);
  ws.close(1000);
  await withTimeout(ws.closed, 5000, 'close');
}

function mixedText(n) {
  const unit = 'a\u00e9\u20ac\u{1F600}'; // 1+2+3+4 bytes
  const s = unit.repeat(Math.floor(n / 10)) + 'a'.repeat(n % 10);
  if (Buffer.byteLength(s) !== n) throw new Error('mixedText');
  return s;
}

// ws fragments: send(chunk, {fin:false}) ... send(last, {fin:true}).
async function fragmented(url, opts, parts, isBinary) {
  const ws = await open(url, opts);
  parts.forEach((p, i) => ws.send(p, { binary: isBinary, fin: i === parts.length - 1 }));
  const whole = Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p, 'utf8'))));
  await expectEcho(ws, whole, isBinary);
  ws.close(1000);
  await withTimeout(ws.closed, 5000, 'close');
}

async function pings(url, opts) {
  const ws = await open(url, opts);
  const pongs = [];
  let wake = null;
  ws.on('pong', (d) => { pongs.push(Buffer.from(d)); if (wake) wake(); });
  const sent = [Buffer.alloc(0), Buffer.from('x'), crypto.randomBytes(125)];
  for (let i = 0; i < 10; i++) sent.push(Buffer.from(`ping ${i}`));
  for (const p of sent) ws.ping(p);
  await withTimeout(new Promise((res) => {
    wake = () => { if (pongs.length >= sent.length) res(); };
    wake();
  }), 5000, `pongs (${pongs.length} of ${sent.length})`);
  sent.forEach((p, i) => { if (!p.equals(pongs[i])) throw new Error(`pong ${i} payload differs`); });
  ws.send('after pings');
  await expectEcho(ws, 'after pings', false);
  ws.close(1000);
  await withTimeout(ws.closed, 5000, 'close');
}

async function pingBetweenFragments(url, opts) {
  const ws = await open(url, opts);
  const gotPong = new Promise((res) => ws.once('pong', (d) => res(Buffer.from(d))));
  ws.send('first half, ', { binary: false, fin: false });
  ws.ping(Buffer.from('mid'));
  const pong = await withTimeout(gotPong, 5000, 'pong while a message is incomplete');
  if (pong.toString() !== 'mid') throw new Error('pong payload differs');
  ws.send('second half', { binary: false, fin: true });
  await expectEcho(ws, 'first half, second half', false);
  ws.close(1000);
  await withTimeout(ws.closed, 5000, 'close');
}

async function closeWith(url, opts, code, reason) {
  const ws = await open(url, opts);
  ws.send('before close');
  await expectEcho(ws, 'before close', false);
  const t0 = Date.now();
  ws.close(code, reason);
  const c = await withTimeout(ws.closed, 5000, 'close');
  if (c.code !== code) throw new Error(`server echoed close code ${c.code}, sent ${code}`);
  // ws closes its socket when the server ends TCP, else after a 30 s timer
  if (Date.now() - t0 > 3000) throw new Error('server did not close TCP promptly');
}

async function ordered(url, opts) {
  const ws = await open(url, opts);
  const msgs = [];
  for (let i = 0; i < 200; i++) msgs.push(i % 2 ? [`m${i} \u00fc`, false] : [crypto.randomBytes(i % 300), true]);
  for (const [d, b] of msgs) ws.send(d, { binary: b });
  for (const [d, b] of msgs) await expectEcho(ws, d, b);
  ws.close(1000);
  await withTimeout(ws.closed, 5000, 'close');
}

async function concurrent(url, opts, n) {
  await Promise.all(Array.from({ length: n }, async (_, i) => {
    const ws = await open(url, opts);
    for (let j = 0; j < 20; j++) {
      const bin = j % 2 === 0;
      const d = bin ? crypto.randomBytes(1 + ((i * j) % 700)) : `client ${i} msg ${j} \u2603`;
      ws.send(d, { binary: bin });
      await expectEcho(ws, d, bin);
    }
    ws.close(1000);
    const c = await withTimeout(ws.closed, 5000, 'close');
    if (c.code !== 1000) throw new Error(`client ${i}: close code ${c.code}`);
  }));
}

async function sizes(url, opts) {
  const ws = await open(url, opts);
  for (const n of [125, 126, 127, 128, 65535, 65536, 65537]) {
    ws.send('t'.repeat(n), { binary: false });
    await expectEcho(ws, 't'.repeat(n), false);
    const b = Buffer.alloc(n, n & 0xff);
    ws.send(b, { binary: true });
    await expectEcho(ws, b, true);
  }
  ws.close(1000);
  await withTimeout(ws.closed, 5000, 'close');
}

// ---------------------------------------------------------------------------

let passed = 0;
const failed = [];
async function tcase(name, fn) {
  if (ONLY && !name.includes(ONLY)) return;
  const t0 = Date.now();
  try {
    await withTimeout(fn(), 60000, name);
    passed++;
    if (VERBOSE) console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed.push(name);
    console.log(`FAIL ${name}: ${e && e.message ? e.message : e}`);
  }
}

async function matrix(label, url, opts) {
  const c = (name, fn) => tcase(`${label}: ${name}`, fn);
  await c('small text', () => roundtrip(url, opts, 'hello, echo', false));
  await c('empty text', () => roundtrip(url, opts, '', false));
  await c('utf-8 4-byte chars', () => roundtrip(url, opts, '\u{1F600} \u{1D11E} \u{10348} \u00e9\u20ac \u{10FFFF}', false));
  await c('binary all byte values', () => roundtrip(url, opts, Buffer.from(Array.from({ length: 1024 }, (_, i) => i & 0xff)), true));
  await c('empty binary', () => roundtrip(url, opts, Buffer.alloc(0), true));
  await c('text+binary of 125..65537 bytes', () => sizes(url, opts));
  await c('1 MiB text', () => roundtrip(url, opts, mixedText(MIB), false));
  await c('1 MiB binary', () => roundtrip(url, opts, crypto.randomBytes(MIB), true));
  await c('fragmented text (fin:false)', () => fragmented(url, opts, ['frag', 'men', '', 'ted \u{1F600}'], false));
  // a 4-byte character split across fragments at every byte
  const smile = Buffer.from('<\u{1F600}>', 'utf8');
  for (let i = 1; i < smile.length; i++) {
    await c(`text split at byte ${i} of a 4-byte char`, () => fragmented(url, opts, [smile.subarray(0, i), smile.subarray(i)], false));
  }
  await c('fragmented binary (fin:false)', () => fragmented(url, opts, [Buffer.from([0, 1]), Buffer.alloc(0), Buffer.alloc(300, 0xff)], true));
  await c('fragmented 1 MiB binary', () => fragmented(url, opts, Array.from({ length: 16 }, () => crypto.randomBytes(65536)), true));
  await c('pings answered with identical pongs', () => pings(url, opts));
  await c('ping between fragments answered before the message ends', () => pingBetweenFragments(url, opts));
  for (const [code, reason] of [[1000, ''], [1000, 'normal bye'], [3000, 'app'], [4000, '\u00e9t\u00e9'], [4999, '']]) {
    await c(`close ${code} ${JSON.stringify(reason)} echoed`, () => closeWith(url, opts, code, reason));
  }
  await c('200 pipelined messages in order', () => ordered(url, opts));
  await c('any path accepted', async () => {
    for (const p of ['/', '/ws', '/some/path?x=1&y=%20z']) await roundtrip(url + p, opts, `path ${p}`, false);
  });
  await c('50 concurrent clients', () => concurrent(url, opts, 50));
}

async function main() {
  console.log(`# echo-node against: ${process.env.ECHO_CMD || 'collab-echo'}`);
  const certs = makeCerts();
  let plain = null;
  let tls = null;
  try {
    plain = await start(echoCmd(null));
    tls = await start(echoCmd(certs));
    await tcase('plain: listening line says ws://127.0.0.1', async () => {
      if (!plain.url.startsWith('ws://127.0.0.1:')) throw new Error(plain.url);
    });
    await tcase('tls: listening line says wss://127.0.0.1', async () => {
      if (!tls.url.startsWith('wss://127.0.0.1:')) throw new Error(tls.url);
    });
    const tlsOpts = { ca: fs.readFileSync(certs.ca) };
    await matrix('plain', plain.url, {});
    await matrix('tls', tls.url, tlsOpts);
    await tcase('tls: untrusted certificate refused by the client', async () => {
      let ok = false;
      try { await open(tls.url, {}); } catch (e) { ok = true; }
      if (!ok) throw new Error('connected without the test CA');
    });
    // stop with a client still connected: must exit 0 promptly
    for (const [label, srv, opts, sig] of [['plain', plain, {}, 'SIGTERM'], ['tls', tls, tlsOpts, 'SIGINT']]) {
      await tcase(`${label}: exits 0 on ${sig} with a client open`, async () => {
        const ws = await open(srv.url, opts);
        ws.on('error', () => {});
        await stop(srv.proc, sig);
      });
    }
  } catch (e) {
    failed.push('setup');
    console.log(`FAIL setup: ${e && e.stack ? e.stack : e}`);
  } finally {
    for (const s of [plain, tls]) if (s && s.proc.exitCode === null) s.proc.kill('SIGKILL');
    fs.rmSync(certs.dir, { recursive: true, force: true });
  }
  if (failed.length) console.log(`# failed: ${failed.join(', ')}`);
  console.log(`echo-node: ${passed} passed, ${failed.length} failed`);
  process.exit(failed.length ? 1 : 0);
}

main();
