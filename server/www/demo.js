// libcollab demo page: select text in the article to discuss it; every other
// tab on the same page sees it live. See the comment at the top of index.html
// for the element ids the browser tests rely on.
import { CollabClient, utf8Length } from '/collab.js';

const $ = (sel, root = document) => root.querySelector(sel);
const els = {
	article: $('#article'), threads: $('#threads'), count: $('#user-count'), state: $('#conn-state'),
	pending: $('#pending-count'), me: $('#me'), changeName: $('#change-name'), reauth: $('#reauth'),
	start: $('#start-discussion'), form: $('#new-chat-form'), quote: $('#new-chat-quote'),
	text: $('#new-chat-text'), cancel: $('#new-chat-cancel'), threadCount: $('#thread-count'),
	empty: $('#empty-hint'), dialog: $('#name-dialog'), nameForm: $('#name-form'), nameInput: $('#name-input'),
	toast: $('#toast'),
};

const NAME_KEY = 'collab-demo-name';
const STATE_LABELS = {
	connecting: 'connecting…', syncing: 'syncing…', live: 'live', reconnecting: 'reconnecting…',
	closed: 'offline', 'auth-failed': 'signed out',
};
const CONTEXT_CHARS = 32;       // prefix/suffix kept around a quote
const MAX_ANCHOR_BYTES = 1900;  // the protocol allows 2 KiB of anchor JSON

let client = null;
let readOnly = false;
const pristine = els.article.cloneNode(true); // the article without highlights

// UI state that must survive re-rendering
const drafts = new Map();        // chatId -> reply draft
const editDrafts = new Map();    // `${chatId}/${commentId}` -> edit draft
let editing = null;              // {chatId, commentId}
let draftAnchor = null;          // selection being turned into a discussion
let activeChat = null;           // chat whose highlight/thread is emphasised

// ---------------------------------------------------------------------------
// Name and token

function askName() {
	return new Promise((resolve) => {
		els.nameInput.value = '';
		els.dialog.addEventListener('close', function onClose() {
			const v = els.nameInput.value.trim();
			if (!v) { els.dialog.showModal(); return; }
			els.dialog.removeEventListener('close', onClose);
			resolve(v.slice(0, 64));
		});
		els.dialog.showModal();
		els.nameInput.focus();
	});
}

async function getName() {
	const fromUrl = new URLSearchParams(location.search).get('name');
	if (fromUrl && fromUrl.trim()) sessionStorage.setItem(NAME_KEY, fromUrl.trim().slice(0, 64));
	let name = sessionStorage.getItem(NAME_KEY);
	if (!name) {
		name = await askName();
		sessionStorage.setItem(NAME_KEY, name);
	}
	return name;
}

function tokenExp(tok) {
	try {
		const p = tok.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
		return JSON.parse(atob(p)).exp || 0;
	} catch (e) { return 0; }
}

class TokenSource {
	constructor(name) { this.name = name; this.cached = null; this.anonymous = false; }
	async fetch() {
		const r = await fetch(`/demo-token?name=${encodeURIComponent(this.name)}`, { cache: 'no-store' });
		if (r.status === 404) { this.anonymous = true; return null; }
		if (!r.ok) throw new Error(`demo token: HTTP ${r.status}`);
		const j = await r.json();
		this.cached = { token: j.token, exp: tokenExp(j.token), user: j.user };
		return j;
	}
	// For the client: a token good for at least another minute, fetched when needed.
	async get() {
		if (this.anonymous) return null;
		if (this.cached && this.cached.exp - 60 > Date.now() / 1000) return this.cached.token;
		await this.fetch();
		return this.cached ? this.cached.token : null;
	}
	forget() { this.cached = null; }
}

// ---------------------------------------------------------------------------
// Anchors: {quote, prefix, suffix} of a selection in the article's text

function textNodes(root) {
	const out = [];
	const w = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
	let pos = 0;
	for (let n = w.nextNode(); n; n = w.nextNode()) {
		out.push({ node: n, start: pos, end: pos + n.data.length });
		pos += n.data.length;
	}
	return { nodes: out, text: out.map((x) => x.node.data).join('') };
}

function offsetOf(container, offset) {
	const r = document.createRange();
	r.setStart(els.article, 0);
	r.setEnd(container, offset);
	return r.toString().length;
}

function selectionAnchor() {
	const sel = window.getSelection();
	if (!sel || sel.rangeCount === 0 || sel.isCollapsed) return null;
	const range = sel.getRangeAt(0);
	if (!els.article.contains(range.commonAncestorContainer)) return null;
	const { text } = textNodes(els.article);
	let s = offsetOf(range.startContainer, range.startOffset);
	let e = offsetOf(range.endContainer, range.endOffset);
	while (s < e && /\s/.test(text[s])) s++;
	while (e > s && /\s/.test(text[e - 1])) e--;
	if (e - s < 1) return null;
	const make = (end) => ({
		quote: text.slice(s, end),
		prefix: text.slice(Math.max(0, s - CONTEXT_CHARS), s),
		suffix: text.slice(end, end + CONTEXT_CHARS),
	});
	let anchor = make(e);
	while (utf8Length(JSON.stringify(anchor)) > MAX_ANCHOR_BYTES) {
		e = s + Math.floor((e - s) * 0.8);
		anchor = make(e);
	}
	return { anchor, rect: range.getBoundingClientRect() };
}

function commonSuffix(a, b) {
	let n = 0;
	while (n < a.length && n < b.length && a[a.length - 1 - n] === b[b.length - 1 - n]) n++;
	return n;
}
function commonPrefix(a, b) {
	let n = 0;
	while (n < a.length && n < b.length && a[n] === b[n]) n++;
	return n;
}

// Start offset of the anchor's quote in `text`, the occurrence whose
// surroundings best match prefix/suffix; -1 when the quote is not there.
function locate(text, anchor) {
	const q = anchor && typeof anchor.quote === 'string' ? anchor.quote : '';
	if (!q) return -1;
	let best = -1;
	let bestScore = -1;
	for (let i = text.indexOf(q); i >= 0; i = text.indexOf(q, i + 1)) {
		const score = commonSuffix(text.slice(Math.max(0, i - CONTEXT_CHARS), i), anchor.prefix || '') +
			commonPrefix(text.slice(i + q.length, i + q.length + CONTEXT_CHARS), anchor.suffix || '');
		if (score > bestScore) { best = i; bestScore = score; }
	}
	return best;
}

// Wrap [start, end) of the article's text in <mark>s, one per text node.
function wrap(start, end, attrs) {
	const { nodes } = textNodes(els.article);
	const marks = [];
	for (const { node, start: ns, end: ne } of nodes) {
		if (ne <= start || ns >= end) continue;
		if (node.parentNode === els.article) continue; // whitespace between blocks
		let n = node;
		const a = Math.max(start, ns) - ns;
		const b = Math.min(end, ne) - ns;
		if (a > 0) n = n.splitText(a);
		if (b - a < n.data.length) n.splitText(b - a);
		if (!n.data.trim()) continue;
		const m = document.createElement('mark');
		m.className = 'anno';
		for (const [k, v] of Object.entries(attrs)) m.setAttribute(k, v);
		n.parentNode.insertBefore(m, n);
		m.appendChild(n);
		marks.push(m);
	}
	return marks;
}

// ---------------------------------------------------------------------------
// Highlights

let highlightKey = '';
let highlightsStale = false;
const located = new Map(); // chatId -> found in the article?

function selectionInArticle() {
	const sel = window.getSelection();
	return sel && !sel.isCollapsed && sel.rangeCount > 0 && els.article.contains(sel.getRangeAt(0).commonAncestorContainer);
}

function renderHighlights(force = false) {
	const chats = client ? client.chats() : [];
	const items = chats.map((c) => ({ id: c.id, anchor: c.anchor, resolved: c.resolved }));
	if (draftAnchor) items.push({ id: '__draft', anchor: draftAnchor, resolved: false, draft: true });
	const key = JSON.stringify([items, activeChat]);
	if (!force && key === highlightKey) return;
	if (selectionInArticle()) { highlightsStale = true; return; } // do not destroy the user's selection
	highlightKey = key;
	highlightsStale = false;
	els.article.replaceChildren(...pristine.cloneNode(true).childNodes);
	const { text } = textNodes(els.article);
	located.clear();
	// Resolved first, so open discussions end up innermost (on top).
	const ordered = [...items.filter((x) => x.resolved), ...items.filter((x) => !x.resolved)];
	for (const it of ordered) {
		const at = locate(text, it.anchor);
		located.set(it.id, at >= 0);
		if (at < 0) continue;
		const marks = wrap(at, at + it.anchor.quote.length, {
			'data-anchor-for': it.id, 'data-resolved': String(!!it.resolved),
		});
		for (const m of marks) {
			if (it.draft) m.classList.add('anno-draft');
			if (it.id === activeChat) m.classList.add('is-active');
		}
	}
}

document.addEventListener('selectionchange', () => {
	if (highlightsStale && !selectionInArticle()) renderHighlights(true);
	if (!selectionInArticle()) els.start.hidden = true;
});

// ---------------------------------------------------------------------------
// Threads

const PALETTE = ['#3056d3', '#c11574', '#067647', '#b54708', '#6938ef', '#0e7090', '#b42318', '#4e5ba6'];
function colorFor(id) {
	let h = 0;
	for (const ch of String(id)) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
	return PALETTE[h % PALETTE.length];
}

function h(tag, attrs = {}, ...children) {
	const el = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs)) {
		if (v === false || v == null) continue;
		if (k === 'class') el.className = v;
		else if (k === 'text') el.textContent = v;
		else el.setAttribute(k, v === true ? '' : v);
	}
	for (const c of children.flat()) if (c != null && c !== false) el.append(c);
	return el;
}

function fmtTime(ms) {
	if (typeof ms !== 'number') return '';
	const d = new Date(ms);
	const sameDay = d.toDateString() === new Date().toDateString();
	return sameDay ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
		: d.toLocaleDateString([], { month: 'short', day: 'numeric' });
}

const squash = (s) => String(s || '').replace(/\s+/g, ' ').trim();

function commentNode(chat, c) {
	const own = client.canEditComment(c);
	const key = `${chat.id}/${c.id}`;
	const isEditing = editing && editing.chatId === chat.id && editing.commentId === c.id;
	const name = c.userName || c.userId || 'someone';
	const li = h('li', {
		class: 'comment', 'data-comment-id': c.id, 'data-pending': String(!!c.pending), 'data-own': String(own),
	},
	h('div', { class: 'comment-meta' },
		h('span', { class: 'avatar', 'aria-hidden': 'true', style: `background:${colorFor(c.userId)}`, text: name.slice(0, 1).toUpperCase() }),
		h('span', { class: 'comment-author', text: name }),
		h('time', { datetime: typeof c.createdAt === 'number' ? new Date(c.createdAt).toISOString() : null, text: fmtTime(c.createdAt) }),
		c.pending ? h('span', { class: 'pending-tag', text: 'sending…' }) : null,
		!readOnly && !isEditing ? h('span', { class: 'comment-actions' },
			own ? h('button', { class: 'btn-link', type: 'button', 'data-action': 'edit-comment', text: 'Edit' }) : null,
			client.canDeleteComment(c) ? h('button', { class: 'btn-link btn-danger', type: 'button', 'data-action': 'delete-comment', text: 'Delete' }) : null,
		) : null),
	isEditing ? h('form', { class: 'edit-form' },
		h('textarea', { id: `edit-${c.id}`, 'data-role': 'edit-text', rows: 2, required: true, 'aria-label': 'Edit comment' }),
		h('div', { class: 'row' },
			h('button', { class: 'btn btn-small', type: 'button', 'data-action': 'cancel-edit', text: 'Cancel' }),
			h('button', { class: 'btn btn-small btn-primary', type: 'submit', 'data-action': 'save-edit', text: 'Save' })))
		: h('p', { class: 'comment-text', text: c.text }));
	if (isEditing) li.querySelector('textarea').value = editDrafts.has(key) ? editDrafts.get(key) : c.text;
	return li;
}

function threadNode(chat) {
	const q = squash(chat.anchor && chat.anchor.quote);
	const found = located.get(chat.id) !== false;
	const manage = client.canManageChat(chat);
	const node = h('section', {
		class: `thread${chat.id === activeChat ? ' is-active' : ''}`, role: 'listitem',
		'data-chat-id': chat.id, 'data-resolved': String(!!chat.resolved), 'data-pending': String(!!chat.pending),
		'aria-label': `Discussion on “${q.slice(0, 60)}”`,
	},
	h('div', { class: 'thread-head' },
		h('button', { class: 'thread-quote', type: 'button', 'data-action': 'focus-anchor', title: 'Show in the article' },
			h('span', { class: 'quote', text: q || '(no quote)' })),
		chat.resolved ? h('span', { class: 'badge badge-resolved', text: 'Resolved' }) : null,
		!found ? h('span', { class: 'badge badge-missing', title: 'The quoted text is not in this version of the article', text: 'Text gone' }) : null),
	h('ol', { class: 'comments' }, chat.comments.map((c) => commentNode(chat, c))),
	!readOnly && !chat.resolved ? h('form', { class: 'reply-form' },
		h('textarea', { 'data-role': 'reply-text', rows: 1, placeholder: 'Reply…', required: true, 'aria-label': 'Reply' }),
		h('button', { class: 'btn btn-small btn-primary', type: 'submit', 'data-action': 'add-comment', text: 'Reply' })) : null,
	!readOnly && manage ? h('footer', { class: 'thread-actions' },
		h('button', { class: 'btn-link', type: 'button', 'data-action': 'resolve', text: chat.resolved ? 'Reopen' : 'Resolve' }),
		h('button', { class: 'btn-link btn-danger', type: 'button', 'data-action': 'delete-chat', text: 'Delete discussion' })) : null);
	const reply = node.querySelector('[data-role="reply-text"]');
	if (reply && drafts.has(chat.id)) reply.value = drafts.get(chat.id);
	return node;
}

// Where the focus is inside #threads, so a rebuilt thread can take it back.
function focusInfo() {
	const a = document.activeElement;
	if (!a || !els.threads.contains(a)) return null;
	const t = a.closest('[data-chat-id]');
	const c = a.closest('[data-comment-id]');
	return {
		chatId: t && t.dataset.chatId, commentId: c && c.dataset.commentId,
		role: a.dataset.role || null, action: a.dataset.action || null,
		sel: typeof a.selectionStart === 'number' ? [a.selectionStart, a.selectionEnd] : null,
	};
}

function restoreFocus(f) {
	if (!f) return;
	const t = els.threads.querySelector(`[data-chat-id="${CSS.escape(f.chatId)}"]`);
	if (!t || t.contains(document.activeElement)) return;
	let scope = t;
	if (f.commentId) scope = t.querySelector(`[data-comment-id="${CSS.escape(f.commentId)}"]`) || t;
	const el = f.role ? scope.querySelector(`[data-role="${f.role}"]`)
		: f.action ? scope.querySelector(`[data-action="${f.action}"]`) : null;
	if (!el) return;
	el.focus();
	if (f.sel && typeof el.setSelectionRange === 'function') el.setSelectionRange(f.sel[0], f.sel[1]);
}

const rendered = new Map(); // chatId -> {key, node}

function renderThreads() {
	const chats = client ? client.chats() : [];
	const focus = focusInfo();
	const seen = new Set();
	const nodes = [];
	for (const chat of chats) {
		seen.add(chat.id);
		const key = JSON.stringify([chat, editing && editing.chatId === chat.id ? editing.commentId : null,
			chat.id === activeChat, located.get(chat.id), readOnly, client.user]);
		let r = rendered.get(chat.id);
		if (!r || r.key !== key) {
			r = { key, node: threadNode(chat) };
			rendered.set(chat.id, r);
		}
		nodes.push(r.node);
	}
	for (const id of [...rendered.keys()]) if (!seen.has(id)) rendered.delete(id);
	// Reorder/replace without touching nodes that stay in place.
	nodes.forEach((n, i) => { if (els.threads.children[i] !== n) els.threads.insertBefore(n, els.threads.children[i] || null); });
	while (els.threads.children.length > nodes.length) els.threads.lastElementChild.remove();
	restoreFocus(focus);
	els.threadCount.textContent = String(chats.length);
	els.empty.hidden = chats.length > 0 || !els.form.hidden;
}

function render() {
	renderHighlights();
	renderThreads();
	const p = client ? client.pendingCount() : 0;
	els.pending.hidden = p === 0;
	els.pending.dataset.count = String(p);
	els.pending.textContent = `${p} unsent`;
}

// ---------------------------------------------------------------------------
// Feedback

let toastTimer = null;
function toast(msg) {
	els.toast.textContent = msg;
	els.toast.hidden = false;
	clearTimeout(toastTimer);
	toastTimer = setTimeout(() => { els.toast.hidden = true; }, 4000);
}

function watch(what, op) {
	op.promise.catch((e) => {
		if (e && e.code === 'closed') return;
		toast(`Could not ${what}: ${(e && e.message) || e}`);
	});
	return op;
}

function setActive(chatId, scroll) {
	activeChat = chatId;
	render();
	if (!scroll || !chatId) return;
	const t = els.threads.querySelector(`[data-chat-id="${CSS.escape(chatId)}"]`);
	if (scroll === 'thread' && t) t.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
	const m = els.article.querySelector(`mark[data-anchor-for="${CSS.escape(chatId)}"]`);
	if (scroll === 'mark' && m) m.scrollIntoView({ block: 'center', behavior: 'smooth' });
}

// ---------------------------------------------------------------------------
// Interaction

function showStartButton() {
	if (readOnly || !client) return;
	const s = selectionAnchor();
	if (!s) { els.start.hidden = true; return; }
	els.start.hidden = false;
	els.start.style.left = `${s.rect.left + s.rect.width / 2 + window.scrollX}px`;
	els.start.style.top = `${s.rect.bottom + window.scrollY}px`;
}

els.article.addEventListener('mouseup', () => setTimeout(showStartButton, 0));
els.article.addEventListener('keyup', (e) => { if (e.shiftKey || e.key === 'Shift') showStartButton(); });
els.article.addEventListener('click', (e) => {
	const m = e.target.closest('mark.anno[data-anchor-for]');
	if (m && !selectionInArticle() && m.dataset.anchorFor !== '__draft') setActive(m.dataset.anchorFor, 'thread');
});
els.start.addEventListener('mousedown', (e) => e.preventDefault()); // keep the selection
els.start.addEventListener('click', () => {
	const s = selectionAnchor();
	if (!s) return;
	draftAnchor = s.anchor;
	els.quote.textContent = squash(s.anchor.quote);
	els.form.hidden = false;
	els.start.hidden = true;
	window.getSelection().removeAllRanges();
	render();
	els.text.focus();
});

function closeComposer() {
	draftAnchor = null;
	els.form.hidden = true;
	els.text.value = '';
	render();
}
els.cancel.addEventListener('click', closeComposer);
els.form.addEventListener('keydown', (e) => { if (e.key === 'Escape') closeComposer(); });
els.form.addEventListener('submit', (e) => {
	e.preventDefault();
	const text = els.text.value.trim();
	if (!text || !draftAnchor) return;
	const op = watch('start the discussion', client.createChat(draftAnchor, text));
	closeComposer();
	setActive(op.chatId, 'thread');
});
els.text.addEventListener('keydown', (e) => {
	if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) els.form.requestSubmit();
});

els.threads.addEventListener('input', (e) => {
	const t = e.target.closest('[data-chat-id]');
	if (!t) return;
	if (e.target.dataset.role === 'reply-text') drafts.set(t.dataset.chatId, e.target.value);
	if (e.target.dataset.role === 'edit-text') {
		const c = e.target.closest('[data-comment-id]');
		editDrafts.set(`${t.dataset.chatId}/${c.dataset.commentId}`, e.target.value);
	}
});

els.threads.addEventListener('keydown', (e) => {
	if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && e.target.form) e.target.form.requestSubmit();
	if (e.key === 'Escape' && e.target.dataset.role === 'edit-text') { editing = null; render(); }
});

els.threads.addEventListener('submit', (e) => {
	e.preventDefault();
	const t = e.target.closest('[data-chat-id]');
	if (!t) return;
	const chatId = t.dataset.chatId;
	if (e.target.classList.contains('reply-form')) {
		const text = e.target.querySelector('textarea').value.trim();
		if (!text) return;
		drafts.delete(chatId);
		e.target.querySelector('textarea').value = '';
		watch('reply', client.addComment(chatId, text));
	} else if (e.target.classList.contains('edit-form')) {
		const commentId = e.target.closest('[data-comment-id]').dataset.commentId;
		const text = e.target.querySelector('textarea').value.trim();
		if (!text) return;
		editing = null;
		editDrafts.delete(`${chatId}/${commentId}`);
		const cur = client.chat(chatId)?.comments.find((c) => c.id === commentId);
		if (cur && cur.text === text) { render(); return; }
		watch('edit the comment', client.editComment(chatId, commentId, text));
	}
});

els.threads.addEventListener('click', (e) => {
	const b = e.target.closest('[data-action]');
	const t = e.target.closest('[data-chat-id]');
	if (!b || !t || b.type === 'submit') return;
	const chatId = t.dataset.chatId;
	const c = e.target.closest('[data-comment-id]');
	const commentId = c && c.dataset.commentId;
	const chat = client.chat(chatId);
	switch (b.dataset.action) {
	case 'focus-anchor': setActive(activeChat === chatId ? null : chatId, 'mark'); break;
	case 'edit-comment':
		editing = { chatId, commentId };
		render();
		t.querySelector(`[data-comment-id="${CSS.escape(commentId)}"] [data-role="edit-text"]`)?.focus();
		break;
	case 'cancel-edit':
		editing = null;
		editDrafts.delete(`${chatId}/${commentId}`);
		render();
		break;
	case 'delete-comment':
		if (chat && chat.comments.length === 1 && chat.comments[0].id === commentId) {
			if (!confirm('This is the only comment. Delete the whole discussion?')) return;
			watch('delete the discussion', client.deleteChat(chatId));
		} else {
			watch('delete the comment', client.deleteComment(chatId, commentId));
		}
		break;
	case 'resolve':
		if (chat) watch(chat.resolved ? 'reopen' : 'resolve', client.resolve(chatId, !chat.resolved));
		break;
	case 'delete-chat':
		if (!confirm('Delete this discussion and all its comments?')) return;
		watch('delete the discussion', client.deleteChat(chatId));
		if (activeChat === chatId) activeChat = null;
		break;
	default: break;
	}
});

// Hovering a thread lights up its passage.
function hover(id) {
	for (const m of els.article.querySelectorAll('mark.anno.is-hover')) m.classList.remove('is-hover');
	if (!id) return;
	for (const m of els.article.querySelectorAll(`mark[data-anchor-for="${CSS.escape(id)}"]`)) m.classList.add('is-hover');
}
els.threads.addEventListener('mouseover', (e) => {
	const t = e.target.closest('[data-chat-id]');
	hover(t ? t.dataset.chatId : null);
});
els.threads.addEventListener('mouseleave', () => hover(null));

els.changeName.addEventListener('click', () => {
	sessionStorage.removeItem(NAME_KEY);
	const u = new URL(location.href);
	u.searchParams.delete('name');
	location.replace(u.toString());
});

// ---------------------------------------------------------------------------
// Start

function showCount(n) {
	els.count.dataset.count = String(n);
	els.count.textContent = n === 1 ? '1 person here' : `${n} people here`;
}

function showState(s) {
	els.state.dataset.state = s;
	els.state.textContent = readOnly && s === 'live' ? 'live · read-only' : (STATE_LABELS[s] || s);
	els.reauth.hidden = s !== 'auth-failed';
}

// The room is the page path; /index.html is the same page as /.
function roomOfPage() {
	const p = location.pathname;
	return p.endsWith('/index.html') ? p.slice(0, -'index.html'.length) : p;
}

async function main() {
	const name = await getName();
	els.me.textContent = name;
	const tokens = new TokenSource(name);
	let tenantId = 'demo';
	try {
		const j = await tokens.fetch();
		if (j && j.tenantId) tenantId = j.tenantId;
	} catch (e) {
		toast(`No demo token yet (${e.message}); retrying in the background`);
	}
	readOnly = tokens.anonymous;
	if (readOnly) toast('This server has no demo mode: watching read-only.');
	let lastAutoReauth = 0;
	client = new CollabClient({
		tenantId,
		urlId: roomOfPage(),
		getToken: () => tokens.get(),
		onChange: render,
		onCount: showCount,
		onState: (s, detail) => {
			showState(s);
			if (s === 'auth-failed') {
				tokens.forget();
				// An expired demo token: get a new one once, automatically.
				if (Date.now() - lastAutoReauth > 30000) {
					lastAutoReauth = Date.now();
					setTimeout(() => client.reconnect(), 500);
				} else {
					toast(`Signed out (${detail && detail.code}): use “Sign in again”.`);
				}
			}
		},
		onWelcome: (w) => {
			els.me.dataset.userId = w.user ? w.user.id : '';
			if (w.user && w.user.moderator) els.me.textContent = `${w.user.name} (moderator)`;
			render();
		},
		onError: (e) => { if (e && e.code !== 'gap') console.warn('collab:', e); },
	});
	els.reauth.addEventListener('click', () => { tokens.forget(); client.reconnect(); });
	window.collabDemo = { client, name };
	client.connect();
	render();
}

main().catch((e) => { console.error(e); toast(`Demo failed to start: ${e.message}`); });
