'use strict';
// Stand-in WebSocket echo server on Node's `ws` (tests/node/node_modules).
// Same command line and output as collab-echo (PROTOCOL.md section 10), so the
// integration tests (ECHO_CMD) and tests/bench/echo_bench.py treat them alike:
//
//   NODE_PATH=tests/node/node_modules node tests/bench/echo_node.js \
//       --listen 127.0.0.1:0 [--tls-cert PEM --tls-key PEM] [--max-size BYTES]
//
// Prints `listening ws://HOST:PORT` (or wss://) as its first stdout line,
// echoes every message with its type, exits 0 on SIGINT/SIGTERM. Test only.
const fs = require('fs');
const http = require('http');
const https = require('https');
const path = require('path');
let WebSocket;
try {
  WebSocket = require('ws');
} catch (e) {
  WebSocket = require(path.join(__dirname, '..', 'node', 'node_modules', 'ws'));
}

function arg(name, dflt) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}

const listen = arg('--listen');
if (!listen) {
  process.stderr.write('usage: echo_node.js --listen ADDR:PORT [--tls-cert PEM --tls-key PEM]\n');
  process.exit(2);
}
const cut = listen.lastIndexOf(':');
const host = listen.slice(0, cut);
const port = Number(listen.slice(cut + 1));
const certFile = arg('--tls-cert');
const keyFile = arg('--tls-key');
const maxSize = Number(arg('--max-size', String(16 << 20)));

const server = certFile
  ? https.createServer({ cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) })
  : http.createServer();
// A request that is not an upgrade never reaches `ws`: answer it like an
// upgrade-only server would.
server.on('request', (req, res) => {
  res.writeHead(400, { 'Content-Type': 'text/plain', Connection: 'close' });
  res.end('not a WebSocket upgrade\n');
});
const wss = new WebSocket.Server({ server, maxPayload: maxSize, perMessageDeflate: false });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});
server.listen(port, host, () => {
  const scheme = certFile ? 'wss' : 'ws';
  process.stdout.write(`listening ${scheme}://127.0.0.1:${server.address().port}\n`);
});

function stop() {
  for (const c of wss.clients) c.terminate();
  wss.close();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
