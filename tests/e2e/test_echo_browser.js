'use strict';
// collab-echo serves ws:// and wss:// to a real Chromium (issue 3, "done
// when"): the page opens a WebSocket from inside the browser, sends text
// (ASCII and 4-byte UTF-8), binary, an empty message and a 1 MiB message,
// and checks each echo comes back with its type and bytes; then closes with
// 4000 and sees the code echoed. wss:// uses a throwaway CA made here with
// the openssl command; Chromium is told to trust it by its SPKI hash
// (--ignore-certificate-errors-spki-list), so the TLS handshake is real.
// Plain script: prints each step and `N passed, N failed`; exit 1 on failure.
const { spawn, execFileSync } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');

const TOP = path.resolve(__dirname, '..', '..');
const NODE_MODULES = path.join(TOP, 'tests', 'node', 'node_modules');
function need(mod) {
	try { return require(mod); } catch (e) { return require(path.join(NODE_MODULES, mod)); }
}
const { chromium } = need('playwright-core');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const bin = process.env.ASAN_BIN || process.env.BIN || path.join(TOP, 'build', 'bin');
const ECHO = path.join(path.isAbsolute(bin) ? bin : path.join(TOP, bin), 'collab-echo');

let passed = 0, failed = 0;
function check(name, ok, detail) {
	if (ok) { passed++; console.log(`ok   ${name}`); }
	else { failed++; console.log(`FAIL ${name}${detail ? ': ' + detail : ''}`); }
}

function makeCert(dir) {
	const run = (args) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
	run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
		'-keyout', 'key.pem', '-out', 'cert.pem', '-days', '2', '-subj', '/CN=localhost',
		'-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1']);
	// SPKI SHA-256, base64: what --ignore-certificate-errors-spki-list takes.
	const pub = run(['x509', '-in', 'cert.pem', '-pubkey', '-noout']);
	const der = crypto.createPublicKey(pub).export({ type: 'spki', format: 'der' });
	return crypto.createHash('sha256').update(der).digest('base64');
}

function startEcho(args) {
	return new Promise((resolve, reject) => {
		const proc = spawn(ECHO, ['--listen', '127.0.0.1:0', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
		let buf = '';
		const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error('no listening line')); }, 10000);
		proc.on('exit', (code) => reject(new Error(`collab-echo exited ${code}`)));
		proc.stdout.on('data', (d) => {
			buf += d;
			const nl = buf.indexOf('\n');
			if (nl < 0) return;
			clearTimeout(timer);
			const m = /^listening (wss?):\/\/127\.0\.0\.1:(\d+)$/.exec(buf.slice(0, nl));
			if (!m) { proc.kill('SIGKILL'); reject(new Error(`bad first line: ${buf.slice(0, nl)}`)); return; }
			resolve({ proc, url: `${m[1]}://127.0.0.1:${m[2]}/echo` });
		});
	});
}

function stopEcho(proc) {
	return new Promise((resolve) => {
		const timer = setTimeout(() => { proc.kill('SIGKILL'); resolve(-1); }, 5000);
		proc.removeAllListeners('exit');
		proc.on('exit', (code) => { clearTimeout(timer); resolve(code); });
		proc.kill('SIGTERM');
	});
}

// Runs inside the page: every case, answers a summary object.
async function browserCases(url) {
	const open = () => new Promise((res, rej) => {
		const ws = new WebSocket(url);
		ws.binaryType = 'arraybuffer';
		ws.onopen = () => res(ws);
		ws.onerror = () => rej(new Error('websocket error'));
	});
	const next = (ws) => new Promise((res) => { ws.onmessage = (e) => res(e.data); });
	const out = {};
	const ws = await open();
	const texts = ['hello', '', 'caf\u00e9 \u{1F600} \u4e2d\u6587', 'x'.repeat(1 << 20)];
	out.text = [];
	for (const t of texts) {
		const p = next(ws); ws.send(t); const got = await p;
		out.text.push(typeof got === 'string' && got === t);
	}
	const bin = new Uint8Array(70000).map((_, i) => (i * 31) & 255);
	const pb = next(ws); ws.send(bin); const gotb = await pb;
	out.binary = gotb instanceof ArrayBuffer && gotb.byteLength === bin.length &&
		new Uint8Array(gotb).every((v, i) => v === bin[i]);
	out.close = await new Promise((res) => { ws.onclose = (e) => res(e.code); ws.close(4000, 'bye'); });
	return out;
}

(async () => {
	if (!fs.existsSync(ECHO)) { console.log(`collab-echo not built: ${ECHO}`); process.exit(1); }
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'collab-echo-browser-'));
	let browser;
	try {
		const spki = makeCert(dir);
		browser = await chromium.launch({
			executablePath: CHROMIUM,
			args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
				'--disable-background-networking', '--disable-component-update', '--disable-sync',
				`--ignore-certificate-errors-spki-list=${spki}`],
		});
		const page = await browser.newPage();
		await page.setContent('<title>echo</title>');
		for (const tls of [false, true]) {
			const args = tls ? ['--tls-cert', path.join(dir, 'cert.pem'), '--tls-key', path.join(dir, 'key.pem')] : [];
			const { proc, url } = await startEcho(args);
			const label = tls ? 'wss' : 'ws';
			check(`${label}: listening line`, url.startsWith(tls ? 'wss://' : 'ws://'));
			let r;
			try { r = await page.evaluate(browserCases, url); } catch (e) { r = { error: String(e) }; }
			if (r.error) check(`${label}: browser cases`, false, r.error);
			else {
				['ascii', 'empty', 'utf8', '1 MiB'].forEach((n, i) => check(`${label}: text ${n} echoed as text`, r.text[i]));
				check(`${label}: binary echoed as binary`, r.binary);
				check(`${label}: close code 4000 echoed`, r.close === 4000, `got ${r.close}`);
			}
			check(`${label}: exit 0 on SIGTERM`, (await stopEcho(proc)) === 0);
		}
	} catch (e) {
		check('browser echo', false, e.stack || String(e));
	} finally {
		if (browser) await browser.close();
		fs.rmSync(dir, { recursive: true, force: true });
	}
	console.log(`${passed} passed, ${failed} failed`);
	process.exit(failed ? 1 : 0);
})();
