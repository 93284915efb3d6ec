/*
 * fuzz_wsconn.c - libFuzzer target for a whole WebSocket connection:
 * fuzz bytes arrive from a real loopback peer, in pieces, at a server
 * connection (request head, then frames) or at a client connection (the
 * server's response head, then frames), and whatever the connection does
 * (echo, pongs, close, HTTP error, drop) must neither crash nor leak.
 *
 * Input: byte 0 is the mode: bit 0 client role, bit 1 prepend a valid
 * upgrade request (server) or a valid 101 response (client), bit 2 end
 * with a half-close instead of a full close, bits 3-7 the piece size
 * (1 + 7 * value). The rest is the byte stream.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "collab/loop.h"
#include "collab/wsconn.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static struct {
	int ready;
	struct collab_loop loop;
	struct collab_wsctx ws;
	struct collab_wsconn_listener l;
	struct collab_wsconn_handlers hd;
	int lfd;            /* our own listener, for the client role */
	uint16_t lport;
} G;

static void on_request(struct collab_wsconn *c, const struct collab_wsconn_request *req)
{
	if (collab_str_eq(req->http->path, "/404", 4))
		(void)collab_wsconn_respond(c, 404, COLLAB_STR("text/plain"), NULL, 0, "no", 2);
	else if (collab_http_offers_protocol(req->http, "collab.v1"))
		(void)collab_wsconn_accept(c, COLLAB_STR("collab.v1"));
}

static void on_message(struct collab_wsconn *c, enum collab_ws_opcode op,
		       const uint8_t *p, size_t len)
{
	struct collab_wsctx *ctx = collab_wsconn_ctx(c);
	struct collab_wsconn_handle h = collab_wsconn_handle(c);

	if (len == 3 && memcmp(p, "bye", 3) == 0) {
		(void)collab_wsconn_close(ctx, h, 4000, "bye", 3);
		return;
	}
	if (len == 4 && memcmp(p, "drop", 4) == 0) {
		collab_wsconn_drop(ctx, h);
		return;
	}
	if (collab_wsconn_send(ctx, h, op, p, len) == COLLAB_EQUEUE)
		(void)collab_wsconn_abort(ctx, h, 1013);
}

static void setup(void)
{
	struct collab_wsctx_config cfg;
	struct sockaddr_in a;
	socklen_t al = sizeof(a);

	CHECK(collab_loop_init(&G.loop, NULL) == 0);
	collab_wsctx_config_init(&cfg);
	/* Small buffers: more pieces, more partial frames and heads. */
	cfg.scratch_bytes = 4096;
	cfg.max_read_per_wakeup = 8192;
	cfg.max_head_bytes = 2048;
	cfg.server_max_message = 16384;
	cfg.client_max_message = 16384;
	cfg.queue_limit = 65536;
	cfg.low_water = 1024;
	CHECK(collab_wsctx_init(&G.ws, &G.loop, &cfg) == 0);
	G.hd.on_request = on_request;
	G.hd.on_message = on_message;
	CHECK(collab_wsconn_listen(&G.l, &G.ws, "127.0.0.1:0", 11, &G.hd, NULL) == 0);
	G.lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(bind(G.lfd, (struct sockaddr *)&a, sizeof(a)) == 0);
	CHECK(listen(G.lfd, 16) == 0);
	CHECK(getsockname(G.lfd, (struct sockaddr *)&a, &al) == 0);
	G.lport = ntohs(a.sin_port);
	G.ready = 1;
}

static void turns(int n)
{
	while (n-- > 0)
		CHECK(collab_loop_run_once(&G.loop, 0) == 0);
}

static void drain(int fd, uint8_t *keep, size_t cap, size_t *len)
{
	uint8_t buf[4096];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		if (keep && *len < cap) {
			size_t k = (size_t)n < cap - *len ? (size_t)n : cap - *len;

			memcpy(keep + *len, buf, k);
			*len += k;
		}
}

static void put(int fd, const uint8_t *p, size_t n)
{
	int spins = 0;

	while (n > 0 && spins < 1000) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0) {
			if (errno != EAGAIN)
				return; /* dropped by the connection */
			turns(1);
			drain(fd, NULL, 0, NULL);
			spins++;
			continue;
		}
		p += w;
		n -= (size_t)w;
	}
}

static int peer_server_conn(void)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(G.l.port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	turns(2);
	return fd;
}

/* Accepts the client connection's TCP and reads its request head. */
static int peer_client_conn(int prefix)
{
	struct collab_wsconn_handle h;
	char url[64];
	uint8_t head[4096];
	size_t hl = 0;
	int fd = -1, i;

	snprintf(url, sizeof(url), "ws://127.0.0.1:%u/x?y=1", G.lport);
	CHECK(collab_wsconn_connect(&G.ws, url, strlen(url), NULL, &G.hd, NULL, &h) == 0);
	for (i = 0; i < 100 && fd < 0; i++) {
		turns(1);
		fd = accept4(G.lfd, NULL, NULL, SOCK_CLOEXEC);
	}
	if (fd < 0)
		return -1;
	for (i = 0; i < 200 && !memmem(head, hl, "\r\n\r\n", 4); i++) {
		turns(1);
		drain(fd, head, sizeof(head), &hl);
	}
	if (prefix) {
		const uint8_t *k = memmem(head, hl, "Sec-WebSocket-Key: ", 19);
		char acc[COLLAB_HTTP_ACCEPT_LEN], resp[256];
		int n;

		CHECK(k != NULL && (size_t)(k - head) + 19 + COLLAB_HTTP_KEY_LEN <= hl);
		collab_http_accept_key((const char *)k + 19, COLLAB_HTTP_KEY_LEN, acc);
		n = snprintf(resp, sizeof(resp),
			     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
			     "Connection: Upgrade\r\nSec-WebSocket-Accept: %.28s\r\n\r\n", acc);
		put(fd, (const uint8_t *)resp, (size_t)n);
	}
	return fd;
}

static const char REQUEST[] =
	"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
	"Sec-WebSocket-Protocol: collab.v1\r\n\r\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned mode;
	size_t piece, off, n;
	int fd, i;

	if (!G.ready)
		setup();
	if (size < 1)
		return 0;
	mode = data[0];
	data++;
	size--;
	piece = 1 + 7 * (size_t)(mode >> 3);
	if (mode & 1) {
		fd = peer_client_conn(mode & 2);
	} else {
		fd = peer_server_conn();
		if (fd >= 0 && (mode & 2))
			put(fd, (const uint8_t *)REQUEST, sizeof(REQUEST) - 1);
	}
	if (fd < 0) {
		/* The harness's own resources ran short: not the code's fault. */
		collab_wsctx_drop_all(&G.ws);
		return 0;
	}
	for (off = 0; off < size; off += n) {
		n = size - off < piece ? size - off : piece;
		put(fd, data + off, n);
		turns(1);
		drain(fd, NULL, 0, NULL);
	}
	if (mode & 4)
		shutdown(fd, SHUT_WR);
	turns(3);
	drain(fd, NULL, 0, NULL);
	/* Reset rather than FIN: TIME_WAIT would eat the ephemeral ports of
	 * a run of a million inputs. */
	{
		struct linger lg = { 1, 0 };

		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(fd);
	for (i = 0; i < 20 && collab_wsctx_count(&G.ws) > 0; i++)
		turns(1);
	/* Whatever is still closing is dropped: nothing may outlive the
	 * input. */
	collab_wsctx_drop_all(&G.ws);
	CHECK(collab_wsctx_count(&G.ws) == 0);
	return 0;
}
