// Unit tests of server/www/collab.js, the browser client, driven through a
// fake WebSocket and fake timers. Run: node --test tests/unit/js/
import test from 'node:test';
import assert from 'node:assert/strict';
import {
	CollabClient, backoffDelay, applyEvent, roomUrl, utf8Length, randomUUID, DEFAULTS,
} from '../../../server/www/collab.js';

// ---------------------------------------------------------------------------
// Fakes

class FakeWS {
	static instances = [];
	constructor(url, protocols) {
		this.url = url;
		this.protocols = protocols;
		this.readyState = 0;
		this.sent = [];
		this.closedWith = null;
		FakeWS.instances.push(this);
	}
	send(data) {
		if (this.readyState !== 1) throw new Error('send on a socket that is not open');
		this.sent.push(JSON.parse(data));
	}
	close(code, reason) { this.closedWith = { code, reason }; this.readyState = 3; }
	// server side
	open() { this.readyState = 1; this.onopen?.({}); }
	recv(msg) { this.onmessage?.({ data: typeof msg === 'string' ? msg : JSON.stringify(msg) }); }
	drop(code = 1006, reason = '') { this.readyState = 3; this.onclose?.({ code, reason }); }
	last() { return this.sent[this.sent.length - 1]; }
}

class Clock {
	constructor() { this.t = 1_000_000; this.timers = []; this.nextId = 1; }
	setTimeout = (fn, ms) => { const id = this.nextId++; this.timers.push({ id, at: this.t + ms, fn }); return id; };
	clearTimeout = (id) => { this.timers = this.timers.filter((x) => x.id !== id); };
	now = () => this.t;
	advance(ms) {
		const end = this.t + ms;
		for (;;) {
			this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
			const next = this.timers[0];
			if (!next || next.at > end) break;
			this.timers.shift();
			this.t = next.at;
			next.fn();
		}
		this.t = end;
	}
	pendingDelays() { return this.timers.map((x) => x.at - this.t); }
}

let idCounter = 0;
const fakeUuid = () => `00000000-0000-4000-8000-${String(++idCounter).padStart(12, '0')}`;

function setup(extra = {}) {
	FakeWS.instances = [];
	const clock = new Clock();
	const log = { changes: 0, events: [], counts: [], states: [], errors: [] };
	const client = new CollabClient({
		url: 'ws://example.test:8080', tenantId: 'demo', urlId: '/docs/a b?c=1&d',
		token: 'TOKEN', WebSocket: FakeWS, random: () => 0.5, uuid: fakeUuid,
		setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout, now: clock.now,
		onChange: () => { log.changes++; },
		onEvent: (e) => log.events.push(e),
		onCount: (n) => log.counts.push(n),
		onState: (s) => log.states.push(s),
		onError: (e) => log.errors.push(e),
		...extra,
	});
	return { client, clock, log, ws: () => FakeWS.instances[FakeWS.instances.length - 1] };
}

const tick = () => new Promise((r) => setImmediate(r));
const USER = { id: 'u1', name: 'Ann', moderator: false };
const welcome = (over = {}) => ({
	type: 'welcome', connectionId: 'c1', user: USER, epoch: 'E1', seq: 0, count: 1, resync: 'snapshot', ...over,
});
const wireChat = (id, over = {}) => ({
	id, anchor: { quote: 'q' }, userId: 'u2', userName: 'Bo', createdAt: 5, resolved: false,
	comments: [{ id: `${id}-c1`, userId: 'u2', userName: 'Bo', text: 'first', createdAt: 5 }], ...over,
});
const newChatEv = (seq, id, over = {}) => ({
	type: 'new-text-chat', seq, broadcastId: `b-${seq}`, ts: 1, userId: 'u2', chat: wireChat(id), ...over,
});

// Connect and complete a snapshot sync holding `chats` at `seq`.
function goLive(t, { chats = [], seq = 0, epoch = 'E1', count = 1 } = {}) {
	t.client.connect();
	const ws = t.ws();
	ws.open();
	ws.recv(welcome({ seq, epoch, count }));
	ws.recv({ type: 'snapshot', seq, reset: true, chats });
	ws.recv({ type: 'synced', seq });
	assert.equal(t.client.state, 'live');
	return ws;
}

// ---------------------------------------------------------------------------

test('URL, subprotocol and first hello', () => {
	const t = setup();
	t.client.connect();
	const ws = t.ws();
	assert.deepEqual(ws.protocols, ['collab.v1']);
	const u = new URL(ws.url);
	assert.equal(u.protocol, 'ws:');
	assert.equal(u.pathname, '/ws');
	assert.equal(u.searchParams.get('tenantId'), 'demo');
	assert.equal(u.searchParams.get('urlId'), '/docs/a b?c=1&d');
	assert.match(ws.url, /urlId=%2Fdocs%2Fa\+b%3Fc%3D1%26d$/); // URLSearchParams encoding
	assert.equal(t.client.state, 'connecting');
	ws.open();
	assert.deepEqual(ws.sent, [{ type: 'hello', token: 'TOKEN' }]);
});

test('roomUrl maps http(s) to ws(s) and drops path and hash', () => {
	assert.equal(roomUrl('https://h.test/x/y#z', 't', '/p'), 'wss://h.test/ws?tenantId=t&urlId=%2Fp');
	assert.equal(roomUrl('http://h.test:81', 't', 'é'), 'ws://h.test:81/ws?tenantId=t&urlId=%C3%A9');
});

test('anonymous hello has no token; getToken may return a promise', async () => {
	const a = setup({ token: undefined });
	a.client.connect();
	a.ws().open();
	assert.deepEqual(a.ws().sent, [{ type: 'hello' }]);
	let calls = 0;
	const b = setup({ token: undefined, getToken: () => Promise.resolve(`T${++calls}`) });
	b.client.connect();
	assert.equal(FakeWS.instances.length, 0, 'waits for the token');
	await tick();
	b.ws().open();
	assert.deepEqual(b.ws().sent, [{ type: 'hello', token: 'T1' }]);
});

test('welcome -> syncing, snapshot reset then add, synced -> live with one onChange', () => {
	const t = setup();
	t.client.connect();
	const ws = t.ws();
	ws.open();
	ws.recv(welcome({ seq: 7, count: 3 }));
	assert.equal(t.client.state, 'syncing');
	assert.deepEqual(t.client.user, USER);
	assert.deepEqual(t.log.counts, [3]);
	ws.recv({ type: 'snapshot', seq: 7, reset: true, chats: [wireChat('a')] });
	ws.recv({ type: 'snapshot', seq: 7, reset: false, chats: [wireChat('b', { resolved: true })] });
	assert.equal(t.client.chats().length, 0, 'staged until synced');
	const before = t.log.changes;
	ws.recv({ type: 'synced', seq: 7 });
	assert.equal(t.client.state, 'live');
	assert.equal(t.log.changes, before + 1);
	const chats = t.client.chats();
	assert.deepEqual(chats.map((c) => c.id), ['a', 'b']);
	assert.equal(chats[1].resolved, true);
	assert.equal(chats[0].comments[0].text, 'first');
	assert.equal(chats[0].pending, false);
	assert.equal(t.client.seq, 7);
	assert.equal(t.client.epoch, 'E1');
	assert.deepEqual(t.log.states, ['connecting', 'syncing', 'live']);
});

test('a later reset snapshot replaces the state', () => {
	const t = setup();
	const ws = goLive(t, { chats: [wireChat('a'), wireChat('b')], seq: 2 });
	ws.drop(1006);
	t.clock.advance(30000);
	const ws2 = t.ws();
	ws2.open();
	ws2.recv(welcome({ seq: 9, epoch: 'E2' }));
	ws2.recv({ type: 'snapshot', seq: 9, reset: true, chats: [wireChat('c')] });
	ws2.recv({ type: 'synced', seq: 9 });
	assert.deepEqual(t.client.chats().map((c) => c.id), ['c']);
	assert.equal(t.client.epoch, 'E2');
	assert.equal(t.client.seq, 9);
});

test('a snapshot resync with no snapshot message means an empty room', () => {
	const t = setup();
	const ws = goLive(t, { chats: [wireChat('a')], seq: 1 });
	ws.drop(1006);
	t.clock.advance(30000);
	t.ws().open();
	t.ws().recv(welcome({ seq: 0, epoch: 'E9' }));
	t.ws().recv({ type: 'synced', seq: 0 });
	assert.deepEqual(t.client.chats(), []);
	assert.equal(t.client.seq, 0);
	assert.equal(t.client.epoch, 'E9');
});

test('reconnect hello carries since/epoch; replay then synced; live events', () => {
	const t = setup();
	const ws = goLive(t, { chats: [wireChat('a')], seq: 4 });
	ws.recv(newChatEv(5, 'b'));
	assert.equal(t.client.seq, 5);
	ws.drop(1006);
	assert.equal(t.client.state, 'reconnecting');
	t.clock.advance(30000);
	const ws2 = t.ws();
	ws2.open();
	assert.deepEqual(ws2.sent[0], { type: 'hello', token: 'TOKEN', since: 5, epoch: 'E1' });
	ws2.recv(welcome({ seq: 7, resync: 'replay', count: 2 }));
	ws2.recv(newChatEv(6, 'c'));
	ws2.recv({ type: 'batch', events: [{ type: 'updated-text-chat', seq: 7, broadcastId: 'x7', ts: 1, userId: 'u2', chatId: 'a', action: 'resolve', resolved: true }] });
	assert.equal(t.client.state, 'syncing');
	ws2.recv({ type: 'synced', seq: 7 });
	assert.equal(t.client.state, 'live');
	assert.deepEqual(t.client.chats().map((c) => c.id), ['a', 'b', 'c']);
	assert.equal(t.client.chats()[0].resolved, true);
	assert.deepEqual(t.log.events.map((e) => e.seq), [5, 6, 7]);
	assert.deepEqual(t.log.states, ['connecting', 'syncing', 'live', 'reconnecting', 'syncing', 'live']);
});

test('a connection lost mid-snapshot keeps the old state and stays resumable', () => {
	const t = setup();
	const ws = goLive(t, { chats: [wireChat('a')], seq: 3 });
	ws.drop(1006);
	t.clock.advance(30000);
	const ws2 = t.ws();
	ws2.open();
	ws2.recv(welcome({ seq: 50, epoch: 'E2' }));
	ws2.recv({ type: 'snapshot', seq: 50, reset: true, chats: [wireChat('z')] });
	ws2.drop(1006);
	assert.deepEqual(t.client.chats().map((c) => c.id), ['a']);
	t.clock.advance(30000);
	t.ws().open();
	assert.deepEqual(t.ws().sent[0], { type: 'hello', token: 'TOKEN', since: 3, epoch: 'E1' });
});

test('seq dedupe: events at or below the last applied seq are ignored', () => {
	const t = setup();
	const ws = goLive(t, { chats: [wireChat('a')], seq: 10 });
	ws.recv(newChatEv(9, 'old'));
	ws.recv(newChatEv(10, 'same'));
	ws.recv(newChatEv(11, 'new'));
	ws.recv(newChatEv(11, 'again'));
	assert.deepEqual(t.client.chats().map((c) => c.id), ['a', 'new']);
	assert.deepEqual(t.log.events.map((e) => e.chat.id), ['new']);
});

test('a seq gap drops the connection and resyncs from the last applied seq', () => {
	const t = setup();
	const ws = goLive(t, { seq: 10 });
	ws.recv(newChatEv(12, 'skip'));
	assert.equal(ws.closedWith.code, 4000);
	assert.equal(t.client.state, 'reconnecting');
	assert.equal(t.client.chats().length, 0);
	t.clock.advance(30000);
	t.ws().open();
	assert.equal(t.ws().sent[0].since, 10);
});

test('batch: every event applied in order, one onChange', () => {
	const t = setup();
	const ws = goLive(t, { seq: 0 });
	const before = t.log.changes;
	ws.recv({ type: 'batch', events: [
		newChatEv(1, 'a'),
		{ type: 'updated-text-chat', seq: 2, broadcastId: 'b2', ts: 1, userId: 'u2', chatId: 'a', action: 'add-comment',
			comment: { id: 'k2', userId: 'u2', userName: 'Bo', text: 'second', createdAt: 6 } },
		{ type: 'updated-text-chat', seq: 3, broadcastId: 'b3', ts: 1, userId: 'u2', chatId: 'a', action: 'edit-comment', commentId: 'a-c1', text: 'edited' },
		{ type: 'updated-text-chat', seq: 4, broadcastId: 'b4', ts: 1, userId: 'u2', chatId: 'a', action: 'delete-comment', commentId: 'k2' },
		{ type: 'updated-text-chat', seq: 5, broadcastId: 'b5', ts: 1, userId: 'u2', chatId: 'a', action: 'resolve', resolved: true },
		newChatEv(6, 'b'),
		{ type: 'deleted-text-chat', seq: 7, broadcastId: 'b7', ts: 1, userId: 'u2', chatId: 'b' },
	] });
	assert.equal(t.log.changes, before + 1);
	assert.equal(t.client.seq, 7);
	const [a, ...rest] = t.client.chats();
	assert.equal(rest.length, 0);
	assert.equal(a.resolved, true);
	assert.deepEqual(a.comments.map((c) => [c.id, c.text]), [['a-c1', 'edited']]);
	assert.equal(t.log.events.length, 7);
});

test('applyEvent reports events about unknown chats or comments', () => {
	const m = new Map();
	assert.equal(applyEvent(m, { type: 'deleted-text-chat', chatId: 'x' }), false);
	assert.equal(applyEvent(m, { type: 'updated-text-chat', chatId: 'x', action: 'resolve', resolved: true }), false);
	applyEvent(m, newChatEv(1, 'a'));
	assert.equal(applyEvent(m, { type: 'updated-text-chat', chatId: 'a', action: 'edit-comment', commentId: 'no', text: 't' }), false);
	assert.equal(applyEvent(m, { type: 'updated-text-chat', chatId: 'a', action: 'bogus' }), false);
	assert.equal(m.get('a').comments.size, 1);
});

test('own operation: pending in the view, echo acks it, applied once, never a remote event', async () => {
	const t = setup();
	const ws = goLive(t, { seq: 0 });
	const op = t.client.createChat({ quote: 'hello', prefix: '', suffix: '' }, 'my first');
	const sent = ws.last();
	assert.deepEqual(sent, {
		type: 'new-text-chat', broadcastId: op.broadcastId,
		chat: { id: op.chatId, anchor: { quote: 'hello', prefix: '', suffix: '' }, comment: { id: op.commentId, text: 'my first' } },
	});
	assert.equal(new Set([op.broadcastId, op.chatId, op.commentId]).size, 3);
	let [c] = t.client.chats();
	assert.equal(c.pending, true);
	assert.equal(c.userId, 'u1');
	assert.equal(c.comments[0].pending, true);
	assert.equal(t.client.pendingCount(), 1);
	const echo = {
		type: 'new-text-chat', seq: 1, broadcastId: op.broadcastId, ts: 9, userId: 'u1',
		chat: { id: op.chatId, anchor: sent.chat.anchor, userId: 'u1', userName: 'Ann', createdAt: 9, resolved: false,
			comments: [{ id: op.commentId, userId: 'u1', userName: 'Ann', text: 'my first', createdAt: 9 }] },
	};
	ws.recv(echo);
	assert.deepEqual(await op.promise, echo);
	[c] = t.client.chats();
	assert.equal(c.pending, false);
	assert.equal(c.createdAt, 9);
	assert.equal(t.client.chats().length, 1);
	assert.equal(t.log.events.length, 0, 'own echo is not a remote event');
	assert.equal(t.client.pendingCount(), 0);
	// A second copy of the echo (same seq) changes nothing.
	ws.recv(echo);
	assert.equal(t.client.chats().length, 1);
	assert.equal(t.log.events.length, 0);
});

test('events of another tab of the same user are remote events', () => {
	const t = setup();
	const ws = goLive(t);
	ws.recv(newChatEv(1, 'a', { userId: 'u1', broadcastId: 'other-tab' }));
	assert.equal(t.log.events.length, 1);
	assert.equal(t.client.chats().length, 1);
});

test('pending overlay: add, edit, delete comment, resolve, delete chat', async () => {
	const t = setup();
	const ws = goLive(t, { chats: [wireChat('a'), wireChat('b')], seq: 2 });
	const add = t.client.addComment('a', 'reply');
	const edit = t.client.editComment('a', 'a-c1', 'changed');
	t.client.resolve('a', true);
	t.client.deleteChat('b');
	let [a, ...rest] = t.client.chats();
	assert.equal(rest.length, 0, 'pending delete hides b');
	assert.equal(a.resolved, true);
	assert.equal(a.pending, true);
	assert.deepEqual(a.comments.map((c) => [c.text, c.pending]), [['changed', true], ['reply', true]]);
	assert.equal(ws.sent.filter((m) => m.type !== 'hello').length, 4);
	assert.deepEqual(ws.sent[2], { type: 'updated-text-chat', broadcastId: edit.broadcastId, chatId: 'a', action: 'edit-comment', commentId: 'a-c1', text: 'changed' });
	const del = t.client.deleteComment('a', add.commentId);
	assert.deepEqual(ws.last(), { type: 'updated-text-chat', broadcastId: del.broadcastId, chatId: 'a', action: 'delete-comment', commentId: add.commentId });
	[a] = t.client.chats();
	assert.deepEqual(a.comments.map((c) => c.text), ['changed']);
	// Another user deletes a meanwhile: the pending ops on it vanish from the view.
	ws.recv({ type: 'deleted-text-chat', seq: 3, broadcastId: 'zz', ts: 1, userId: 'u2', chatId: 'a' });
	assert.deepEqual(t.client.chats(), []);
});

test('error with our broadcastId rejects the op and reverts the view; others go to onError', async () => {
	const t = setup();
	const ws = goLive(t, { chats: [wireChat('a')], seq: 1 });
	const op = t.client.deleteChat('a');
	assert.equal(t.client.chats().length, 0);
	ws.recv({ type: 'error', broadcastId: op.broadcastId, code: 'forbidden', message: 'only the author or a moderator may delete' });
	await assert.rejects(op.promise, (e) => e.code === 'forbidden' && e.broadcastId === op.broadcastId && /author/.test(e.message));
	assert.equal(t.client.chats().length, 1);
	ws.recv({ type: 'error', broadcastId: null, code: 'invalid', message: 'x' });
	assert.equal(t.log.errors.length, 1);
	assert.equal(t.log.errors[0].code, 'invalid');
});

test('local validation rejects without sending', async () => {
	const t = setup();
	const ws = goLive(t);
	const n = ws.sent.length;
	await assert.rejects(t.client.addComment('a', '').promise, { code: 'invalid' });
	await assert.rejects(t.client.addComment('a', 'é'.repeat(2049)).promise, { code: 'invalid' });
	await assert.rejects(t.client.createChat({ quote: 'x'.repeat(3000) }, 'hi').promise, { code: 'invalid' });
	await assert.rejects(t.client.createChat('str', 'hi').promise, { code: 'invalid' });
	await assert.rejects(t.client.resolve('a', 'yes').promise, { code: 'invalid' });
	assert.equal(ws.sent.length, n);
	assert.equal(t.client.pendingCount(), 0);
});

test('unacked ops are re-sent with the same broadcastId after the next synced; a DUPLICATE answer acks', async () => {
	const t = setup();
	const ws = goLive(t, { seq: 0 });
	const op = t.client.createChat({ quote: 'q' }, 'hi');
	const first = ws.last();
	ws.drop(1006);
	t.clock.advance(30000);
	const ws2 = t.ws();
	ws2.open();
	// The server had applied it (seq 1) before the drop; we resync by snapshot.
	ws2.recv(welcome({ seq: 1, resync: 'snapshot' }));
	const applied = { ...wireChat(op.chatId), userId: 'u1' };
	ws2.recv({ type: 'snapshot', seq: 1, reset: true, chats: [applied] });
	assert.equal(ws2.sent.length, 1, 'nothing but hello before synced');
	ws2.recv({ type: 'synced', seq: 1 });
	assert.deepEqual(ws2.last(), first, 'same message, same broadcastId');
	assert.equal(t.client.chats().length, 1, 'no duplicate in the view');
	ws2.recv({ type: 'new-text-chat', seq: 1, broadcastId: op.broadcastId, ts: 1, userId: 'u1', chat: applied });
	await op.promise;
	assert.equal(t.client.pendingCount(), 0);
	assert.equal(t.log.events.length, 0);
	assert.equal(t.client.seq, 1);
});

test('an own event in the replay acks the op, which is then not re-sent', async () => {
	const t = setup();
	const ws = goLive(t, { seq: 0 });
	const op = t.client.addComment('a', 'x');
	ws.drop(1006);
	t.clock.advance(30000);
	const ws2 = t.ws();
	ws2.open();
	ws2.recv(welcome({ seq: 1, resync: 'replay' }));
	ws2.recv({ type: 'updated-text-chat', seq: 1, broadcastId: op.broadcastId, ts: 1, userId: 'u1', chatId: 'a', action: 'add-comment', comment: { id: op.commentId, text: 'x' } });
	ws2.recv({ type: 'synced', seq: 1 });
	await op.promise;
	assert.equal(ws2.sent.length, 1, 'only hello');
	assert.equal(t.log.events.length, 0);
});

test('offline queue: ops made while disconnected go out in order after synced', async () => {
	const t = setup();
	t.client.addComment('a', 'before connect');
	t.client.connect();
	t.ws().open();
	assert.equal(t.ws().sent.length, 1);
	t.ws().recv(welcome());
	t.client.addComment('a', 'while syncing');
	assert.equal(t.ws().sent.length, 1);
	t.ws().recv({ type: 'synced', seq: 0 });
	assert.deepEqual(t.ws().sent.slice(1).map((m) => m.comment.text), ['before connect', 'while syncing']);
	t.ws().drop(1006);
	t.client.addComment('a', 'offline');
	t.clock.advance(30000);
	t.ws().open();
	t.ws().recv(welcome({ resync: 'replay' }));
	t.ws().recv({ type: 'synced', seq: 0 });
	assert.deepEqual(t.ws().sent.slice(1).map((m) => m.comment.text), ['before connect', 'while syncing', 'offline']);
});

test('the queue is bounded', async () => {
	const t = setup({ maxPending: 3 });
	for (let i = 0; i < 3; i++) t.client.addComment('a', `m${i}`);
	await assert.rejects(t.client.addComment('a', 'one too many').promise, { code: 'queue-full' });
	assert.equal(t.client.pendingCount(), 3);
});

test('sending is paced by a token bucket; rate-limited ops are retried', () => {
	const t = setup({ opsPerSecond: 10, opsBurst: 2 });
	const ws = goLive(t);
	const ops = [1, 2, 3, 4].map((i) => t.client.addComment('a', `m${i}`));
	assert.equal(ws.sent.length - 1, 2);
	t.clock.advance(100);
	assert.equal(ws.sent.length - 1, 3);
	t.clock.advance(100);
	assert.equal(ws.sent.length - 1, 4);
	ws.recv({ type: 'error', broadcastId: ops[3].broadcastId, code: 'rate-limited', message: '' });
	assert.equal(t.client.pendingCount(), 4, 'kept');
	t.clock.advance(1000);
	assert.equal(ws.last().broadcastId, ops[3].broadcastId);
	assert.equal(ws.sent.length - 1, 5);
});

test('backoffDelay: full jitter within [0, min(cap, base*2^n))', () => {
	assert.equal(backoffDelay(0, 500, 30000, () => 0), 0);
	assert.equal(backoffDelay(0, 500, 30000, () => 0.999999), 499);
	assert.equal(backoffDelay(3, 500, 30000, () => 0.5), 2000);
	assert.equal(backoffDelay(6, 500, 30000, () => 0.999999), 29999);
	assert.equal(backoffDelay(60, 500, 30000, () => 0.5), 15000);
	assert.equal(backoffDelay(5000, 500, 30000, () => 0.5), 15000);
	for (let n = 0; n < 12; n++) {
		for (let i = 0; i < 200; i++) {
			const d = backoffDelay(n);
			assert.ok(d >= 0 && d < Math.min(30000, 500 * 2 ** n), `attempt ${n}: ${d}`);
		}
	}
	assert.equal(DEFAULTS.backoffBaseMs, 500);
	assert.equal(DEFAULTS.backoffCapMs, 30000);
});

test('reconnect delays grow, use the injected random, cap, and reset after a stable connection', () => {
	const draws = [];
	const t = setup({ random: () => { draws.push(1); return 0.999999; } });
	t.client.connect();
	const seen = [];
	for (let i = 0; i < 9; i++) {
		t.ws().drop(1006);
		seen.push(t.client.retryDelay);
		t.clock.advance(t.client.retryDelay);
	}
	assert.deepEqual(seen, [499, 999, 1999, 3999, 7999, 15999, 29999, 29999, 29999]);
	assert.equal(draws.length, 9);
	t.ws().open();
	t.clock.advance(9999);
	t.ws().drop(1006);
	assert.equal(t.client.retryDelay, 29999, 'not stable long enough');
	t.clock.advance(30000);
	t.ws().open();
	t.clock.advance(10000);
	t.ws().drop(1006);
	assert.equal(t.client.retryDelay, 499, 'reset after 10 s up');
});

test('close 1001: reconnect at once (once until stable)', () => {
	const t = setup({ random: () => 0.5 });
	goLive(t);
	const n = FakeWS.instances.length;
	t.ws().drop(1001);
	assert.equal(t.client.state, 'reconnecting');
	assert.equal(t.client.retryDelay, 0);
	t.clock.advance(0);
	assert.equal(FakeWS.instances.length, n + 1);
	t.ws().open();
	t.ws().drop(1001);
	assert.equal(t.client.retryDelay, 250, 'second 1001 in a row backs off');
});

for (const code of [4401, 4403]) {
	test(`close ${code}: state auth-failed and no reconnect until reconnect()`, async () => {
		let calls = 0;
		const t = setup({ token: undefined, getToken: async () => `tok${++calls}` });
		t.client.connect();
		await tick();
		t.ws().open();
		t.ws().drop(code, 'bad token');
		assert.equal(t.client.state, 'auth-failed');
		const n = FakeWS.instances.length;
		t.clock.advance(120000);
		assert.equal(FakeWS.instances.length, n);
		assert.deepEqual(t.clock.pendingDelays(), []);
		t.client.reconnect();
		await tick();
		assert.equal(FakeWS.instances.length, n + 1);
		t.ws().open();
		assert.equal(t.ws().sent[0].token, 'tok2', 'a fresh token');
		assert.equal(t.client.state, 'reconnecting');
	});
}

test('getToken failure backs off and retries', async () => {
	let fail = true;
	const t = setup({ token: undefined, getToken: async () => { if (fail) throw new Error('offline'); return 'T'; } });
	t.client.connect();
	await tick();
	assert.equal(FakeWS.instances.length, 0);
	assert.equal(t.client.state, 'reconnecting');
	assert.equal(t.log.errors[0].message, 'offline');
	fail = false;
	t.clock.advance(t.client.retryDelay);
	await tick();
	assert.equal(FakeWS.instances.length, 1);
});

test('user-count messages reach onCount', () => {
	const t = setup();
	const ws = goLive(t, { count: 1 });
	ws.recv({ type: 'user-count', count: 2 });
	ws.recv({ type: 'user-count', count: 1 });
	assert.deepEqual(t.log.counts, [1, 2, 1]);
	assert.equal(t.client.count, 1);
});

test('close(): no reconnect, pending ops reject, later ops reject', async () => {
	const t = setup();
	const ws = goLive(t);
	ws.drop(1006);
	const op = t.client.addComment('a', 'x');
	t.client.close();
	assert.equal(t.client.state, 'closed');
	await assert.rejects(op.promise, { code: 'closed' });
	t.clock.advance(60000);
	assert.equal(FakeWS.instances.length, 1);
	await assert.rejects(t.client.addComment('a', 'y').promise, { code: 'closed' });
	const t2 = setup();
	const ws2 = goLive(t2);
	t2.client.close();
	assert.deepEqual(ws2.closedWith, { code: 1000, reason: 'client closed' });
	ws2.drop(1000);
	assert.equal(t2.client.state, 'closed');
});

test('messages from a replaced socket are ignored; invalid JSON and binary are ignored', () => {
	const t = setup();
	const old = goLive(t);
	old.drop(1006);
	t.clock.advance(30000);
	old.recv(newChatEv(1, 'ghost'));
	assert.equal(t.client.chats().length, 0);
	t.ws().open();
	t.ws().recv('not json');
	t.ws().onmessage({ data: new ArrayBuffer(2) });
	assert.equal(t.log.errors.length, 1);
});

test('permission helpers follow the protocol rules', () => {
	const t = setup();
	goLive(t);
	assert.equal(t.client.canEditComment({ userId: 'u1' }), true);
	assert.equal(t.client.canEditComment({ userId: 'u2' }), false);
	assert.equal(t.client.canDeleteComment({ userId: 'u2' }), false);
	assert.equal(t.client.canManageChat({ userId: 'u2' }), false);
	t.client.user = { ...USER, moderator: true };
	assert.equal(t.client.canDeleteComment({ userId: 'u2' }), true);
	assert.equal(t.client.canManageChat({ userId: 'u2' }), true);
	assert.equal(t.client.canEditComment({ userId: 'u2' }), false);
});

test('echo-suppression memory is bounded', () => {
	const t = setup({ maxOwnIds: 4 });
	const ws = goLive(t);
	const ops = [];
	for (let i = 0; i < 6; i++) ops.push(t.client.addComment('a', `m${i}`));
	assert.equal(t.client._own.size, 4);
	assert.ok(!t.client._own.has(ops[0].broadcastId));
	assert.ok(t.client._own.has(ops[5].broadcastId));
	ws.recv(newChatEv(1, 'a'));
});

test('utf8Length and randomUUID', () => {
	assert.equal(utf8Length('a\u00e9\u20ac\u{1F600}'), 10);
	assert.equal(utf8Length('\ud800'), 3);
	for (let i = 0; i < 50; i++) assert.match(randomUUID(), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

test('a drop before the first synced: the next hello has no since/epoch', () => {
	const t = setup();
	t.client.connect();
	t.ws().open();
	t.ws().recv(welcome({ seq: 5 }));
	t.ws().recv({ type: 'snapshot', seq: 5, reset: true, chats: [wireChat('a')] });
	t.ws().drop(1006);
	t.clock.advance(30000);
	t.ws().open();
	assert.deepEqual(t.ws().sent[0], { type: 'hello', token: 'TOKEN' });
	assert.equal(t.client.chats().length, 0);
});

test('onChange is held back while syncing, then fires once', () => {
	const t = setup();
	const ws = goLive(t, { seq: 1, chats: [wireChat('a')] });
	ws.drop(1006);
	t.clock.advance(30000);
	const ws2 = t.ws();
	ws2.open();
	ws2.recv(welcome({ seq: 4, resync: 'replay' }));
	const before = t.log.changes;
	ws2.recv(newChatEv(2, 'b'));
	ws2.recv(newChatEv(3, 'c'));
	ws2.recv({ type: 'batch', events: [newChatEv(4, 'd')] });
	assert.equal(t.log.changes, before);
	ws2.recv({ type: 'synced', seq: 4 });
	assert.equal(t.log.changes, before + 1);
	assert.equal(t.client.chats().length, 4);
});

test('a throwing listener is reported to onError and does not break the client', () => {
	const t = setup();
	t.client.on('count', () => { throw new Error('boom'); });
	const ws = goLive(t);
	ws.recv({ type: 'user-count', count: 5 });
	assert.equal(t.client.count, 5);
	assert.ok(t.log.errors.some((e) => e.message === 'boom'));
	ws.recv(newChatEv(1, 'a'));
	assert.equal(t.client.chats().length, 1);
});

test('reconnect() while getToken is pending uses only the newest attempt', async () => {
	const resolvers = [];
	const t = setup({ token: undefined, getToken: () => new Promise((r) => resolvers.push(r)) });
	t.client.connect();
	t.client.reconnect();
	resolvers[0]('old');
	await tick();
	assert.equal(FakeWS.instances.length, 0, 'the stale attempt opened nothing');
	resolvers[1]('new');
	await tick();
	assert.equal(FakeWS.instances.length, 1);
	t.ws().open();
	assert.equal(t.ws().sent[0].token, 'new');
});

test('in a browser, the online event ends the backoff wait', () => {
	const g = globalThis;
	const saved = { add: g.addEventListener, remove: g.removeEventListener, nav: Object.getOwnPropertyDescriptor(g, 'navigator') };
	const handlers = {};
	g.addEventListener = (name, fn) => { handlers[name] = fn; };
	g.removeEventListener = (name) => { delete handlers[name]; };
	Object.defineProperty(g, 'navigator', { value: { onLine: true }, configurable: true, writable: true });
	try {
		const t = setup({ random: () => 0.999 });
		goLive(t);
		for (let i = 0; i < 5; i++) { t.ws().drop(1006); t.clock.advance(t.client.retryDelay); }
		t.ws().drop(1006);
		assert.ok(t.client.retryDelay > 10000);
		const n = FakeWS.instances.length;
		handlers.online();
		assert.equal(FakeWS.instances.length, n + 1, 'connects at once');
		t.client.close();
		assert.equal(handlers.online, undefined, 'close() removes the listener');
	} finally {
		g.addEventListener = saved.add;
		g.removeEventListener = saved.remove;
		if (saved.nav) Object.defineProperty(g, 'navigator', saved.nav); else delete g.navigator;
	}
});
