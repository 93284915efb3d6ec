// collab.js: the browser client of the collab sync protocol, version 1
// (docs/protocol.md). An ES module with no dependencies; it touches no DOM at
// load time, so Node can import it too (pass a WebSocket class in the options).
//
//   import { CollabClient } from '/collab.js';
//   const client = new CollabClient({
//     url: 'ws://127.0.0.1:8080',        // default: this page's host, ws: or wss:
//     tenantId: 'demo', urlId: location.pathname,
//     getToken: async () => token,       // or token: '...'; null/undefined = anonymous
//     onChange: (chats) => render(chats),
//     onEvent: (ev) => {}, onCount: (n) => {}, onState: (s) => {}, onError: (e) => {},
//   });
//   client.connect();
//   const { broadcastId, promise } = client.createChat({ quote, prefix, suffix }, 'text');
//
// Behaviour, in the protocol's words:
// - One WebSocket to `/ws?tenantId=..&urlId=..` offering `collab.v1`; `hello`
//   with the token and, once a sync has completed, the last applied (seq, epoch).
// - A snapshot is staged and replaces the state at `synced`, so a connection
//   lost mid-snapshot leaves the previous, still resumable state in place.
// - Events are applied only when their seq is above the last applied one; a
//   gap (a missed event) forces a reconnect so the server resyncs us.
// - Own operations: the echo (same broadcastId) is the acknowledgement and is
//   applied once, never reported as a remote event. Unacknowledged operations
//   are kept apart from the confirmed state; `chats()` shows the merge with
//   `pending: true` on what they touch. After a drop they are sent again with
//   the same broadcastId after the next `synced` (the server answers a retry
//   it already applied with the original event, which acks it).
// - Reconnect: exponential backoff with full jitter (base 0.5 s, cap 30 s,
//   reset once a connection has stayed up 10 s), at once after close 1001,
//   never after 4401/4403 (state `auth-failed`; call `reconnect()` once
//   `getToken()` can give a valid token).

export const VERSION = 'collab.v1';

/** Connection states reported through onState, in the order they occur. */
export const STATES = Object.freeze(['connecting', 'syncing', 'live', 'reconnecting', 'closed', 'auth-failed']);

/** Defaults; every one can be overridden by the option of the same name. */
export const DEFAULTS = Object.freeze({
	backoffBaseMs: 500,     // first retry waits up to this
	backoffCapMs: 30000,    // no retry waits longer than this
	stableMs: 10000,        // a connection up this long resets the backoff
	maxPending: 1000,       // unacknowledged operations kept (sent or queued)
	maxOwnIds: 4096,        // own broadcastIds remembered for echo suppression
	opsPerSecond: 16,       // client-side pacing, below the server's 20/s
	opsBurst: 32,           // and its burst of 40
	maxRateLimitedRetries: 5,
	maxTextBytes: 4096,     // PROTOCOL.md section 4
	maxAnchorBytes: 2048,
});

const CLOSE_GOING_AWAY = 1001;
const CLOSE_UNAUTHORIZED = 4401;
const CLOSE_FORBIDDEN = 4403;
const CLOSE_CLIENT_RESYNC = 4000; // ours: a seq gap, reconnect and resync

const EVENT_TYPES = new Set(['new-text-chat', 'updated-text-chat', 'deleted-text-chat']);

/**
 * Backoff before reconnect attempt `attempt` (0 for the first): full jitter,
 * a uniform draw in [0, min(cap, base * 2^attempt)).
 */
export function backoffDelay(attempt, baseMs = DEFAULTS.backoffBaseMs,
	capMs = DEFAULTS.backoffCapMs, random = Math.random) {
	const ceiling = Math.min(capMs, baseMs * Math.pow(2, Math.max(0, attempt)));
	return Math.floor(random() * ceiling);
}

/** Bytes of `s` in UTF-8. */
export function utf8Length(s) {
	let n = 0;
	for (let i = 0; i < s.length; i++) {
		const c = s.charCodeAt(i);
		if (c < 0x80) n += 1;
		else if (c < 0x800) n += 2;
		else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length &&
			(s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) { n += 4; i++; }
		else n += 3;
	}
	return n;
}

/** A fresh lowercase v4 UUID; crypto.randomUUID needs a secure context, so fall back. */
export function randomUUID() {
	const c = globalThis.crypto;
	if (c && typeof c.randomUUID === 'function') return c.randomUUID();
	if (!c || typeof c.getRandomValues !== 'function') throw new Error('collab.js: no crypto.getRandomValues');
	const b = c.getRandomValues(new Uint8Array(16));
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
	return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The WebSocket URL of a room: base (ws/wss/http/https, path ignored) + /ws?tenantId&urlId. */
export function roomUrl(base, tenantId, urlId) {
	const u = new URL(base);
	if (u.protocol === 'http:') u.protocol = 'ws:';
	else if (u.protocol === 'https:') u.protocol = 'wss:';
	u.pathname = '/ws';
	u.search = new URLSearchParams({ tenantId, urlId }).toString();
	u.hash = '';
	return u.toString();
}

// ---------------------------------------------------------------------------
// Confirmed state: Map chatId -> chat, chat.comments a Map commentId -> comment,
// both in creation (insertion) order; fields exactly as the server sent them.

function chatFromWire(c) {
	const comments = new Map();
	for (const m of Array.isArray(c.comments) ? c.comments : []) {
		if (m && typeof m.id === 'string') comments.set(m.id, { ...m });
	}
	return { ...c, resolved: c.resolved === true, comments };
}

/**
 * Apply one event to a state map. Returns false when it refers to something
 * the state does not hold (left unchanged then). Exported for tests.
 */
export function applyEvent(chats, ev) {
	switch (ev.type) {
	case 'new-text-chat': {
		if (!ev.chat || typeof ev.chat.id !== 'string') return false;
		chats.set(ev.chat.id, chatFromWire(ev.chat));
		return true;
	}
	case 'deleted-text-chat':
		return chats.delete(ev.chatId);
	case 'updated-text-chat': {
		const chat = chats.get(ev.chatId);
		if (!chat) return false;
		switch (ev.action) {
		case 'add-comment':
			if (!ev.comment || typeof ev.comment.id !== 'string') return false;
			chat.comments.set(ev.comment.id, { ...ev.comment });
			return true;
		case 'edit-comment': {
			const c = chat.comments.get(ev.commentId);
			if (!c) return false;
			chat.comments.set(ev.commentId, { ...c, text: ev.text });
			return true;
		}
		case 'delete-comment':
			return chat.comments.delete(ev.commentId);
		case 'resolve':
			chat.resolved = ev.resolved === true;
			return true;
		default:
			return false;
		}
	}
	default:
		return false;
	}
}

/** An Error for a rejected operation: .code is the protocol's error code. */
export class CollabError extends Error {
	constructor(code, message, broadcastId = null) {
		super(message || code);
		this.name = 'CollabError';
		this.code = code;
		this.broadcastId = broadcastId;
	}
}

// ---------------------------------------------------------------------------

export class CollabClient {
	/**
	 * @param {object} opts
	 *   tenantId, urlId   required strings
	 *   url               base URL of the server (default: this page's origin)
	 *   token             a JWT string, or null/undefined for anonymous
	 *   getToken          () => string|null|Promise; called before every connection
	 *                     attempt (takes precedence over `token`)
	 *   onChange(chats), onEvent(event), onCount(n), onState(state, detail),
	 *   onError(error), onWelcome(welcome)   callbacks, all optional
	 *   WebSocket         the WebSocket class (default globalThis.WebSocket)
	 *   random, setTimeout, clearTimeout, now, uuid   injectable for tests
	 *   and any key of DEFAULTS.
	 */
	constructor(opts = {}) {
		if (typeof opts.tenantId !== 'string' || typeof opts.urlId !== 'string') {
			throw new TypeError('collab.js: tenantId and urlId are required strings');
		}
		this.tenantId = opts.tenantId;
		this.urlId = opts.urlId;
		this.cfg = { ...DEFAULTS };
		for (const k of Object.keys(DEFAULTS)) if (typeof opts[k] === 'number') this.cfg[k] = opts[k];
		let base = opts.url;
		if (!base) {
			const loc = globalThis.location;
			if (!loc || !loc.host) throw new TypeError('collab.js: no url option and no page location');
			base = `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}`;
		}
		this.url = roomUrl(base, this.tenantId, this.urlId);
		this._token = opts.token == null ? null : String(opts.token);
		this._getToken = typeof opts.getToken === 'function' ? opts.getToken : null;
		this._WS = opts.WebSocket || globalThis.WebSocket;
		if (typeof this._WS !== 'function') throw new TypeError('collab.js: no WebSocket class');
		this._random = opts.random || Math.random;
		this._setTimeout = opts.setTimeout || ((f, ms) => setTimeout(f, ms));
		this._clearTimeout = opts.clearTimeout || ((t) => clearTimeout(t));
		this._now = opts.now || (() => Date.now());
		this._uuid = opts.uuid || randomUUID;

		this._listeners = { change: [], event: [], count: [], state: [], error: [], welcome: [] };
		for (const [opt, ev] of [['onChange', 'change'], ['onEvent', 'event'], ['onCount', 'count'],
			['onState', 'state'], ['onError', 'error'], ['onWelcome', 'welcome']]) {
			if (typeof opts[opt] === 'function') this._listeners[ev].push(opts[opt]);
		}

		// Public, read-only views of the session.
		this.state = 'closed';
		this.user = null;          // {id, name, moderator} from the last welcome, null if anonymous
		this.connectionId = null;
		this.count = 0;            // distinct users in the room
		this.epoch = null;         // epoch of the confirmed state
		this.seq = 0;              // last applied seq in that epoch
		this.closeCode = null;     // code of the last close

		this._chats = new Map();   // confirmed state
		this._staging = null;      // snapshot being received: {chats, seq}
		this._resync = null;       // 'replay' | 'snapshot' between welcome and synced
		this._sessionEpoch = null; // epoch named by this connection's welcome
		this._pending = new Map(); // broadcastId -> op entry, in creation order
		this._own = new Set();     // bounded: own broadcastIds, oldest first
		this._view = null;         // cached merged view
		this._dirty = false;       // state changed, onChange owed

		this._ws = null;
		this._gen = 0;             // bumps on every connection attempt / close
		this._started = false;     // connect() called
		this._everOpened = false;
		this._closedByUser = false;
		this._attempt = 0;
		this._immediateUsed = false;
		this.retryDelay = null;    // delay of the last scheduled reconnect, ms
		this._retryTimer = null;
		this._stableTimer = null;
		this._flushTimer = null;
		this._tokens = this.cfg.opsBurst;
		this._tokensAt = 0;
		this._onlineHandler = null;
	}

	// ----- subscriptions --------------------------------------------------

	/** Add a listener: 'change', 'event', 'count', 'state', 'error', 'welcome'. Returns an unsubscribe function. */
	on(name, fn) {
		const list = this._listeners[name];
		if (!list) throw new TypeError(`collab.js: no event ${name}`);
		list.push(fn);
		return () => { const i = list.indexOf(fn); if (i >= 0) list.splice(i, 1); };
	}

	_emit(name, ...args) {
		for (const fn of this._listeners[name].slice()) {
			try { fn(...args); } catch (e) {
				if (name !== 'error') this._emit('error', e);
				else if (globalThis.console) console.error(e);
			}
		}
	}

	_setState(s, detail) {
		if (this.state === s) return;
		this.state = s;
		this._emit('state', s, detail);
	}

	_changed() {
		this._view = null;
		this._dirty = true;
	}

	_flushChange() {
		if (!this._dirty || this.state === 'syncing') return;
		this._dirty = false;
		this._emit('change', this.chats());
	}

	// ----- connection -----------------------------------------------------

	/** Start connecting (idempotent). Operations made before are queued. */
	connect() {
		if (this._closedByUser) throw new Error('collab.js: client was closed');
		if (this._started) return this;
		this._started = true;
		const g = globalThis;
		if (typeof g.addEventListener === 'function' && g.navigator && 'onLine' in g.navigator) {
			// Back online: no point waiting out the backoff.
			this._onlineHandler = () => { if (this.state === 'reconnecting') this.reconnect(); };
			g.addEventListener('online', this._onlineHandler);
		}
		this._open();
		return this;
	}

	/**
	 * Drop any connection or pending retry and connect now, with the backoff
	 * reset; getToken() is asked again. The way out of `auth-failed`.
	 */
	reconnect() {
		if (this._closedByUser) throw new Error('collab.js: client was closed');
		this._started = true;
		this._attempt = 0;
		this._detach(1000, 'reconnect');
		this._open();
	}

	/** Close for good: no reconnect; unacknowledged operations reject with code 'closed'. */
	close() {
		if (this._closedByUser) return;
		this._closedByUser = true;
		this._gen++;
		this._detach(1000, 'client closed');
		this._clearTimer('_flushTimer');
		if (this._onlineHandler) {
			globalThis.removeEventListener('online', this._onlineHandler);
			this._onlineHandler = null;
		}
		const pending = [...this._pending.values()];
		this._pending.clear();
		for (const e of pending) e.reject(new CollabError('closed', 'client closed', e.broadcastId));
		if (pending.length) this._changed();
		this._setState('closed');
		this._flushChange();
	}

	_clearTimer(name) {
		if (this[name] !== null) { this._clearTimeout(this[name]); this[name] = null; }
	}

	// Forget the current socket (closing it) and every timer tied to it.
	_detach(code, reason) {
		this._clearTimer('_retryTimer');
		this._clearTimer('_stableTimer');
		this._staging = null;
		this._resync = null;
		const ws = this._ws;
		this._ws = null;
		if (ws) {
			try { ws.close(code, reason); } catch (e) { /* already closing */ }
		}
		for (const e of this._pending.values()) e.sent = false;
	}

	async _open() {
		const gen = ++this._gen;
		this._clearTimer('_retryTimer');
		this._setState(this._everOpened ? 'reconnecting' : 'connecting');
		let token = this._token;
		if (this._getToken) {
			try {
				token = await this._getToken();
			} catch (e) {
				if (gen !== this._gen) return;
				this._emit('error', e);
				this._scheduleRetry(false);
				return;
			}
			if (gen !== this._gen) return; // closed or restarted meanwhile
		}
		let ws;
		try {
			ws = new this._WS(this.url, [VERSION]);
		} catch (e) {
			this._emit('error', e);
			this._scheduleRetry(false);
			return;
		}
		this._ws = ws;
		ws.onopen = () => {
			if (ws !== this._ws) return;
			this._everOpened = true;
			const hello = { type: 'hello' };
			if (token != null && token !== '') hello.token = String(token);
			if (this.epoch !== null) { hello.since = this.seq; hello.epoch = this.epoch; }
			ws.send(JSON.stringify(hello));
			this._stableTimer = this._setTimeout(() => {
				this._stableTimer = null;
				this._attempt = 0;
				this._immediateUsed = false;
			}, this.cfg.stableMs);
		};
		ws.onmessage = (e) => {
			if (ws !== this._ws) return;
			this._onMessage(e.data);
		};
		ws.onerror = () => { /* a close event follows */ };
		ws.onclose = (e) => {
			if (ws !== this._ws) return;
			this._ws = null;
			this._onClose(e && typeof e.code === 'number' ? e.code : 1006, e && e.reason);
		};
	}

	_onClose(code, reason) {
		this.closeCode = code;
		this._detach(1000, '');
		if (this._closedByUser) return;
		if (code === CLOSE_UNAUTHORIZED || code === CLOSE_FORBIDDEN) {
			this._gen++;
			this._setState('auth-failed', { code, reason: reason || '' });
			this._flushChange();
			return;
		}
		// A server going away restarts soon: come back at once, but only once
		// until a connection has proved stable (no hot loop on repeated 1001s).
		const immediate = code === CLOSE_GOING_AWAY && !this._immediateUsed;
		if (immediate) this._immediateUsed = true;
		this._scheduleRetry(immediate);
	}

	_scheduleRetry(immediate) {
		if (this._closedByUser) return;
		this._clearTimer('_retryTimer');
		let delay = 0;
		if (!immediate) {
			delay = backoffDelay(this._attempt, this.cfg.backoffBaseMs, this.cfg.backoffCapMs, this._random);
			this._attempt++;
		}
		this._setState('reconnecting', { delay });
		this._flushChange();
		this.retryDelay = delay;
		this._retryTimer = this._setTimeout(() => {
			this._retryTimer = null;
			this._open();
		}, delay);
	}

	// ----- incoming ------------------------------------------------------

	_onMessage(data) {
		if (typeof data !== 'string') return; // the protocol is text only
		let msg;
		try { msg = JSON.parse(data); } catch (e) {
			this._emit('error', new CollabError('invalid', 'server sent invalid JSON'));
			return;
		}
		if (!msg || typeof msg !== 'object') return;
		switch (msg.type) {
		case 'welcome': this._onWelcome(msg); break;
		case 'snapshot': this._onSnapshot(msg); break;
		case 'synced': this._onSynced(msg); break;
		case 'batch':
			if (Array.isArray(msg.events)) {
				for (const ev of msg.events) {
					if (!this._ws) break; // a gap dropped the connection
					if (ev && typeof ev === 'object' && EVENT_TYPES.has(ev.type)) this._onEvent(ev);
				}
			}
			break;
		case 'user-count':
			if (typeof msg.count === 'number') this._setCount(msg.count);
			break;
		case 'error': this._onError(msg); break;
		default:
			if (EVENT_TYPES.has(msg.type)) this._onEvent(msg);
		}
		this._flushChange();
	}

	_setCount(n) {
		this.count = n;
		this._emit('count', n);
	}

	_onWelcome(msg) {
		this.user = msg.user && typeof msg.user === 'object' ? msg.user : null;
		this.connectionId = msg.connectionId || null;
		this._sessionEpoch = typeof msg.epoch === 'string' ? msg.epoch : null;
		this._staging = null;
		this._resync = msg.resync === 'replay' ? 'replay' : 'snapshot';
		this._changed(); // pending items show the user's name now
		this._setState('syncing', { resync: msg.resync });
		this._emit('welcome', msg);
		if (typeof msg.count === 'number') this._setCount(msg.count);
	}

	_onSnapshot(msg) {
		if (msg.reset === true || !this._staging) {
			this._staging = { chats: new Map(), seq: 0 };
		}
		if (typeof msg.seq === 'number') this._staging.seq = msg.seq;
		for (const c of Array.isArray(msg.chats) ? msg.chats : []) {
			if (c && typeof c.id === 'string') this._staging.chats.set(c.id, chatFromWire(c));
		}
	}

	_onSynced(msg) {
		if (this._staging) {
			this._chats = this._staging.chats;
			this.seq = this._staging.seq;
			this._staging = null;
			this._changed();
		} else if (this._resync === 'snapshot') {
			// A snapshot resync that sent no snapshot message: the room is empty.
			this._chats = new Map();
			this.seq = typeof msg.seq === 'number' ? msg.seq : 0;
			this._changed();
		}
		if (this._sessionEpoch !== null) this.epoch = this._sessionEpoch;
		this._resync = null;
		this._setState('live');
		this._flushChange();
		this._flush();
	}

	_onEvent(ev) {
		if (typeof ev.seq !== 'number') return;
		const bid = typeof ev.broadcastId === 'string' ? ev.broadcastId : null;
		const entry = bid !== null ? this._pending.get(bid) : undefined;
		const own = entry !== undefined || (bid !== null && this._own.has(bid));
		const target = this._staging ? this._staging.chats : this._chats;
		const last = this._staging ? this._staging.seq : this.seq;
		if (ev.seq <= last) {
			// Already applied (replay overlap) or the answer to a retry of an
			// operation the server had applied: either way it acks.
			if (entry) this._ack(entry, ev);
			return;
		}
		if (this.epoch !== null && !this._staging && ev.seq > last + 1) {
			// Missed an event: drop the connection and resync from `last`.
			this._emit('error', new CollabError('gap', `seq jumped from ${last} to ${ev.seq}; resyncing`));
			this._detach(CLOSE_CLIENT_RESYNC, 'seq gap');
			this._scheduleRetry(false);
			return;
		}
		applyEvent(target, ev);
		if (this._staging) this._staging.seq = ev.seq; else this.seq = ev.seq;
		this._changed();
		if (entry) this._ack(entry, ev);
		else if (!own) this._emit('event', ev);
	}

	_onError(msg) {
		const bid = typeof msg.broadcastId === 'string' ? msg.broadcastId : null;
		const entry = bid !== null ? this._pending.get(bid) : undefined;
		const err = new CollabError(typeof msg.code === 'string' ? msg.code : 'error',
			typeof msg.message === 'string' ? msg.message : '', bid);
		if (!entry) {
			this._emit('error', err);
			return;
		}
		if (err.code === 'rate-limited' && entry.rateLimited < this.cfg.maxRateLimitedRetries) {
			// Not applied: send it again once the server's bucket has refilled.
			entry.rateLimited++;
			entry.sent = false;
			this._tokens = 0;
			this._tokensAt = this._now();
			this._scheduleFlush(1000);
			return;
		}
		this._pending.delete(bid);
		this._changed();
		entry.reject(err);
	}

	_ack(entry, ev) {
		this._pending.delete(entry.broadcastId);
		this._changed();
		entry.resolve(ev);
	}

	// ----- outgoing ------------------------------------------------------

	_rememberOwn(bid) {
		this._own.add(bid);
		while (this._own.size > this.cfg.maxOwnIds) this._own.delete(this._own.values().next().value);
	}

	// Register an operation; it goes out now when live, else after the next synced.
	_submit(msg, check) {
		const bid = msg.broadcastId;
		let resolve;
		let reject;
		const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
		// The caller may ignore the promise; do not let that be an unhandled rejection.
		promise.catch(() => {});
		const fail = (code, message) => {
			reject(new CollabError(code, message, bid));
			return { broadcastId: bid, promise };
		};
		if (this._closedByUser) return fail('closed', 'client closed');
		const bad = check();
		if (bad) return fail('invalid', bad);
		if (this._pending.size >= this.cfg.maxPending) {
			return fail('queue-full', `${this.cfg.maxPending} operations await acknowledgement`);
		}
		this._rememberOwn(bid);
		this._pending.set(bid, {
			broadcastId: bid, msg, resolve, reject, sent: false, rateLimited: 0, createdAt: this._now(),
		});
		this._changed();
		this._flush();
		this._flushChange();
		return { broadcastId: bid, promise };
	}

	_refill() {
		const now = this._now();
		const add = ((now - this._tokensAt) / 1000) * this.cfg.opsPerSecond;
		this._tokens = Math.min(this.cfg.opsBurst, this._tokens + add);
		this._tokensAt = now;
	}

	_scheduleFlush(ms) {
		if (this._flushTimer !== null) return;
		this._flushTimer = this._setTimeout(() => { this._flushTimer = null; this._flush(); }, ms);
	}

	// Send unsent operations in order, paced by a token bucket.
	_flush() {
		if (this.state !== 'live' || !this._ws) return;
		this._refill();
		for (const e of this._pending.values()) {
			if (e.sent) continue;
			if (this._tokens < 1) {
				this._scheduleFlush(Math.ceil(((1 - this._tokens) / this.cfg.opsPerSecond) * 1000));
				return;
			}
			this._tokens -= 1;
			e.sent = true;
			try { this._ws.send(JSON.stringify(e.msg)); } catch (err) { e.sent = false; return; }
		}
	}

	_checkText(text) {
		if (typeof text !== 'string' || text.length === 0) return 'text must be a non-empty string';
		if (utf8Length(text) > this.cfg.maxTextBytes) return `text over ${this.cfg.maxTextBytes} bytes`;
		return null;
	}

	_checkId(name, id) {
		return typeof id === 'string' && id.length > 0 ? null : `${name} must be a string`;
	}

	/** Start a discussion: anchor is a JSON object (at most 2 KiB encoded). Returns {broadcastId, chatId, commentId, promise}. */
	createChat(anchor, text) {
		const chatId = this._uuid();
		const commentId = this._uuid();
		const msg = {
			type: 'new-text-chat', broadcastId: this._uuid(),
			chat: { id: chatId, anchor, comment: { id: commentId, text } },
		};
		const r = this._submit(msg, () => {
			if (!anchor || typeof anchor !== 'object' || Array.isArray(anchor)) return 'anchor must be an object';
			if (utf8Length(JSON.stringify(anchor)) > this.cfg.maxAnchorBytes) return `anchor over ${this.cfg.maxAnchorBytes} bytes`;
			return this._checkText(text);
		});
		return { ...r, chatId, commentId };
	}

	/** Reply to a discussion. Returns {broadcastId, commentId, promise}. */
	addComment(chatId, text) {
		const commentId = this._uuid();
		const r = this._submit({
			type: 'updated-text-chat', broadcastId: this._uuid(), chatId, action: 'add-comment',
			comment: { id: commentId, text },
		}, () => this._checkId('chatId', chatId) || this._checkText(text));
		return { ...r, commentId };
	}

	/** Change a comment's text (the author only). Returns {broadcastId, promise}. */
	editComment(chatId, commentId, text) {
		return this._submit({
			type: 'updated-text-chat', broadcastId: this._uuid(), chatId, action: 'edit-comment', commentId, text,
		}, () => this._checkId('chatId', chatId) || this._checkId('commentId', commentId) || this._checkText(text));
	}

	/** Delete a comment (its author or a moderator). Returns {broadcastId, promise}. */
	deleteComment(chatId, commentId) {
		return this._submit({
			type: 'updated-text-chat', broadcastId: this._uuid(), chatId, action: 'delete-comment', commentId,
		}, () => this._checkId('chatId', chatId) || this._checkId('commentId', commentId));
	}

	/** Resolve (true) or reopen (false) a discussion. Returns {broadcastId, promise}. */
	resolve(chatId, resolved) {
		return this._submit({
			type: 'updated-text-chat', broadcastId: this._uuid(), chatId, action: 'resolve', resolved: resolved === true,
		}, () => this._checkId('chatId', chatId) ||
			(typeof resolved === 'boolean' ? null : 'resolved must be a boolean'));
	}

	/** Delete a discussion (its author or a moderator). Returns {broadcastId, promise}. */
	deleteChat(chatId) {
		return this._submit({ type: 'deleted-text-chat', broadcastId: this._uuid(), chatId },
			() => this._checkId('chatId', chatId));
	}

	// ----- state accessors -------------------------------------------------

	/** Number of operations awaiting acknowledgement (sent or queued). */
	pendingCount() { return this._pending.size; }

	/** True while `broadcastId` awaits acknowledgement. */
	isPending(broadcastId) { return this._pending.has(broadcastId); }

	/** May the current user edit this comment? (its author only) */
	canEditComment(comment) {
		return !!(this.user && comment && comment.userId === this.user.id);
	}

	/** May the current user delete this comment? (its author or a moderator) */
	canDeleteComment(comment) {
		return !!(this.user && comment && (comment.userId === this.user.id || this.user.moderator === true));
	}

	/** May the current user resolve or delete this chat? (its author or a moderator) */
	canManageChat(chat) {
		return !!(this.user && chat && (chat.userId === this.user.id || this.user.moderator === true));
	}

	/**
	 * The room's chats in creation order, confirmed state merged with pending
	 * operations: [{id, anchor, userId, userName, createdAt, resolved, pending,
	 * comments: [{id, userId, userName, text, createdAt, pending}]}]. Objects
	 * touched by an unacknowledged operation have pending: true; pending
	 * deletions are already left out. A fresh array on each change: treat as read-only.
	 */
	chats() {
		if (this._view) return this._view;
		const m = new Map();
		for (const [id, c] of this._chats) {
			const comments = new Map();
			for (const [cid, cm] of c.comments) comments.set(cid, { ...cm, pending: false });
			m.set(id, { ...c, pending: false, comments });
		}
		const me = this.user || { id: null, name: null };
		for (const e of this._pending.values()) {
			const op = e.msg;
			const stamp = { userId: me.id, userName: me.name, createdAt: e.createdAt, pending: true };
			if (op.type === 'new-text-chat') {
				if (m.has(op.chat.id)) continue;
				m.set(op.chat.id, {
					id: op.chat.id, anchor: op.chat.anchor, ...stamp, resolved: false,
					comments: new Map([[op.chat.comment.id, { id: op.chat.comment.id, text: op.chat.comment.text, ...stamp }]]),
				});
				continue;
			}
			if (op.type === 'deleted-text-chat') { m.delete(op.chatId); continue; }
			const chat = m.get(op.chatId);
			if (!chat) continue;
			switch (op.action) {
			case 'add-comment':
				if (!chat.comments.has(op.comment.id)) {
					chat.comments.set(op.comment.id, { id: op.comment.id, text: op.comment.text, ...stamp });
				}
				break;
			case 'edit-comment': {
				const c = chat.comments.get(op.commentId);
				if (c) chat.comments.set(op.commentId, { ...c, text: op.text, pending: true });
				break;
			}
			case 'delete-comment':
				chat.comments.delete(op.commentId);
				break;
			case 'resolve':
				chat.resolved = op.resolved;
				chat.pending = true;
				break;
			default:
				break;
			}
		}
		const view = [];
		for (const c of m.values()) view.push({ ...c, comments: [...c.comments.values()] });
		this._view = view;
		return view;
	}

	/** One chat of chats() by id, or undefined. */
	chat(chatId) {
		return this.chats().find((c) => c.id === chatId);
	}
}

/** new CollabClient(opts).connect() */
export function connect(opts) {
	return new CollabClient(opts).connect();
}
