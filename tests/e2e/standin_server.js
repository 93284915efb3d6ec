'use strict';
// STAND-IN SERVER, for developing the browser client and demo page only.
// It is NOT the reference server and is never used by `make test` unless asked:
// `E2E_SERVER_CMD="node tests/e2e/standin_server.js" node tests/e2e/test_demo.js`.
//
// Implements just enough of PROTOCOL.md to drive server/www: the collab-server
// command line (--listen, --admin, --tenants, --data, --www, --demo), static
// files, GET /demo-token?name=, the /ws upgrade (tenant, origin, collab.v1),
// hello with HS256 tokens (4401/4403), welcome/replay/snapshot/synced,
// operations with permissions, seq, retries by broadcastId, batches per tick,
// throttled user-count, a JSON-lines journal in --data (fsync per turn) so a
// restart keeps history and epoch, and close 1001 on SIGTERM.
// Needs `ws` (NODE_PATH=tests/node/node_modules).
const http = require('http');
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const WebSocket = require('ws');

function die(msg) { process.stderr.write(`standin: ${msg}\n`); process.exit(2); }

const args = { www: null, demo: false };
for (let i = 2; i < process.argv.length; i++) {
	const a = process.argv[i];
	const val = () => process.argv[++i] ?? die(`${a} needs a value`);
	if (a === '--listen') args.listen = val();
	else if (a === '--admin') args.admin = val();
	else if (a === '--tenants') args.tenants = val();
	else if (a === '--data') args.data = val();
	else if (a === '--www') args.www = val();
	else if (a === '--demo') args.demo = true;
	else if (a === '--durability') val();
	else die(`unknown option ${a}`);
}
if (!args.listen || !args.tenants || !args.data) die('--listen, --tenants and --data are required');
const splitAddr = (s) => { const i = s.lastIndexOf(':'); return [s.slice(0, i), Number(s.slice(i + 1))]; };

const tenants = new Map();
for (const t of JSON.parse(fs.readFileSync(args.tenants, 'utf8')).tenants) {
	if (Buffer.byteLength(t.secret) < 32) die(`tenant ${t.id}: secret shorter than 32 bytes`);
	tenants.set(t.id, t);
}

// ---- journal: one JSON line per event, {room, event}; epoch in its own file
fs.mkdirSync(args.data, { recursive: true });
const epochFile = path.join(args.data, 'standin-epoch');
const journalFile = path.join(args.data, 'standin-journal.jsonl');
if (!fs.existsSync(epochFile)) fs.writeFileSync(epochFile, crypto.randomUUID());
const EPOCH = fs.readFileSync(epochFile, 'utf8').trim();

const rooms = new Map(); // key tenant\0urlId -> room
function room(tenantId, urlId) {
	const key = `${tenantId}\0${urlId}`;
	let r = rooms.get(key);
	if (!r) {
		r = { key, tenantId, urlId, seq: 0, events: [], byBid: new Map(), chats: new Map(), conns: new Set(),
			ready: [], lastCount: null, countTimer: null, countSentAt: 0 };
		rooms.set(key, r);
	}
	return r;
}

function applyTo(r, ev) {
	const chat = r.chats.get(ev.chatId);
	switch (ev.type) {
	case 'new-text-chat':
		r.chats.set(ev.chat.id, { ...ev.chat, comments: ev.chat.comments.map((c) => ({ ...c })) });
		break;
	case 'deleted-text-chat': r.chats.delete(ev.chatId); break;
	case 'updated-text-chat':
		if (ev.action === 'add-comment') chat.comments.push({ ...ev.comment });
		else if (ev.action === 'edit-comment') chat.comments.find((c) => c.id === ev.commentId).text = ev.text;
		else if (ev.action === 'delete-comment') chat.comments = chat.comments.filter((c) => c.id !== ev.commentId);
		else if (ev.action === 'resolve') chat.resolved = ev.resolved;
		break;
	default: break;
	}
}

function record(r, ev) {
	r.seq = ev.seq;
	r.events.push(ev);
	r.byBid.set(ev.broadcastId, ev);
	applyTo(r, ev);
}

if (fs.existsSync(journalFile)) {
	for (const line of fs.readFileSync(journalFile, 'utf8').split('\n')) {
		if (!line) continue;
		let rec;
		try { rec = JSON.parse(line); } catch (e) { break; } // torn tail
		record(room(rec.tenantId, rec.urlId), rec.event);
	}
}
const journalFd = fs.openSync(journalFile, 'a');

// ---- tokens
const b64u = (b) => Buffer.from(b).toString('base64url');
function signToken(secret, claims) {
	const h = b64u(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
	const p = b64u(JSON.stringify(claims));
	const s = crypto.createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url');
	return `${h}.${p}.${s}`;
}
function verifyToken(secret, tok) {
	const parts = String(tok).split('.');
	if (parts.length !== 3) return null;
	const want = crypto.createHmac('sha256', secret).update(`${parts[0]}.${parts[1]}`).digest();
	const got = Buffer.from(parts[2], 'base64url');
	if (got.length !== want.length || !crypto.timingSafeEqual(got, want)) return null;
	try {
		const h = JSON.parse(Buffer.from(parts[0], 'base64url'));
		const c = JSON.parse(Buffer.from(parts[1], 'base64url'));
		if (h.alg !== 'HS256' || typeof c.sub !== 'string' || typeof c.tenantId !== 'string' ||
			typeof c.exp !== 'number' || c.exp + 30 < Date.now() / 1000) return null;
		return c;
	} catch (e) { return null; }
}

// ---- HTTP: static files and /demo-token
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
	'.css': 'text/css; charset=utf-8', '.png': 'image/png', '.svg': 'image/svg+xml', '.ico': 'image/x-icon' };

function text(res, status, body, extra = {}) {
	res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...extra });
	res.end(body);
}

const server = http.createServer((req, res) => {
	const u = new URL(req.url, 'http://x');
	if (req.method !== 'GET' && req.method !== 'HEAD') return text(res, 405, 'method not allowed\n');
	if (u.pathname === '/demo-token') {
		const t = tenants.get('demo');
		if (!args.demo || !t) return text(res, 404, 'not found\n');
		const name = (u.searchParams.get('name') || 'guest').trim().slice(0, 64) || 'guest';
		// One user per display name: two tabs under one name are one user.
		const id = `demo-${crypto.createHash('sha256').update(name).digest('hex').slice(0, 12)}`;
		const token = signToken(t.secret, { sub: id, name, tenantId: 'demo', exp: Math.floor(Date.now() / 1000) + 600 });
		res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
		return res.end(JSON.stringify({ token, tenantId: 'demo', user: { id, name } }));
	}
	if (!args.www) return text(res, 404, 'not found\n');
	let rel = decodeURIComponent(u.pathname);
	if (rel.endsWith('/')) rel += 'index.html';
	const file = path.resolve(args.www, `.${rel}`);
	if (!file.startsWith(path.resolve(args.www) + path.sep)) return text(res, 404, 'not found\n');
	fs.readFile(file, (err, body) => {
		if (err) {
			// Any other page path serves the demo too, so each path is its own room.
			if (!path.extname(rel)) {
				return fs.readFile(path.join(args.www, 'index.html'), (e2, b2) => (e2 ? text(res, 404, 'not found\n')
					: (res.writeHead(200, { 'Content-Type': TYPES['.html'] }), res.end(b2))));
			}
			return text(res, 404, 'not found\n');
		}
		res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream', 'Cache-Control': 'no-cache' });
		res.end(req.method === 'HEAD' ? undefined : body);
	});
});

// ---- WebSocket
const wss = new WebSocket.Server({
	noServer: true,
	maxPayload: 64 * 1024,
	handleProtocols: (protocols) => (protocols.has('collab.v1') ? 'collab.v1' : false),
});

server.on('upgrade', (req, socket, head) => {
	const reject = (status, msg) => {
		socket.end(`HTTP/1.1 ${status} ${msg}\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: ${msg.length + 1}\r\n\r\n${msg}\n`);
	};
	const u = new URL(req.url, 'http://x');
	if (u.pathname !== '/ws') return reject(404, 'Not Found');
	const tenantId = u.searchParams.get('tenantId');
	const urlId = u.searchParams.get('urlId');
	if (u.searchParams.getAll('tenantId').length !== 1 || u.searchParams.getAll('urlId').length !== 1 ||
		!/^[A-Za-z0-9_-]{1,64}$/.test(tenantId) || !urlId || Buffer.byteLength(urlId) > 512) return reject(400, 'Bad Request');
	const tenant = tenants.get(tenantId);
	const origin = req.headers.origin;
	if (!tenant || (origin && !(tenant.origins || []).includes(origin))) return reject(403, 'Forbidden');
	wss.handleUpgrade(req, socket, head, (ws) => session(ws, tenant, room(tenantId, urlId)));
});

function sendMsg(ws, msg) { if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg)); }

function distinctUsers(r) {
	const s = new Set();
	for (const c of r.conns) if (c.joined) s.add(c.user ? `u:${c.user.id}` : `a:${c.id}`);
	return s.size;
}

function presence(r) {
	if (r.countTimer) return;
	const wait = Math.max(0, r.countSentAt + 500 - Date.now());
	r.countTimer = setTimeout(() => {
		r.countTimer = null;
		const n = distinctUsers(r);
		if (n === r.lastCount) return;
		r.lastCount = n;
		r.countSentAt = Date.now();
		for (const c of r.conns) if (c.live) sendMsg(c.ws, { type: 'user-count', count: n });
	}, wait);
}

// End of turn: journal the room's new events, fsync once, then broadcast.
const dirty = new Set();
function endOfTurn(r) {
	if (dirty.has(r)) return;
	dirty.add(r);
	if (dirty.size === 1) {
		setImmediate(() => {
			for (const rr of dirty) {
				const evs = rr.ready;
				rr.ready = [];
				if (!evs.length) continue;
				fs.writeSync(journalFd, evs.map((ev) => `${JSON.stringify({ tenantId: rr.tenantId, urlId: rr.urlId, event: ev })}\n`).join(''));
				fs.fdatasyncSync(journalFd);
				const msg = evs.length === 1 ? evs[0] : { type: 'batch', events: evs };
				for (const c of rr.conns) if (c.live) sendMsg(c.ws, msg); else if (c.joined) c.backlog.push(...evs);
			}
			dirty.clear();
		});
	}
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const isText = (t) => typeof t === 'string' && t.length > 0 && Buffer.byteLength(t) <= 4096;

function operate(conn, r, m) {
	const fail = (code, message) => sendMsg(conn.ws, { type: 'error', broadcastId: typeof m.broadcastId === 'string' ? m.broadcastId : null, code, message });
	if (!m || typeof m !== 'object' || !['new-text-chat', 'updated-text-chat', 'deleted-text-chat'].includes(m.type)) return fail('invalid', 'unknown type');
	if (!UUID.test(m.broadcastId)) return fail('invalid', 'bad broadcastId');
	if (!conn.user) return fail('forbidden', 'anonymous users cannot write');
	const prior = r.byBid.get(m.broadcastId);
	if (prior) {
		if (prior.userId === conn.user.id) return sendMsg(conn.ws, prior);
		return fail('conflict', 'broadcastId already used');
	}
	const now = Date.now();
	const me = conn.user;
	const ev = { type: m.type, seq: 0, broadcastId: m.broadcastId, ts: now, userId: me.id };
	const chat = r.chats.get(m.chatId);
	const mayManage = (x) => x.userId === me.id || me.moderator;
	if (m.type === 'new-text-chat') {
		const c = m.chat;
		if (!c || !UUID.test(c.id) || !c.anchor || typeof c.anchor !== 'object' || !c.comment || !UUID.test(c.comment.id) || !isText(c.comment.text)) return fail('invalid', 'bad chat');
		if (Buffer.byteLength(JSON.stringify(c.anchor)) > 2048) return fail('invalid', 'anchor too large');
		if (r.chats.has(c.id)) return fail('conflict', 'chat id already used');
		ev.chat = { id: c.id, anchor: c.anchor, userId: me.id, userName: me.name, createdAt: now, resolved: false,
			comments: [{ id: c.comment.id, userId: me.id, userName: me.name, text: c.comment.text, createdAt: now }] };
	} else {
		if (!UUID.test(m.chatId)) return fail('invalid', 'bad chatId');
		if (!chat) return fail('not-found', 'no such chat');
		ev.chatId = m.chatId;
		if (m.type === 'updated-text-chat') {
			ev.action = m.action;
			if (m.action === 'add-comment') {
				if (!m.comment || !UUID.test(m.comment.id) || !isText(m.comment.text)) return fail('invalid', 'bad comment');
				if (chat.comments.some((x) => x.id === m.comment.id)) return fail('conflict', 'comment id already used');
				ev.comment = { id: m.comment.id, userId: me.id, userName: me.name, text: m.comment.text, createdAt: now };
			} else if (m.action === 'edit-comment' || m.action === 'delete-comment') {
				const cm = chat.comments.find((x) => x.id === m.commentId);
				if (!cm) return fail('not-found', 'no such comment');
				if (m.action === 'edit-comment') {
					if (!isText(m.text)) return fail('invalid', 'bad text');
					if (cm.userId !== me.id) return fail('forbidden', 'only the author may edit');
					ev.text = m.text;
				} else if (!mayManage(cm)) return fail('forbidden', 'only the author or a moderator may delete');
				ev.commentId = m.commentId;
			} else if (m.action === 'resolve') {
				if (typeof m.resolved !== 'boolean') return fail('invalid', 'resolved must be a boolean');
				if (!mayManage(chat)) return fail('forbidden', 'only the author or a moderator may resolve');
				ev.resolved = m.resolved;
			} else return fail('invalid', 'unknown action');
		} else if (!mayManage(chat)) return fail('forbidden', 'only the author or a moderator may delete');
	}
	ev.seq = r.seq + 1;
	record(r, ev);
	r.ready.push(ev);
	endOfTurn(r);
}

let nextConn = 1;
function session(ws, tenant, r) {
	const conn = { id: nextConn++, ws, user: null, joined: false, live: false, backlog: [] };
	const helloTimer = setTimeout(() => ws.close(4408, 'no hello'), 10000);
	ws.on('message', (data, isBinary) => {
		if (isBinary) return ws.close(1003, 'binary');
		let m;
		try { m = JSON.parse(data.toString('utf8')); } catch (e) { m = undefined; }
		if (!conn.joined) {
			clearTimeout(helloTimer);
			if (!m || m.type !== 'hello' || ('since' in m) !== ('epoch' in m)) return ws.close(4400, 'bad hello');
			if (m.token !== undefined) {
				const c = verifyToken(tenant.secret, m.token);
				if (!c) return ws.close(4401, 'invalid token');
				if (c.tenantId !== tenant.id || (Array.isArray(c.urlIds) && !c.urlIds.includes(r.urlId))) return ws.close(4403, 'forbidden');
				conn.user = { id: c.sub, name: c.name || c.sub, moderator: c.moderator === true };
			} else if (tenant.anonymous !== 'read') return ws.close(4401, 'token required');
			conn.joined = true;
			r.conns.add(conn);
			const count = distinctUsers(r);
			const replay = m.epoch === EPOCH && m.since <= r.seq && (r.events.length === r.seq);
			sendMsg(ws, { type: 'welcome', connectionId: crypto.randomUUID(), user: conn.user, epoch: EPOCH, seq: r.seq, count, resync: replay ? 'replay' : 'snapshot' });
			if (replay) {
				const evs = r.events.slice(m.since);
				if (evs.length === 1) sendMsg(ws, evs[0]); else if (evs.length) sendMsg(ws, { type: 'batch', events: evs });
			} else {
				sendMsg(ws, { type: 'snapshot', seq: r.seq, reset: true, chats: [...r.chats.values()] });
			}
			sendMsg(ws, { type: 'synced', seq: r.seq });
			conn.live = true;
			presence(r);
			return undefined;
		}
		return operate(conn, r, m);
	});
	ws.on('close', () => {
		clearTimeout(helloTimer);
		r.conns.delete(conn);
		if (conn.joined) presence(r);
	});
}

// ---- admin listener: /health only
const admin = http.createServer((req, res) => {
	if (req.url === '/health') return text(res, 200, 'ok\n');
	return text(res, 404, 'not found\n');
});

const [lh, lp] = splitAddr(args.listen);
server.listen(lp, lh, () => {
	const done = () => {
		process.stdout.write(`listening ws://${lh}:${server.address().port}\n`);
		if (args.admin) process.stdout.write(`admin http://${splitAddr(args.admin)[0]}:${admin.address().port}\n`);
		process.stdout.write('standin: this is the Node stand-in, not collab-server\n');
	};
	if (args.admin) { const [ah, ap] = splitAddr(args.admin); admin.listen(ap, ah, done); } else done();
});

function shutdown() {
	for (const c of wss.clients) c.close(1001, 'server shutting down');
	server.close();
	admin.close();
	setTimeout(() => process.exit(0), 100).unref();
	setTimeout(() => { for (const c of wss.clients) c.terminate(); process.exit(0); }, 1000);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
