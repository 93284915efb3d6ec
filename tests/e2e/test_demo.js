'use strict';
// The demo page (server/www) in a real Chromium against collab-server:
//   - two browsers see each other's new, updated and deleted discussions
//     within a second; the user count goes 1, 2, 1;
//   - a second tab of the same user gets the first tab's changes (as remote
//     events) and the count stays by user;
//   - stopping (SIGTERM) and restarting the server on the same port and data
//     directory shows "reconnecting…", then the changes another client (Node
//     `ws`, token signed here with the tenant secret) made while the page was
//     away, and the operation the page queued while offline goes out;
//   - a screenshot with two discussions is saved to build/e2e/demo.png.
//
// Runs `$BIN/collab-server` (BIN defaults to build/bin) with
//   --listen 127.0.0.1:PORT --admin 127.0.0.1:0 --tenants T --data D --www server/www --demo
// PORT is picked free beforehand, because the tenant's allowed origins must
// name the page's origin (http://127.0.0.1:PORT) and the restart reuses it.
// E2E_SERVER_CMD replaces the program (split on spaces, same flags appended):
//   E2E_SERVER_CMD="node tests/e2e/standin_server.js" node tests/e2e/test_demo.js
// CHROMIUM overrides /usr/bin/chromium; E2E_OUT overrides build/e2e.
// Plain script: prints each step and `N passed, N failed`, exits 1 on failure.
const { spawn } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');

const TOP = path.resolve(__dirname, '..', '..');
const NODE_MODULES = path.join(TOP, 'tests', 'node', 'node_modules');
function need(mod) {
	try { return require(mod); } catch (e) { return require(path.join(NODE_MODULES, mod)); }
}
const { chromium } = need('playwright-core');
const WebSocket = need('ws');

const SECOND = 1000;           // "within a second"
const OUT = path.resolve(TOP, process.env.E2E_OUT || 'build/e2e');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const VERBOSE = process.env.VERBOSE === '1';

// ---------------------------------------------------------------------------
// Server

function serverCmd() {
	if (process.env.E2E_SERVER_CMD) return process.env.E2E_SERVER_CMD.trim().split(/\s+/);
	const bin = process.env.BIN || 'build/bin';
	const prog = path.join(path.isAbsolute(bin) ? bin : path.join(TOP, bin), 'collab-server');
	if (!fs.existsSync(prog)) {
		console.log(`collab-server not built: ${prog} missing (E2E_SERVER_CMD selects another server)`);
		process.exit(1);
	}
	return [prog];
}

function freePort() {
	return new Promise((resolve, reject) => {
		const s = net.createServer();
		s.once('error', reject);
		s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
	});
}

// Start the server; resolve {proc, ws, admin} from its first two stdout lines.
function startServer(cmd) {
	return new Promise((resolve, reject) => {
		const proc = spawn(cmd[0], cmd.slice(1), {
			cwd: TOP, stdio: ['ignore', 'pipe', 'pipe'],
			env: { ...process.env, NODE_PATH: NODE_MODULES },
		});
		let buf = '';
		let done = false;
		const lines = [];
		const fail = (msg) => { if (!done) { done = true; clearTimeout(timer); proc.kill('SIGKILL'); reject(new Error(msg)); } };
		const timer = setTimeout(() => fail('no listening lines within 20 s'), 20000);
		proc.stderr.on('data', (d) => { if (VERBOSE || !done) process.stderr.write(`[server] ${d}`); });
		proc.on('exit', (code) => fail(`server exited (${code}) before its listening lines`));
		proc.stdout.on('data', (d) => {
			if (done) { if (VERBOSE) process.stdout.write(`[server] ${d}`); return; }
			buf += d.toString('utf8');
			let nl;
			while (lines.length < 2 && (nl = buf.indexOf('\n')) >= 0) {
				lines.push(buf.slice(0, nl).replace(/\r$/, ''));
				buf = buf.slice(nl + 1);
			}
			if (lines.length < 2) return;
			const l = /^listening (wss?):\/\/(\S+):(\d+)\/?\s*$/.exec(lines[0]);
			const a = /^admin (https?):\/\/(\S+):(\d+)\/?\s*$/.exec(lines[1]);
			if (!l || !a) { fail(`unexpected first lines ${JSON.stringify(lines)}`); return; }
			done = true;
			clearTimeout(timer);
			resolve({ proc, port: Number(l[3]), admin: `${a[1]}://${a[2]}:${a[3]}` });
		});
	});
}

function stopServer(proc) {
	return new Promise((resolve, reject) => {
		if (proc.exitCode !== null || proc.signalCode !== null) { reject(new Error(`server had already exited (${proc.exitCode})`)); return; }
		const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error('server did not exit within 10 s of SIGTERM')); }, 10000);
		proc.once('exit', (code, sig) => {
			clearTimeout(timer);
			if (code === 0) resolve(); else reject(new Error(`server exit status ${code} signal ${sig} after SIGTERM, expected 0`));
		});
		process.kill(proc.pid, 'SIGTERM');
	});
}

// ---------------------------------------------------------------------------
// Tokens (PROTOCOL.md section 7) and a raw protocol client

function signToken(secret, claims) {
	const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
	const head = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc(claims)}`;
	return `${head}.${crypto.createHmac('sha256', secret).update(head).digest('base64url')}`;
}

function withTimeout(promise, ms, what) {
	let t;
	return Promise.race([promise, new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`timeout: ${what}`)), ms); })])
		.finally(() => clearTimeout(t));
}

// Connect, hello, and collect messages (batches flattened) until `synced`.
function rawClient(url, token) {
	return new Promise((resolve, reject) => {
		const ws = new WebSocket(url, ['collab.v1'], { handshakeTimeout: 5000 });
		const msgs = [];
		const waiters = [];
		ws.msgs = msgs;
		const push = (m) => {
			msgs.push(m);
			for (const w of waiters.slice()) if (w.pred(m)) { waiters.splice(waiters.indexOf(w), 1); w.res(m); }
		};
		ws.waitFor = (pred, ms, what) => {
			const hit = msgs.find(pred);
			if (hit) return Promise.resolve(hit);
			return withTimeout(new Promise((res) => waiters.push({ pred, res })), ms, what);
		};
		ws.on('message', (d) => {
			const m = JSON.parse(d.toString('utf8'));
			if (m.type === 'batch') m.events.forEach(push); else push(m);
		});
		ws.once('open', () => {
			ws.send(JSON.stringify({ type: 'hello', token }));
			ws.waitFor((m) => m.type === 'synced', 5000, 'raw client synced').then(() => resolve(ws), reject);
		});
		ws.once('error', reject);
	});
}

// ---------------------------------------------------------------------------
// Steps

let passed = 0;
let failed = 0;
async function step(name, fn) {
	const t0 = Date.now();
	try {
		await fn();
		passed++;
		console.log(`ok   ${name} (${Date.now() - t0} ms)`);
		return true;
	} catch (e) {
		failed++;
		console.log(`FAIL ${name}: ${e && e.stack ? e.stack : e}`);
		return false;
	}
}

function assert(cond, msg) { if (!cond) throw new Error(msg); }

// Wait until fn(arg) is truthy in the page; `ms` is the budget (the assertion).
async function within(page, ms, what, fn, arg) {
	const t0 = Date.now();
	try {
		await page.waitForFunction(fn, arg, { timeout: ms, polling: 20 });
	} catch (e) {
		throw new Error(`${what}: not within ${ms} ms`);
	}
	return Date.now() - t0;
}

const threadSel = (id) => `#threads [data-chat-id="${id}"]`;
const hasThread = ([id]) => !!document.querySelector(`#threads [data-chat-id="${id}"]`);
const noThread = ([id]) => !document.querySelector(`#threads [data-chat-id="${id}"]`);
const countIs = (n) => document.querySelector('#user-count').dataset.count === String(n);
const liveState = () => document.querySelector('#conn-state').dataset.state === 'live';

// Select `phrase` in the article as a user would, then start a discussion on it.
async function startDiscussion(page, phrase, text) {
	await page.evaluate((p) => {
		const art = document.getElementById('article');
		const all = art.textContent;
		const at = all.indexOf(p);
		if (at < 0) throw new Error(`phrase not in the article: ${p}`);
		const w = document.createTreeWalker(art, NodeFilter.SHOW_TEXT);
		const r = document.createRange();
		let pos = 0;
		for (let n = w.nextNode(); n; n = w.nextNode()) {
			const end = pos + n.data.length;
			if (at >= pos && at < end) r.setStart(n, at - pos);
			if (at + p.length > pos && at + p.length <= end) { r.setEnd(n, at + p.length - pos); break; }
			pos = end;
		}
		const sel = getSelection();
		sel.removeAllRanges();
		sel.addRange(r);
		art.dispatchEvent(new MouseEvent('mouseup', { bubbles: true }));
	}, phrase);
	await page.click('#start-discussion');
	await page.fill('#new-chat-text', text);
	const before = await page.$$eval('#threads [data-chat-id]', (ns) => ns.map((n) => n.dataset.chatId));
	await page.click('#new-chat-submit');
	const id = await page.waitForFunction((b) => {
		const ids = [...document.querySelectorAll('#threads [data-chat-id]')].map((n) => n.dataset.chatId);
		return ids.find((x) => !b.includes(x)) || null;
	}, before, { timeout: 2000 }).then((h) => h.jsonValue());
	return id;
}

async function main() {
	const cmd = serverCmd();
	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'collab-e2e-'));
	const data = path.join(tmp, 'data');
	fs.mkdirSync(data);
	fs.mkdirSync(OUT, { recursive: true });
	const port = await freePort();
	const base = `http://127.0.0.1:${port}`;
	const secret = crypto.randomBytes(24).toString('hex'); // 48 bytes
	const tenantsFile = path.join(tmp, 'tenants.json');
	fs.writeFileSync(tenantsFile, JSON.stringify({ tenants: [{
		id: 'demo', secret, origins: [base, `http://localhost:${port}`], anonymous: 'read', maxConnections: 1000,
	}] }));
	const args = ['--listen', `127.0.0.1:${port}`, '--admin', '127.0.0.1:0', '--tenants', tenantsFile,
		'--data', data, '--www', 'server/www', '--demo'];
	const token = (sub, name) => signToken(secret, { sub, name, tenantId: 'demo', exp: Math.floor(Date.now() / 1000) + 600 });
	const roomUrl = `ws://127.0.0.1:${port}/ws?${new URLSearchParams({ tenantId: 'demo', urlId: '/' })}`;

	let server = await startServer([...cmd, ...args]);
	console.log(`server ${cmd.join(' ')} on ${base}`);
	const browser = await chromium.launch({
		executablePath: CHROMIUM,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync'],
	});
	const pages = {};
	const logs = [];
	async function open(label, name, opts = {}) {
		const ctx = await browser.newContext({ viewport: { width: 1360, height: 860 } }); // its own "browser"
		const page = await ctx.newPage();
		page.on('console', (m) => logs.push(`[${label}] ${m.type()}: ${m.text()}`));
		page.on('pageerror', (e) => logs.push(`[${label}] pageerror: ${e.message}`));
		page.on('dialog', (d) => d.accept());
		if (opts.route) await page.route('**/demo-token*', opts.route);
		await page.goto(`${base}/`);
		// The page asks for a name once per tab.
		await page.waitForSelector('#name-dialog[open]', { timeout: 5000 });
		await page.fill('#name-input', name);
		await page.click('#name-submit');
		await page.waitForFunction(liveState, null, { timeout: 10000 });
		pages[label] = page;
		return page;
	}

	let ok = true;
	const run = async (name, fn) => { if (ok) ok = await step(name, fn); else console.log(`skip ${name}`); };
	let chatA;
	let chatB;
	let annId;
	try {
		await run('static files: /, /collab.js as text/javascript', async () => {
			for (const [p, type] of [['/', /^text\/html/], ['/collab.js', /^text\/javascript/], ['/demo.js', /^text\/javascript/], ['/demo.css', /^text\/css/]]) {
				const r = await fetch(`${base}${p}`);
				assert(r.status === 200, `GET ${p}: ${r.status}`);
				assert(type.test(r.headers.get('content-type') || ''), `GET ${p}: Content-Type ${r.headers.get('content-type')}`);
			}
			const r = await fetch(`${base}/demo-token?name=${encodeURIComponent('Zoë Test')}`);
			assert(r.status === 200, `/demo-token: ${r.status}`);
			const j = await r.json();
			assert(typeof j.token === 'string' && j.tenantId === 'demo' && j.user && j.user.name === 'Zoë Test' && j.user.id,
				`/demo-token answer ${JSON.stringify(j)}`);
		});

		await run('first page joins: live, 1 person here', async () => {
			const a = await open('A', 'Ann');
			await within(a, 3 * SECOND, 'count 1', countIs, 1);
			assert((await a.textContent('#user-count')).trim() === '1 person here', 'count text');
			annId = await a.getAttribute('#me', 'data-user-id');
			assert(annId, 'no user id on #me');
		});

		await run('second browser joins: both show 2 people here', async () => {
			const b = await open('B', 'Bo');
			await within(b, 3 * SECOND, 'B count 2', countIs, 2);
			await within(pages.A, 3 * SECOND, 'A count 2', countIs, 2);
			assert((await pages.A.textContent('#user-count')).trim() === '2 people here', 'count text');
		});

		await run('A starts a discussion; B sees it within a second', async () => {
			chatA = await startDiscussion(pages.A, 'it stretches the whole planet', 'Is "stretches" literally true for the rock too?');
			const ms = await within(pages.B, SECOND, 'B sees the new discussion', hasThread, [chatA]);
			const quote = await pages.B.textContent(`${threadSel(chatA)} .thread-quote`);
			assert(quote.includes('it stretches the whole planet'), `quote ${quote}`);
			const marks = await pages.B.$$eval(`#article mark[data-anchor-for="${chatA}"]`, (ms2) => ms2.map((m) => m.textContent).join(''));
			assert(marks === 'it stretches the whole planet', `B's highlight covers ${JSON.stringify(marks)}`);
			await within(pages.A, SECOND, 'A: acknowledged', ([id]) => document.querySelector(`#threads [data-chat-id="${id}"]`).dataset.pending === 'false', [chatA]);
			console.log(`     seen by B after ${ms} ms`);
		});

		await run('B replies and starts another; A sees both within a second', async () => {
			await pages.B.fill(`${threadSel(chatA)} [data-role="reply-text"]`, 'Yes: the solid Earth rises and falls about 30 cm.');
			await pages.B.click(`${threadSel(chatA)} [data-action="add-comment"]`);
			await within(pages.A, SECOND, 'A sees the reply', ([id]) => [...document.querySelectorAll(`#threads [data-chat-id="${id}"] .comment-text`)]
				.some((n) => n.textContent.includes('30 cm')), [chatA]);
			chatB = await startDiscussion(pages.B, 'the oceans bulge on two opposite sides', 'Why two bulges and not one? This always confused me.');
			await within(pages.A, SECOND, 'A sees B\'s discussion', hasThread, [chatB]);
		});

		await run('A edits its comment; B sees the new text within a second, and may not edit it', async () => {
			const first = `${threadSel(chatA)} li.comment:first-child`;
			assert(await pages.B.$(`${first} [data-action="edit-comment"]`) === null, 'B is offered Edit on A\'s comment');
			await pages.A.click(`${first} [data-action="edit-comment"]`);
			await pages.A.fill(`${first} [data-role="edit-text"]`, 'Is "stretches" literally true for solid rock too?');
			await pages.A.click(`${first} [data-action="save-edit"]`);
			await within(pages.B, SECOND, 'B sees the edit', ([id]) => document.querySelector(`#threads [data-chat-id="${id}"] li.comment .comment-text`)
				.textContent.includes('solid rock'), [chatA]);
		});

		await run('screenshot with two discussions: build/e2e/demo.png', async () => {
			await within(pages.A, SECOND, 'two threads', () => document.querySelectorAll('#threads [data-chat-id]').length === 2);
			await pages.A.mouse.move(5, 5);
			await pages.A.waitForTimeout(300);
			await pages.A.screenshot({ path: path.join(OUT, 'demo.png') });
		});

		await run('A resolves, then reopens; B follows within a second each time', async () => {
			const resolvedIs = ([id, v]) => {
				const t = document.querySelector(`#threads [data-chat-id="${id}"]`);
				const m = document.querySelector(`#article mark[data-anchor-for="${id}"]`);
				return t && t.dataset.resolved === v && m && m.dataset.resolved === v;
			};
			await pages.A.click(`${threadSel(chatA)} [data-action="resolve"]`);
			await within(pages.B, SECOND, 'B sees resolved', resolvedIs, [chatA, 'true']);
			await pages.A.click(`${threadSel(chatA)} [data-action="resolve"]`);
			await within(pages.B, SECOND, 'B sees reopened', resolvedIs, [chatA, 'false']);
		});

		await run('a second tab of the same user: count stays 2, it gets the first tab\'s changes', async () => {
			// Same user as A whatever the server's demo-id policy: a token for A's user id.
			const route = (r) => r.fulfill({
				status: 200, contentType: 'application/json',
				body: JSON.stringify({ token: token(annId, 'Ann'), tenantId: 'demo', user: { id: annId, name: 'Ann' } }),
			});
			const a2 = await open('A2', 'Ann', { route });
			assert(await a2.getAttribute('#me', 'data-user-id') === annId, 'A2 is not A\'s user');
			await within(a2, SECOND, 'A2 has both discussions', ([x, y]) => !!document.querySelector(`#threads [data-chat-id="${x}"]`) &&
				!!document.querySelector(`#threads [data-chat-id="${y}"]`), [chatA, chatB]);
			assert(await a2.$(`${threadSel(chatA)} li.comment:first-child [data-action="edit-comment"]`), 'A2 may edit its own user\'s comment');
			await a2.waitForTimeout(1200); // past a presence interval
			for (const l of ['A', 'B', 'A2']) {
				assert(await pages[l].getAttribute('#user-count', 'data-count') === '2', `${l}: count ${await pages[l].getAttribute('#user-count', 'data-count')}, want 2`);
			}
			await pages.A.fill(`${threadSel(chatB)} [data-role="reply-text"]`, 'Because the Earth is pulled too, not just the water.');
			await pages.A.click(`${threadSel(chatB)} [data-action="add-comment"]`);
			await within(a2, SECOND, 'A2 sees A\'s reply', ([id]) => [...document.querySelectorAll(`#threads [data-chat-id="${id}"] .comment-text`)]
				.some((n) => n.textContent.includes('pulled too')), [chatB]);
			await a2.fill(`${threadSel(chatB)} [data-role="reply-text"]`, 'Sent from my other tab.');
			await a2.click(`${threadSel(chatB)} [data-action="add-comment"]`);
			await within(pages.A, SECOND, 'A sees A2\'s reply', ([id]) => [...document.querySelectorAll(`#threads [data-chat-id="${id}"] .comment-text`)]
				.some((n) => n.textContent.includes('other tab')), [chatB]);
		});

		await run('B deletes its discussion; A sees it gone within a second', async () => {
			await pages.B.click(`${threadSel(chatB)} [data-action="delete-chat"]`);
			await within(pages.A, SECOND, 'A: discussion gone', noThread, [chatB]);
			await within(pages.A, SECOND, 'A: highlight gone', ([id]) => !document.querySelector(`#article mark[data-anchor-for="${id}"]`), [chatB]);
			await within(pages.A2, SECOND, 'A2: discussion gone', noThread, [chatB]);
		});

		await run('tabs close: count stays 2 without A2, then 1 without B', async () => {
			await pages.A2.context().close();
			delete pages.A2;
			await pages.A.waitForTimeout(1200);
			assert(await pages.A.getAttribute('#user-count', 'data-count') === '2', 'count changed when a second tab closed');
			await pages.B.context().close();
			delete pages.B;
			await within(pages.A, 3 * SECOND, 'A count 1', countIs, 1);
		});

		let raw;
		let carolChat;
		let offlineReply;
		await run('server stops (SIGTERM): the page shows reconnecting…', async () => {
			await stopServer(server.proc);
			await within(pages.A, 5 * SECOND, 'reconnecting', () => {
				const s = document.querySelector('#conn-state');
				return s.dataset.state === 'reconnecting' && s.textContent.trim() === 'reconnecting…';
			});
		});

		await run('while the page is away: a queued reply, a restart, another client\'s changes', async () => {
			await pages.A.context().setOffline(true);
			offlineReply = 'Written while offline.';
			await pages.A.fill(`${threadSel(chatA)} [data-role="reply-text"]`, offlineReply);
			await pages.A.click(`${threadSel(chatA)} [data-action="add-comment"]`);
			await within(pages.A, SECOND, 'pending shown', () => document.querySelector('#pending-count').dataset.count === '1' &&
				!!document.querySelector('#threads li.comment[data-pending="true"]'));
			server = await startServer([...cmd, ...args]);
			assert(server.port === port, `restarted on ${server.port}, not ${port}`);
			raw = await rawClient(roomUrl, token('carol', 'Carol'));
			const welcome = raw.msgs.find((m) => m.type === 'welcome');
			assert(welcome && welcome.user && welcome.user.id === 'carol', `welcome ${JSON.stringify(welcome)}`);
			carolChat = crypto.randomUUID();
			const ops = [
				{ type: 'new-text-chat', broadcastId: crypto.randomUUID(), chat: { id: carolChat, anchor: { quote: 'two milliseconds per century', prefix: 'lengthening the day by about ', suffix: '. That lost momentum' }, comment: { id: crypto.randomUUID(), text: 'Made while you were away.' } } },
				{ type: 'updated-text-chat', broadcastId: crypto.randomUUID(), chatId: chatA, action: 'add-comment', comment: { id: crypto.randomUUID(), text: 'Carol was here during the restart.' } },
			];
			for (const op of ops) raw.send(JSON.stringify(op));
			for (const op of ops) {
				const echo = await raw.waitFor((m) => m.broadcastId === op.broadcastId, 5000, `echo of ${op.type}`);
				assert(echo.type === op.type && typeof echo.seq === 'number', `answer ${JSON.stringify(echo)}`);
			}
			await pages.A.waitForTimeout(500);
			const away = await pages.A.evaluate(([id]) => ({
				state: document.querySelector('#conn-state').dataset.state,
				seen: !!document.querySelector(`#threads [data-chat-id="${id}"]`),
			}), [carolChat]);
			assert(away.state === 'reconnecting' && !away.seen, `the page was not away: ${JSON.stringify(away)}`);
		});

		await run('back online: live again with the other client\'s changes and the queued reply sent', async () => {
			await pages.A.context().setOffline(false);
			await within(pages.A, 35 * SECOND, 'live again', liveState);
			await within(pages.A, 5 * SECOND, 'Carol\'s discussion and reply', ([x, y]) => {
				const c = document.querySelector(`#threads [data-chat-id="${x}"]`);
				const a = document.querySelector(`#threads [data-chat-id="${y}"]`);
				return c && a && [...a.querySelectorAll('.comment-text')].some((n) => n.textContent.includes('Carol was here')) &&
					document.querySelector(`#article mark[data-anchor-for="${x}"]`);
			}, [carolChat, chatA]);
			const ev = await raw.waitFor((m) => m.type === 'updated-text-chat' && m.comment && m.comment.text === offlineReply, 5000, 'the queued reply');
			assert(ev.userId === annId, `queued reply by ${ev.userId}`);
			await within(pages.A, 5 * SECOND, 'queued reply acknowledged', () => document.querySelector('#pending-count').dataset.count === '0' &&
				!document.querySelector('#threads [data-pending="true"]'));
			const n = await pages.A.$$eval('#threads [data-chat-id]', (ns) => ns.length);
			assert(n === 2, `A shows ${n} discussions, want 2 (its own and Carol's)`);
			// Once only: the reply is not duplicated by the retry.
			const copies = await pages.A.$$eval(`${threadSel(chatA)} .comment-text`, (ns, t) => ns.filter((x) => x.textContent === t).length, offlineReply);
			assert(copies === 1, `${copies} copies of the queued reply`);
			raw.close();
		});
	} finally {
		if (failed) {
			for (const [label, page] of Object.entries(pages)) {
				await page.screenshot({ path: path.join(OUT, `failure-${label}.png`) }).catch(() => {});
			}
			console.log('--- browser console ---');
			for (const l of logs) console.log(l);
		} else if (VERBOSE) {
			for (const l of logs) console.log(l);
		}
		await browser.close().catch(() => {});
		if (server && server.proc.exitCode === null && server.proc.signalCode === null) {
			await step('server stops on SIGTERM with status 0', () => stopServer(server.proc));
		}
		fs.rmSync(tmp, { recursive: true, force: true });
	}
	console.log(`${passed} passed, ${failed} failed`);
	process.exit(failed ? 1 : 0);
}

main().catch((e) => { console.error(e); process.exit(1); });
