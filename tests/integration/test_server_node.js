'use strict';
// collab-server driven by Node's `ws` (tests/node/node_modules, NODE_PATH set
// by run.sh): the core flow of PROTOCOL.md sections 3-6 with an independent
// client stack: collab.v1 selected, hello with an HS256 token signed here,
// welcome/snapshot/synced, create a chat (echo to the sender with its
// broadcastId, delivery to a second client), add/edit/delete a comment,
// resolve, delete the chat, user counts across join and leave, a rejection,
// and close 1001 + exit 0 on SIGTERM.
//
// Runs `$ASAN_BIN/collab-server` (or SERVER_CMD, split on spaces) on port 0.
// Prints `N passed, N failed`; exits 1 on failure.
const { spawn } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const WebSocket = require('ws');

const TOP = path.resolve(__dirname, '..', '..');
const VERBOSE = process.env.VERBOSE === '1';
const ONLY = process.env.CASE || '';
const TENANT = 'nodet';
const SECRET = 'node-test-secret-of-more-than-32-bytes-0123456789';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function serverCmd() {
  if (process.env.SERVER_CMD) return process.env.SERVER_CMD.trim().split(/\s+/);
  const dir = process.env.ASAN_BIN || 'build/asan/bin';
  const prog = path.join(path.isAbsolute(dir) ? dir : path.join(TOP, dir), 'collab-server');
  if (!fs.existsSync(prog)) {
    console.log(`collab-server not built: ${prog} missing (set ASAN_BIN or SERVER_CMD)`);
    process.exit(1);
  }
  return [prog];
}

// Start the server; resolve {proc, url, admin} from its first two stdout lines.
function start(dir) {
  const tenants = path.join(dir, 'tenants.json');
  fs.writeFileSync(tenants, JSON.stringify({ tenants: [{ id: TENANT, secret: SECRET, origins: [], anonymous: 'read',
    opsPerSecond: 1000, opsBurst: 1000 }] }));
  const cmd = serverCmd().concat(['--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--tenants', tenants,
    '--data', path.join(dir, 'data'), '--presence-interval-ms', '100']);
  fs.mkdirSync(path.join(dir, 'data'));
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd[0], cmd.slice(1), { cwd: TOP, stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    const lines = [];
    let done = false;
    const timer = setTimeout(() => {
      if (!done) { done = true; proc.kill('SIGKILL'); reject(new Error('no listening lines within 30 s')); }
    }, 30000);
    proc.on('exit', (code) => {
      if (!done) { done = true; clearTimeout(timer); reject(new Error(`exited (${code}) before its listening lines`)); }
    });
    proc.stdout.on('data', (d) => {
      if (done) { process.stderr.write(`[collab-server stdout] ${d}`); return; }
      buf += d.toString('utf8');
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0 && lines.length < 2) {
        lines.push(buf.slice(0, nl).replace(/\r$/, ''));
        buf = buf.slice(nl + 1);
      }
      if (lines.length < 2) return;
      done = true;
      clearTimeout(timer);
      const m = /^listening (wss?):\/\/(\S+):(\d+)\/?\s*$/.exec(lines[0]);
      const a = /^admin http:\/\/(\S+):(\d+)\/?\s*$/.exec(lines[1]);
      if (!m || !a) { proc.kill('SIGKILL'); reject(new Error(`first stdout lines ${JSON.stringify(lines)}`)); return; }
      resolve({ proc, url: `${m[1]}://${m[2]}:${m[3]}`, admin: `http://${a[1]}:${a[2]}` });
    });
  });
}

function stop(proc, sig = 'SIGTERM') {
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

const b64u = (b) => Buffer.from(b).toString('base64url');
function token(sub, extra = {}) {
  const h = b64u(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const p = b64u(JSON.stringify({ sub, tenantId: TENANT, exp: Math.floor(Date.now() / 1000) + 600, ...extra }));
  const s = crypto.createHmac('sha256', SECRET).update(`${h}.${p}`).digest('base64url');
  return `${h}.${p}.${s}`;
}

function withTimeout(promise, ms, what) {
  let t;
  return Promise.race([
    promise,
    new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`timeout: ${what}`)), ms); }),
  ]).finally(() => clearTimeout(t));
}

function assert(cond, msg) { if (!cond) throw new Error(msg); }
function same(got, want, what) {
  const g = JSON.stringify(got);
  const w = JSON.stringify(want);
  if (g !== w) throw new Error(`${what}: got ${g.slice(0, 300)}, expected ${w.slice(0, 300)}`);
}

// A protocol client: items (events and errors, batches flattened), counts
// (user-count values), seq checked for gaps.
function open(base, urlId, opts = {}) {
  const url = `${base}/ws?${new URLSearchParams({ tenantId: TENANT, urlId })}`;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['collab.v1'], { maxPayload: 16 << 20, handshakeTimeout: 10000, ...opts });
    ws.items = [];
    ws.counts = [];
    ws.all = [];
    ws.seq = null;
    let wake = null;
    const notify = () => { if (wake) { const w = wake; wake = null; w(); } };
    ws.on('message', (data, isBinary) => {
      if (isBinary) { ws.protocolError = 'binary message from the server'; notify(); return; }
      const m = JSON.parse(data.toString('utf8'));
      ws.all.push(m);
      if (m.type === 'user-count') { ws.counts.push(m.count); notify(); return; }
      const list = m.type === 'batch' ? m.events : [m];
      for (const e of list) {
        if (e.type === 'batch' || e.type === 'user-count') ws.protocolError = `${e.type} inside a batch`;
        if (typeof e.seq === 'number' && ws.seq !== null && e.type !== 'snapshot' && e.type !== 'synced' && e.type !== 'welcome') {
          if (e.seq > ws.seq) {
            if (e.seq !== ws.seq + 1) ws.protocolError = `seq gap: ${e.seq} after ${ws.seq}`;
            ws.seq = e.seq;
          }
        }
        ws.items.push(e);
      }
      notify();
    });
    ws.take = async (pred, ms = 5000, what = 'message') => {
      const deadline = Date.now() + ms;
      for (;;) {
        if (ws.protocolError) throw new Error(ws.protocolError);
        const i = ws.items.findIndex(pred);
        if (i >= 0) return ws.items.splice(i, 1)[0];
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`timeout waiting for ${what}`);
        await withTimeout(new Promise((res) => { wake = res; }), left, what).catch(() => {});
      }
    };
    ws.waitCount = async (n, ms = 5000) => {
      const deadline = Date.now() + ms;
      while (!(ws.counts.length && ws.counts[ws.counts.length - 1] === n)) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`user-count never reached ${n} (${ws.counts})`);
        await withTimeout(new Promise((res) => { wake = res; }), left, 'user-count').catch(() => {});
      }
    };
    ws.closed = new Promise((res) => ws.on('close', (code, reason) => { res({ code, reason: reason.toString() }); notify(); }));
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

async function hello(ws, tok) {
  ws.send(JSON.stringify(tok ? { type: 'hello', token: tok } : { type: 'hello' }));
  const w = await ws.take((m) => true, 10000, 'welcome');
  assert(w.type === 'welcome', `first message ${JSON.stringify(w)}`);
  same(Object.keys(w), ['type', 'connectionId', 'user', 'epoch', 'seq', 'count', 'resync'], 'welcome fields');
  assert(UUID.test(w.connectionId), 'connectionId');
  const snaps = [];
  for (;;) {
    const m = await ws.take(() => true, 10000, 'snapshot/synced');
    if (m.type === 'synced') { assert(m.seq === w.seq, 'synced seq'); break; }
    assert(m.type === 'snapshot', `expected snapshot, got ${m.type}`);
    assert(m.reset === (snaps.length === 0), 'snapshot reset flag');
    snaps.push(m);
  }
  ws.seq = w.seq;
  ws.welcome = w;
  ws.chats = snaps.flatMap((s) => s.chats);
  return w;
}

const uid = () => crypto.randomUUID();
async function op(ws, msg) {
  ws.send(JSON.stringify(msg));
  return ws.take((m) => m.broadcastId === msg.broadcastId, 5000, `answer to ${msg.type}`);
}

let passed = 0;
const failed = [];
async function tcase(name, fn) {
  if (ONLY && !name.includes(ONLY)) return;
  try {
    await withTimeout(Promise.resolve().then(fn), 60000, name);
    passed++;
    if (VERBOSE) console.log(`ok   ${name}`);
  } catch (e) {
    failed.push(name);
    console.log(`FAIL ${name}: ${VERBOSE && e.stack ? e.stack : e.message || e}`);
  }
}

async function coreFlow(srv) {
  const room = `node page ${uid()}`;
  const a = await open(srv.url, room);
  assert(a.protocol === 'collab.v1', `subprotocol ${JSON.stringify(a.protocol)}`);
  const wa = await hello(a, token('ann', { name: 'Ann' }));
  same(wa.user, { id: 'ann', name: 'Ann', moderator: false }, 'welcome user');
  same([wa.seq, wa.count, wa.resync], [0, 1, 'snapshot'], 'fresh room welcome');
  const b = await open(srv.url, room);
  const wb = await hello(b, token('bob'));
  same(wb.user, { id: 'bob', name: 'bob', moderator: false }, 'name falls back to sub');
  assert(wb.count === 2, `count ${wb.count}`);
  await a.waitCount(2);

  const chatId = uid();
  const first = uid();
  const create = { type: 'new-text-chat', broadcastId: uid(), chat: { id: chatId, anchor: { quote: 'node' }, comment: { id: first, text: 'hello from node' } } };
  const ev = await op(a, create);
  same(Object.keys(ev), ['type', 'seq', 'broadcastId', 'ts', 'userId', 'chat'], 'event fields');
  same([ev.type, ev.seq, ev.userId], ['new-text-chat', 1, 'ann'], 'event');
  same(Object.keys(ev.chat), ['id', 'anchor', 'userId', 'userName', 'createdAt', 'resolved', 'comments'], 'chat fields');
  same([ev.chat.id, ev.chat.anchor, ev.chat.userName, ev.chat.resolved], [chatId, { quote: 'node' }, 'Ann', false], 'chat');
  same(ev.chat.comments.map((c) => [c.id, c.text, c.userId]), [[first, 'hello from node', 'ann']], 'comments');
  same(await b.take((m) => m.broadcastId === create.broadcastId), ev, 'delivered to b');

  const reply = uid();
  const add = { type: 'updated-text-chat', broadcastId: uid(), chatId, action: 'add-comment', comment: { id: reply, text: 'reply' } };
  const ev2 = await op(b, add);
  same([ev2.seq, ev2.action, ev2.comment.id, ev2.comment.userName], [2, 'add-comment', reply, 'bob'], 'add-comment');
  same(await a.take((m) => m.broadcastId === add.broadcastId), ev2, 'delivered to a');

  const edit = { type: 'updated-text-chat', broadcastId: uid(), chatId, action: 'edit-comment', commentId: reply, text: 'edited' };
  const ev3 = await op(b, edit);
  same([ev3.seq, ev3.commentId, ev3.text], [3, reply, 'edited'], 'edit-comment');
  await a.take((m) => m.broadcastId === edit.broadcastId);

  const notMine = { type: 'updated-text-chat', broadcastId: uid(), chatId, action: 'edit-comment', commentId: first, text: 'x' };
  const err = await op(b, notMine);
  same(err.type === 'error' && [err.code, err.broadcastId], ['forbidden', notMine.broadcastId], 'edit by a non-author');

  const del = { type: 'updated-text-chat', broadcastId: uid(), chatId, action: 'delete-comment', commentId: reply };
  same((await op(b, del)).seq, 4, 'delete-comment seq');
  await a.take((m) => m.broadcastId === del.broadcastId);
  const res = { type: 'updated-text-chat', broadcastId: uid(), chatId, action: 'resolve', resolved: true };
  same((await op(a, res)).resolved, true, 'resolve');
  await b.take((m) => m.broadcastId === res.broadcastId);

  // a newcomer's snapshot holds the state so far
  const c = await open(srv.url, room);
  await hello(c);
  same(c.chats.map((x) => [x.id, x.resolved, x.comments.map((y) => y.text)]), [[chatId, true, ['hello from node']]], 'snapshot');
  assert(c.welcome.count === 3 && c.welcome.user === null, 'anonymous newcomer');
  await a.waitCount(3);
  c.close(1000);
  await c.closed;
  await a.waitCount(2);

  const gone = { type: 'deleted-text-chat', broadcastId: uid(), chatId };
  const ev6 = await op(a, gone);
  same([ev6.type, ev6.seq, ev6.chatId], ['deleted-text-chat', 6, chatId], 'deleted-text-chat');
  await b.take((m) => m.broadcastId === gone.broadcastId);
  b.close(1000);
  const bc = await b.closed;
  assert(bc.code === 1000, `b close ${bc.code}`);
  await a.waitCount(1);
  assert(!a.protocolError, a.protocolError);
  a.close(1000);
  await a.closed;
}

async function shutdown(srv) {
  const a = await open(srv.url, 'shutdown page');
  await hello(a, token('ann'));
  a.on('error', () => {});
  const done = stop(srv.proc, 'SIGTERM');
  const closed = await withTimeout(a.closed, 5000, 'close on shutdown');
  assert(closed.code === 1001, `close code ${closed.code}, expected 1001`);
  await done;
}

async function main() {
  console.log(`# server-node against: ${process.env.SERVER_CMD || 'collab-server'}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'collab-srv-node-'));
  let srv = null;
  try {
    srv = await start(dir);
    await tcase('core flow: hello, chat, comments, resolve, delete, user counts', () => coreFlow(srv));
    await tcase('SIGTERM: close 1001, exit 0', () => shutdown(srv));
  } catch (e) {
    failed.push('setup');
    console.log(`FAIL setup: ${e && e.stack ? e.stack : e}`);
  } finally {
    if (srv && srv.proc.exitCode === null) srv.proc.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
  if (failed.length) console.log(`# failed: ${failed.join(', ')}`);
  console.log(`server-node: ${passed} passed, ${failed.length} failed`);
  process.exit(failed.length ? 1 : 0);
}

main();
