/* check_wsconn.c - WebSocket connections over loopback: the server role
 * driven by a raw socket client that can send anything, and the client
 * role against the server role in the same loop (plain and TLS, with a
 * certificate made by the openssl command at test time). Timeouts run on
 * a fake clock. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "collab/loop.h"
#include "collab/wsconn.h"
#include "testutil.h"

/* ---- allocator, clock, fixture ----------------------------------------------- */

struct test_alloc {
	long budget;        /* allocations left; < 0: unlimited */
	size_t live_bytes, live_blocks, fails;
	size_t allocs;      /* successful allocations so far */
};

static void *ta_alloc(void *ctx, size_t n)
{
	struct test_alloc *t = ctx;

	if (t->budget == 0) {
		t->fails++;
		return NULL;
	}
	if (t->budget > 0)
		t->budget--;
	t->live_bytes += n;
	t->live_blocks++;
	t->allocs++;
	return malloc(n);
}

static void ta_free(void *ctx, void *p, size_t n)
{
	struct test_alloc *t = ctx;

	if (p == NULL)
		return;
	ck_assert_uint_ge(t->live_bytes, n);
	t->live_bytes -= n;
	t->live_blocks--;
	free(p);
}

struct fake_clock {
	uint64_t ms;
};

static uint64_t fake_now(void *ctx)
{
	return ((struct fake_clock *)ctx)->ms;
}

#define MAX_MSG (2u * 1024 * 1024)

/* What the callbacks saw. */
struct rec {
	int requests, opens, closes, drains, msgs;
	struct collab_wsconn_close_info ci;
	char reason[128];
	struct collab_wsconn_handle h;     /* last opened */
	enum collab_ws_opcode op;
	uint8_t *msg;                      /* last message, MAX_MSG bytes */
	size_t len;
	char proto[64];
	size_t proto_len;
	int echo;                          /* echo messages back */
	int mode;                          /* on_request behaviour */
	int drop_in_msg;                   /* drop the connection in on_message */
};

enum { REQ_DEFAULT, REQ_PROTO, REQ_404, REQ_REJECT503, REQ_BIG };

/* REQ_BIG's body: more than any loopback socket buffers hold, so the
 * response stays queued while the client does not read. */
#define BIG_BODY ((size_t)16 << 20)

struct fx {
	struct fake_clock clk;
	struct test_alloc ta;
	struct collab_alloc al;
	struct collab_loop loop;
	struct collab_wsctx ws;
	struct collab_wsconn_listener l;
	struct collab_wsconn_handlers hd, chd;
	struct rec srv, cli;
	size_t base_blocks;                /* live blocks with no connection */
};

static struct fx F;

static void on_request(struct collab_wsconn *c, const struct collab_wsconn_request *req)
{
	struct rec *r = collab_wsconn_app(c);
	struct collab_http_header ra = { COLLAB_STR("Retry-After"), COLLAB_STR("7") };

	r->requests++;
	switch (r->mode) {
	case REQ_PROTO:
		/* not offered: refused */
		ck_assert_int_eq(collab_wsconn_accept(c, COLLAB_STR("chat.v9")), COLLAB_EINVAL);
		if (collab_http_offers_protocol(req->http, "collab.v1")) {
			ck_assert_int_eq(collab_wsconn_accept(c, COLLAB_STR("collab.v1")), 0);
			/* a second decision is refused */
			ck_assert_int_eq(collab_wsconn_accept(c, COLLAB_STR("")), COLLAB_ESTATE);
		}
		break;
	case REQ_404:
		ck_assert_int_eq(collab_wsconn_respond(c, 404, COLLAB_STR("text/plain"),
						       NULL, 0, "nope\n", 5), 0);
		break;
	case REQ_REJECT503:
		ck_assert_int_eq(collab_wsconn_reject(c, 503, &ra, 1, COLLAB_STR("busy\n")), 0);
		break;
	case REQ_BIG: {
		uint8_t *body = malloc(BIG_BODY);

		ck_assert_ptr_nonnull(body);
		memset(body, 'b', BIG_BODY);
		ck_assert_int_eq(collab_wsconn_respond(c, 200, COLLAB_STR("text/plain"),
						       NULL, 0, body, BIG_BODY), 0);
		free(body);
		break;
	}
	default:
		break;
	}
}

static void on_open(struct collab_wsconn *c, struct collab_str proto)
{
	struct rec *r = collab_wsconn_app(c);

	r->opens++;
	r->h = collab_wsconn_handle(c);
	ck_assert_uint_lt(proto.len, sizeof(r->proto));
	memcpy(r->proto, proto.p, proto.len);
	r->proto_len = proto.len;
}

static void on_message(struct collab_wsconn *c, enum collab_ws_opcode op,
		       const uint8_t *p, size_t len)
{
	struct rec *r = collab_wsconn_app(c);

	r->msgs++;
	r->op = op;
	ck_assert_uint_le(len, MAX_MSG);
	memcpy(r->msg, p, len);
	r->len = len;
	if (r->drop_in_msg) {
		collab_wsconn_drop(collab_wsconn_ctx(c), collab_wsconn_handle(c));
		/* stale at once, even inside its own callback */
		ck_assert_ptr_null(collab_wsconn_get(collab_wsconn_ctx(c),
						     collab_wsconn_handle(c)));
		return;
	}
	if (r->echo) {
		int rc = collab_wsconn_send(collab_wsconn_ctx(c),
					    collab_wsconn_handle(c), op, p, len);

		/* ENOMEM only while a test starves the allocator */
		ck_assert(rc == 0 || (rc == COLLAB_ENOMEM && F.ta.budget >= 0));
	}
}

static void on_close(struct collab_wsconn *c, const struct collab_wsconn_close_info *ci)
{
	struct rec *r = collab_wsconn_app(c);

	r->closes++;
	r->ci = *ci;
	ck_assert_uint_lt(ci->reason.len, sizeof(r->reason));
	memcpy(r->reason, ci->reason.p ? ci->reason.p : "", ci->reason.len);
	r->reason[ci->reason.len] = 0;
	r->ci.reason.p = r->reason;
	/* the handle refuses sends from here on */
	ck_assert_int_eq(collab_wsconn_send(collab_wsconn_ctx(c), collab_wsconn_handle(c),
					    COLLAB_WS_OP_TEXT, "x", 1), COLLAB_ECLOSED);
}

static void on_drain(struct collab_wsconn *c)
{
	struct rec *r = collab_wsconn_app(c);

	r->drains++;
}

static void fx_start(const struct collab_wsctx_config *over)
{
	struct collab_loop_config lc;
	struct collab_wsctx_config cfg;

	memset(&F, 0, sizeof(F));
	F.clk.ms = 1000000;
	F.ta.budget = -1;
	F.al.alloc = ta_alloc;
	F.al.free = ta_free;
	F.al.ctx = &F.ta;
	collab_loop_config_init(&lc);
	lc.now_ms = fake_now;
	lc.clock_ctx = &F.clk;
	lc.alloc = &F.al;
	ck_assert_int_eq(collab_loop_init(&F.loop, &lc), 0);
	if (over)
		cfg = *over;
	else
		collab_wsctx_config_init(&cfg);
	ck_assert_int_eq(collab_wsctx_init(&F.ws, &F.loop, &cfg), 0);
	F.srv.msg = malloc(MAX_MSG);
	F.cli.msg = malloc(MAX_MSG);
	F.srv.echo = 1;
	F.hd.on_request = on_request;
	F.hd.on_open = on_open;
	F.hd.on_message = on_message;
	F.hd.on_close = on_close;
	F.hd.on_drain = on_drain;
	F.hd.ctx = &F.srv;
	F.chd = F.hd;
	F.chd.on_request = NULL;
	F.chd.ctx = &F.cli;
	ck_assert_int_eq(collab_wsconn_listen(&F.l, &F.ws, "127.0.0.1:0", 11, &F.hd, NULL), 0);
	ck_assert_uint_gt(F.l.port, 0);
	F.base_blocks = F.ta.live_blocks;
}

static void fx_default(void)
{
	fx_start(NULL);
}

static void fx_stop(void)
{
	collab_wsconn_unlisten(&F.l);
	collab_wsctx_free(&F.ws);
	collab_loop_free(&F.loop);
	free(F.srv.msg);
	free(F.cli.msg);
	ck_assert_uint_eq(F.ta.live_blocks, 0);
	ck_assert_uint_eq(F.ta.live_bytes, 0);
}

/* One turn of the loop, waiting at most ms real milliseconds. */
static void turn(int ms)
{
	ck_assert_int_eq(collab_loop_run_once(&F.loop, ms), 0);
}

static void turns(int n)
{
	while (n-- > 0)
		turn(1);
}

/* Moves the fake clock and runs the timers that became due. */
static void advance(uint64_t ms)
{
	F.clk.ms += ms;
	turn(0);
	turn(0);
}

/* ---- the raw client ---------------------------------------------------------- */

struct raw {
	int fd;
	uint8_t buf[1 << 16];
	size_t len;
	int eof;
};

/* rcvbuf > 0: that receive buffer, set before connect() so that the
 * window stays that small (a client that does not read blocks the
 * server soon). */
static int raw_connect_rcvbuf(int rcvbuf)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	ck_assert_int_ge(fd, 0);
	if (rcvbuf > 0)
		ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
					    sizeof(rcvbuf)), 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(F.l.port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

static int raw_connect(void)
{
	return raw_connect_rcvbuf(0);
}

static void raw_send(struct raw *r, const void *p, size_t n)
{
	const uint8_t *b = p;
	int spins = 0;

	while (n > 0) {
		ssize_t w = send(r->fd, b, n, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EPIPE || errno == ECONNRESET) {
				r->eof = 1; /* the server dropped us */
				return;
			}
			ck_assert_msg(errno == EAGAIN, "send: %s", strerror(errno));
			turn(1);
			ck_assert_int_lt(++spins, 100000);
			continue;
		}
		b += w;
		n -= (size_t)w;
	}
}

/* Reads (pumping the server) until want bytes are buffered, EOF, or the
 * turns run out. */
static void raw_fill(struct raw *r, size_t want, int max_turns)
{
	while (r->len < want && !r->eof && max_turns-- > 0) {
		ssize_t n = recv(r->fd, r->buf + r->len, sizeof(r->buf) - r->len, 0);

		if (n > 0) {
			r->len += (size_t)n;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			r->eof = 1;
			break;
		}
		turn(2);
	}
}

static void raw_consume(struct raw *r, size_t n)
{
	memmove(r->buf, r->buf + n, r->len - n);
	r->len -= n;
}

static const char REQ_FMT[] =
	"GET /ws?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
	"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	"Sec-WebSocket-Version: 13\r\n%s\r\n";

/* Sends the request (with extra header lines), returns the status; the
 * response head is consumed. */
static int raw_request(struct raw *r, const char *extra)
{
	size_t cap = sizeof(REQ_FMT) + strlen(extra);
	char *req = malloc(cap);
	int n = snprintf(req, cap, REQ_FMT, extra);
	int st = 0;
	uint8_t *end;

	ck_assert_int_gt(n, 0);
	ck_assert_uint_lt((size_t)n, cap);
	raw_send(r, req, (size_t)n);
	free(req);
	for (int i = 0; i < 2000; i++) {
		raw_fill(r, r->len + 1, 1);
		end = memmem(r->buf, r->len, "\r\n\r\n", 4);
		if (end) {
			ck_assert_int_eq(sscanf((char *)r->buf, "HTTP/1.1 %d", &st), 1);
			r->buf[end - r->buf] = 0;
			return st;
		}
		if (r->eof)
			break;
	}
	ck_abort_msg("no response head");
	return 0;
}

static void raw_head_consume(struct raw *r)
{
	uint8_t *end = memmem(r->buf, r->len, "\r\n\r\n", 4);

	if (end == NULL) {
		/* raw_request replaced the first CR of the blank line by NUL */
		end = memchr(r->buf, 0, r->len);
		ck_assert_ptr_nonnull(end);
		raw_consume(r, (size_t)(end - r->buf) + 4);
		return;
	}
	raw_consume(r, (size_t)(end - r->buf) + 4);
}

static void raw_open(struct raw *r)
{
	memset(r, 0, sizeof(*r));
	r->fd = raw_connect();
	ck_assert_int_eq(raw_request(r, ""), 101);
	raw_head_consume(r);
	ck_assert_int_eq(F.srv.opens, 1);
}

/* A client frame, masked with a fixed key (any key is valid). */
static size_t mkframe(uint8_t *out, int fin, int rsv, int op, const uint8_t *p,
		      size_t n, int masked, int ext)
{
	static const uint8_t key[4] = { 0x37, 0xfa, 0x21, 0x3d };
	size_t h = 2;

	out[0] = (uint8_t)((fin ? 0x80 : 0) | (rsv << 4) | op);
	if (ext == 0 && n <= 125) {
		out[1] = (uint8_t)n;
	} else if ((ext == 0 && n <= 0xFFFF) || ext == 2) {
		out[1] = 126;
		out[2] = (uint8_t)(n >> 8);
		out[3] = (uint8_t)n;
		h = 4;
	} else {
		out[1] = 127;
		for (int i = 0; i < 8; i++)
			out[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
		h = 10;
	}
	if (masked) {
		out[1] |= 0x80;
		memcpy(out + h, key, 4);
		h += 4;
	}
	for (size_t i = 0; p && i < n; i++)
		out[h + i] = masked ? (uint8_t)(p[i] ^ key[i & 3]) : p[i];
	return h + (p ? n : 0);
}

static void raw_frame(struct raw *r, int fin, int op, const void *p, size_t n)
{
	uint8_t *f = malloc(n + 14);
	size_t len = mkframe(f, fin, 0, op, p, n, 1, 0);

	raw_send(r, f, len);
	free(f);
}

struct frame {
	int fin, op;
	uint8_t *p;
	size_t len;
};

/* One server frame (unmasked, RFC 6455 5.1); its payload stays valid
 * until the next raw_* call. Returns 0 on EOF. */
static int raw_read_frame(struct raw *r, struct frame *f)
{
	size_t h = 2, n;

	raw_fill(r, 2, 4000);
	if (r->len < 2)
		return 0;
	ck_assert_msg(!(r->buf[1] & 0x80), "server frame masked");
	ck_assert_msg(!(r->buf[0] & 0x70), "server frame with RSV bits");
	n = r->buf[1] & 0x7F;
	if (n == 126) {
		raw_fill(r, 4, 4000);
		n = (size_t)r->buf[2] << 8 | r->buf[3];
		h = 4;
	} else if (n == 127) {
		raw_fill(r, 10, 4000);
		n = 0;
		for (int i = 2; i < 10; i++)
			n = n << 8 | r->buf[i];
		h = 10;
	}
	ck_assert_uint_le(h + n, sizeof(r->buf));
	raw_fill(r, h + n, 4000);
	ck_assert_uint_ge(r->len, h + n);
	f->fin = (r->buf[0] & 0x80) != 0;
	f->op = r->buf[0] & 0x0F;
	f->len = n;
	/* shift the frame out, keep its payload at the end of buf */
	memmove(r->buf, r->buf + h, r->len - h);
	r->len -= h;
	f->p = r->buf;
	/* the caller reads f->p before consuming; we consume lazily */
	return 1;
}

static void raw_done_frame(struct raw *r, const struct frame *f)
{
	raw_consume(r, f->len);
}

static void expect_message(struct raw *r, int op, const void *p, size_t n)
{
	struct frame f;

	ck_assert_int_eq(raw_read_frame(r, &f), 1);
	ck_assert_int_eq(f.op, op);
	ck_assert_int_eq(f.fin, 1);
	ck_assert_uint_eq(f.len, n);
	ck_assert_int_eq(memcmp(f.p, p, n), 0);
	raw_done_frame(r, &f);
}

/* The server's close frame with code (0: none), then TCP EOF. */
static void expect_close(struct raw *r, unsigned code)
{
	struct frame f;

	ck_assert_int_eq(raw_read_frame(r, &f), 1);
	ck_assert_int_eq(f.op, 8);
	if (code) {
		ck_assert_uint_ge(f.len, 2);
		ck_assert_uint_eq((unsigned)f.p[0] << 8 | f.p[1], code);
	} else {
		ck_assert_uint_eq(f.len, 0);
	}
	raw_done_frame(r, &f);
	raw_fill(r, 1, 4000);
	ck_assert_uint_eq(r->len, 0);
	ck_assert_int_eq(r->eof, 1);
}

static void raw_close(struct raw *r)
{
	close(r->fd);
	/* the server sees the EOF and frees the connection */
	for (int i = 0; i < 200 && collab_wsctx_count(&F.ws) > 0; i++)
		turn(2);
}

/* No connection memory left but the listener's context. */
static void expect_no_conns(void)
{
	for (int i = 0; i < 200 && collab_wsctx_count(&F.ws) > 0; i++)
		turn(2);
	ck_assert_uint_eq(collab_wsctx_count(&F.ws), 0);
}

/* ---- tests: handshake and echo ------------------------------------------------------ */

START_TEST(test_echo_zero_copy_and_idle_memory)
{
	struct raw r;
	size_t blocks;

	raw_open(&r);
	/* an open idle connection holds exactly one block: itself (plus
	 * the slot table and timer heap, which exist already) */
	turns(3);
	blocks = F.ta.live_blocks;
	raw_frame(&r, 1, 1, "hello", 5);
	expect_message(&r, 1, "hello", 5);
	raw_frame(&r, 1, 2, "\x00\xff", 2);
	expect_message(&r, 2, "\x00\xff", 2);
	raw_frame(&r, 1, 1, "", 0);
	expect_message(&r, 1, "", 0);
	turns(3);
	/* back to idle: no receive, send or head block remains */
	ck_assert_uint_eq(F.ta.live_blocks, blocks);
	ck_assert_int_eq(F.srv.msgs, 3);
	raw_close(&r);
	expect_no_conns();
	ck_assert_int_eq(F.srv.closes, 1);
	ck_assert_uint_eq(F.srv.ci.code, COLLAB_WS_CLOSE_ABNORMAL);
	ck_assert_int_eq(F.srv.ci.err, COLLAB_EIO);
}
END_TEST

START_TEST(test_idle_connection_is_one_small_block)
{
	struct raw r[8];
	size_t before, bytes_before;
	int i;

	/* grow the slot table and heap first, so that only per-connection
	 * blocks are counted */
	for (i = 0; i < 8; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].fd = raw_connect();
		ck_assert_int_eq(raw_request(&r[i], ""), 101);
	}
	for (i = 0; i < 8; i++)
		raw_close(&r[i]);
	expect_no_conns();
	before = F.ta.live_blocks;
	bytes_before = F.ta.live_bytes;
	for (i = 0; i < 8; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].fd = raw_connect();
		ck_assert_int_eq(raw_request(&r[i], ""), 101);
	}
	turns(3);
	ck_assert_uint_eq(F.ta.live_blocks - before, 8);
	/* wsconn.h: COLLAB_WSCONN_IDLE_BYTES at most */
	ck_assert_uint_le((F.ta.live_bytes - bytes_before) / 8, COLLAB_WSCONN_IDLE_BYTES);
	for (i = 0; i < 8; i++)
		close(r[i].fd);
	expect_no_conns();
}
END_TEST

START_TEST(test_head_split_and_pipelined_frame)
{
	struct raw r;
	char req[512];
	uint8_t fr[32];
	int n = snprintf(req, sizeof(req), REQ_FMT, "");
	size_t fl = mkframe(fr, 1, 0, 1, (const uint8_t *)"early", 5, 1, 0), i;
	uint8_t all[600];

	memcpy(all, req, (size_t)n);
	memcpy(all + n, fr, fl);
	memset(&r, 0, sizeof(r));
	r.fd = raw_connect();
	/* one byte at a time: the head gathers in a head block, then the
	 * frame after it goes to the parser */
	for (i = 0; i < (size_t)n + fl; i++) {
		raw_send(&r, all + i, 1);
		turn(0);
	}
	raw_fill(&r, 1, 1000);
	ck_assert(memmem(r.buf, r.len, "\r\n\r\n", 4) != NULL);
	ck_assert_int_eq(memcmp(r.buf, "HTTP/1.1 101 ", 13), 0);
	ck_assert(memmem(r.buf, r.len, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", 28) != NULL);
	raw_head_consume(&r);
	expect_message(&r, 1, "early", 5);
	raw_close(&r);
}
END_TEST

struct http_case {
	const char *name;
	const char *req;
	int status;
	const char *must;   /* a header line the response must hold */
};

static const struct http_case http_cases[] = {
	{ "POST", "POST / HTTP/1.1\r\nHost: x\r\n\r\n", 400, NULL },
	{ "no upgrade", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 400, NULL },
	{ "garbage", "HELLO\r\n\r\n", 400, NULL },
	{ "version 8",
	  "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
	  426, "Sec-WebSocket-Version: 13" },
};

START_TEST(test_http_rejections)
{
	const struct http_case *t = &http_cases[_i];
	struct raw r;
	int st;

	memset(&r, 0, sizeof(r));
	r.fd = raw_connect();
	raw_send(&r, t->req, strlen(t->req));
	raw_fill(&r, sizeof(r.buf), 400);
	ck_assert_int_eq(r.eof, 1);
	ck_assert_int_eq(sscanf((char *)r.buf, "HTTP/1.1 %d", &st), 1);
	ck_assert_int_eq(st, t->status);
	if (t->must)
		ck_assert(memmem(r.buf, r.len, t->must, strlen(t->must)) != NULL);
	ck_assert(memmem(r.buf, r.len, "Connection: close", 17) != NULL);
	ck_assert_int_eq(F.srv.opens, 0);
	close(r.fd);
	expect_no_conns();
	ck_assert_int_eq(F.srv.closes, 0); /* never opened: no on_close */
}
END_TEST

START_TEST(test_http_431)
{
	struct raw r;
	char *big = malloc(10000);
	int st;

	memcpy(big, "X-Pad: ", 7);
	memset(big + 7, 'p', 9000);
	memcpy(big + 9007, "\r\n", 3);
	memset(&r, 0, sizeof(r));
	r.fd = raw_connect();
	st = raw_request(&r, big);
	ck_assert_int_eq(st, 431);
	ck_assert_int_eq(F.srv.requests, 0);
	free(big);
	close(r.fd);
	expect_no_conns();
}
END_TEST

START_TEST(test_on_request_decisions)
{
	struct raw r;
	int st;

	/* subprotocol selected only when offered */
	F.srv.mode = REQ_PROTO;
	memset(&r, 0, sizeof(r));
	r.fd = raw_connect();
	st = raw_request(&r, "Sec-WebSocket-Protocol: chat, collab.v1\r\n");
	ck_assert_int_eq(st, 101);
	ck_assert(strstr((char *)r.buf, "Sec-WebSocket-Protocol: collab.v1") != NULL);
	ck_assert_str_eq(F.srv.proto, "collab.v1");
	raw_close(&r);

	memset(&r, 0, sizeof(r));
	r.fd = raw_connect();
	st = raw_request(&r, "Sec-WebSocket-Protocol: chat\r\n");
	ck_assert_int_eq(st, 101);
	ck_assert(strstr((char *)r.buf, "Sec-WebSocket-Protocol") == NULL);
	raw_close(&r);

	/* any HTTP response, then the connection is closed */
	F.srv.mode = REQ_404;
	memset(&r, 0, sizeof(r));
	r.fd = raw_connect();
	st = raw_request(&r, "");
	ck_assert_int_eq(st, 404);
	raw_head_consume(&r);
	raw_fill(&r, 100, 400);
	ck_assert_int_eq(r.eof, 1);
	ck_assert_uint_eq(r.len, 5);
	ck_assert_int_eq(memcmp(r.buf, "nope\n", 5), 0);
	close(r.fd);

	F.srv.mode = REQ_REJECT503;
	memset(&r, 0, sizeof(r));
	r.fd = raw_connect();
	st = raw_request(&r, "");
	ck_assert_int_eq(st, 503);
	ck_assert(strstr((char *)r.buf, "Retry-After: 7") != NULL);
	close(r.fd);
	expect_no_conns();
	ck_assert_int_eq(F.srv.closes, 2);
}
END_TEST

/* ---- tests: protocol errors ------------------------------------------------------------ */

struct perr {
	const char *name;
	const uint8_t *pre;       /* raw bytes before the frame (masked, key 0) */
	size_t pre_len;
	int fin, rsv, op, masked, ext;
	const uint8_t *pl;        /* payload; NULL: 'a' * len */
	size_t len;
	unsigned code;
	int err;
};

/* A text frame "a" without FIN, masked with a zero key. */
static const uint8_t FRAG_START[] = { 0x01, 0x81, 0, 0, 0, 0, 'a' };
static const uint8_t BIN_START[] = { 0x02, 0x81, 0, 0, 0, 0, 'b' };
static const uint8_t CLOSE_1005[] = { 0x03, 0xED };
static const uint8_t CLOSE_BADUTF8[] = { 0x03, 0xE8, 'o', 0xC0, 0xAF };
static const uint8_t BAD_UTF8[] = { 'o', 'k', 0xED, 0xA0, 0x80 };

static const struct perr perrs[] = {
	{ "RSV1", NULL, 0, 1, 4, 1, 1, 0, NULL, 3, 1002, COLLAB_EPROTO },
	{ "RSV3 on ping", NULL, 0, 1, 1, 9, 1, 0, NULL, 1, 1002, COLLAB_EPROTO },
	{ "opcode 3", NULL, 0, 1, 0, 3, 1, 0, NULL, 0, 1002, COLLAB_EPROTO },
	{ "opcode 0xB", NULL, 0, 1, 0, 0xB, 1, 0, NULL, 0, 1002, COLLAB_EPROTO },
	{ "unmasked", NULL, 0, 1, 0, 1, 0, 0, NULL, 2, 1002, COLLAB_EPROTO },
	{ "ping 126", NULL, 0, 1, 0, 9, 1, 0, NULL, 126, 1002, COLLAB_EPROTO },
	{ "fragmented ping", NULL, 0, 0, 0, 9, 1, 0, NULL, 1, 1002, COLLAB_EPROTO },
	{ "cont without start", NULL, 0, 1, 0, 0, 1, 0, NULL, 1, 1002, COLLAB_EPROTO },
	{ "text inside text", FRAG_START, sizeof(FRAG_START), 1, 0, 1, 1, 0, NULL, 1, 1002, COLLAB_EPROTO },
	{ "close 1005", NULL, 0, 1, 0, 8, 1, 0, CLOSE_1005, 2, 1002, COLLAB_EPROTO },
	{ "close 1 byte", NULL, 0, 1, 0, 8, 1, 0, CLOSE_1005, 1, 1002, COLLAB_EPROTO },
	{ "non-minimal 16", NULL, 0, 1, 0, 1, 1, 2, NULL, 5, 1002, COLLAB_EPROTO },
	{ "non-minimal 64", NULL, 0, 1, 0, 2, 1, 8, NULL, 300, 1002, COLLAB_EPROTO },
	{ "bad utf-8", NULL, 0, 1, 0, 1, 1, 0, BAD_UTF8, sizeof(BAD_UTF8), 1007, COLLAB_EUTF8 },
	{ "bad close reason", NULL, 0, 1, 0, 8, 1, 0, CLOSE_BADUTF8, sizeof(CLOSE_BADUTF8), 1007, COLLAB_EUTF8 },
	{ "too big", NULL, 0, 1, 0, 2, 1, 0, NULL, 65537, 1009, COLLAB_ELIMIT },
	{ "too big in continuation", BIN_START, sizeof(BIN_START), 1, 0, 0, 1, 0, NULL, 65536, 1009, COLLAB_ELIMIT },
};

START_TEST(test_protocol_errors)
{
	const struct perr *t = &perrs[_i];
	uint8_t *pl = malloc(t->len + 1), *f = malloc(t->len + 32);
	size_t n;
	struct raw r;

	memset(pl, 'a', t->len);
	if (t->pl)
		memcpy(pl, t->pl, t->len);
	raw_open(&r);
	/* a good message first: it is echoed before the close */
	raw_frame(&r, 1, 1, "ok", 2);
	if (t->pre)
		raw_send(&r, t->pre, t->pre_len);
	n = mkframe(f, t->fin, t->rsv, t->op, pl, t->len, t->masked, t->ext);
	raw_send(&r, f, n);
	expect_message(&r, 1, "ok", 2);
	expect_close(&r, t->code);
	ck_assert_int_eq(F.srv.closes, 1);
	ck_assert_uint_eq(F.srv.ci.sent_code, t->code);
	ck_assert_int_eq(F.srv.ci.err, t->err);
	ck_assert_uint_eq(F.srv.ci.code, COLLAB_WS_CLOSE_ABNORMAL);
	raw_close(&r);
	expect_no_conns();
	free(pl);
	free(f);
}
END_TEST

struct pclose {
	const char *name;
	const uint8_t *pl;
	size_t len;
	unsigned echo;      /* code expected back; 0: empty */
	unsigned reported;
};

static const uint8_t C1000R[] = { 0x03, 0xE8, 'b', 'y', 'e' };
static const uint8_t C4000[] = { 0x0F, 0xA0 };

static const struct pclose pcloses[] = {
	{ "1000 with reason", C1000R, sizeof(C1000R), 1000, 1000 },
	{ "4000", C4000, sizeof(C4000), 4000, 4000 },
	{ "no code", NULL, 0, 0, COLLAB_WS_CLOSE_NO_STATUS },
};

START_TEST(test_peer_close_echoed)
{
	const struct pclose *t = &pcloses[_i];
	struct raw r;

	raw_open(&r);
	/* a message and the close in one write: echo first, then close */
	raw_frame(&r, 1, 1, "last", 4);
	raw_frame(&r, 1, 8, t->pl, t->len);
	expect_message(&r, 1, "last", 4);
	expect_close(&r, t->echo);
	ck_assert_int_eq(F.srv.closes, 1);
	ck_assert_uint_eq(F.srv.ci.code, t->reported);
	ck_assert_int_eq(F.srv.ci.err, 0);
	if (t->len > 2)
		ck_assert_str_eq(F.srv.reason, "bye");
	raw_close(&r);
	expect_no_conns();
}
END_TEST

/* ---- tests: timeouts (fake clock) ------------------------------------------------------ */

START_TEST(test_handshake_timeout)
{
	struct raw r;

	memset(&r, 0, sizeof(r));
	r.fd = raw_connect();
	raw_send(&r, "GET / HTTP/1.1\r\nHo", 18);
	turns(3);
	ck_assert_uint_eq(collab_wsctx_count(&F.ws), 1);
	advance(COLLAB_WSCONN_HANDSHAKE_MS - 10);
	ck_assert_uint_eq(collab_wsctx_count(&F.ws), 1);
	advance(20);
	ck_assert_uint_eq(collab_wsctx_count(&F.ws), 0);
	raw_fill(&r, 1, 100);
	ck_assert_int_eq(r.eof, 1);
	close(r.fd);
}
END_TEST

START_TEST(test_ping_then_idle_timeout)
{
	struct raw r;
	struct frame f;

	raw_open(&r);
	advance(COLLAB_WSCONN_PING_MS - 1);
	raw_fill(&r, 1, 5);
	ck_assert_uint_eq(r.len, 0);
	advance(1);
	ck_assert_int_eq(raw_read_frame(&r, &f), 1);
	ck_assert_int_eq(f.op, 9);          /* our ping */
	raw_done_frame(&r, &f);
	/* a message resets the idle deadline */
	advance(20000);
	raw_frame(&r, 1, 1, "alive", 5);
	expect_message(&r, 1, "alive", 5);
	advance(COLLAB_WSCONN_IDLE_MS - 1000);
	/* pings went out every 30 s since the message: drain them */
	while (r.len || (raw_fill(&r, 1, 3), r.len)) {
		ck_assert_int_eq(raw_read_frame(&r, &f), 1);
		ck_assert_int_eq(f.op, 9);
		raw_done_frame(&r, &f);
	}
	ck_assert_int_eq(F.srv.closes, 0);
	advance(1000);
	/* PROTOCOL.md 2: nothing received for 75 s: close 1000, then TCP */
	expect_close(&r, 1000);
	ck_assert_int_eq(F.srv.closes, 1);
	ck_assert_int_eq(F.srv.ci.err, COLLAB_ETIMEDOUT);
	ck_assert_uint_eq(F.srv.ci.sent_code, 1000);
	raw_close(&r);
	expect_no_conns();
}
END_TEST

START_TEST(test_close_timeout)
{
	struct raw r;

	raw_open(&r);
	ck_assert_int_eq(collab_wsconn_close(&F.ws, F.srv.h, 1001, "bye", 3), 0);
	/* closing: nothing more may be sent, closing again is a no-op */
	ck_assert_int_eq(collab_wsconn_send(&F.ws, F.srv.h, COLLAB_WS_OP_TEXT, "x", 1),
			 COLLAB_ECLOSED);
	ck_assert_int_eq(collab_wsconn_close(&F.ws, F.srv.h, 1000, NULL, 0), 0);
	turns(3);
	{
		struct frame f;

		ck_assert_int_eq(raw_read_frame(&r, &f), 1);
		ck_assert_int_eq(f.op, 8);
		ck_assert_uint_eq(f.len, 5);
		raw_done_frame(&r, &f);
	}
	/* the peer never answers: TCP closed after the close timeout */
	advance(COLLAB_WSCONN_CLOSE_MS - 10);
	ck_assert_uint_eq(collab_wsctx_count(&F.ws), 1);
	ck_assert_int_eq(F.srv.closes, 0);
	advance(20);
	ck_assert_uint_eq(collab_wsctx_count(&F.ws), 0);
	ck_assert_int_eq(F.srv.closes, 1);
	ck_assert_uint_eq(F.srv.ci.code, COLLAB_WS_CLOSE_ABNORMAL);
	ck_assert_uint_eq(F.srv.ci.sent_code, 1001);
	ck_assert_int_eq(F.srv.ci.err, COLLAB_ETIMEDOUT);
	close(r.fd);
}
END_TEST

/* The peer's TCP state (TCP_INFO), e.g. TCP_ESTABLISHED or TCP_CLOSE. */
static int raw_tcp_state(const struct raw *r)
{
	struct tcp_info ti;
	socklen_t n = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	ck_assert_int_eq(getsockopt(r->fd, IPPROTO_TCP, TCP_INFO, &ti, &n), 0);
	return ti.tcpi_state;
}

/* The socket's pending error (SO_ERROR), which reading it clears. */
static int raw_so_error(const struct raw *r)
{
	int err = -1;
	socklen_t n = sizeof(err);

	ck_assert_int_eq(getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &err, &n), 0);
	return err;
}

/*
 * PROTOCOL.md 6, 1013: the slow consumer's TCP is dropped within the close
 * timeout. A peer with a tiny receive window that never reads: the kernel
 * buffers on both sides fill, our queue too, then abort (1013) cannot even
 * write its close frame. At the close timeout the socket is reset (linger
 * 0), not closed normally: the peer sees the connection gone at once
 * (RST: TCP_CLOSE, ECONNRESET), and nothing beyond what its receive
 * buffer already held ever arrives, where a normal close would leave the
 * kernel feeding it the send buffer for minutes before its FIN.
 */
START_TEST(test_close_timeout_resets_slow_consumer)
{
	struct collab_wsctx_config cfg;
	struct raw r;
	static uint8_t chunk[8192];
	int rcvbuf = 0, rc = 0, i;
	socklen_t optlen = sizeof(rcvbuf);
	size_t got = 0;
	ssize_t n;

	fx_stop();
	collab_wsctx_config_init(&cfg);
	cfg.queue_limit = 256 * 1024;
	cfg.low_water = 64 * 1024;
	cfg.close_timeout_ms = 200;     /* short: the fake clock only needs a value */
	fx_start(&cfg);
	memset(&r, 0, sizeof(r));
	r.fd = raw_connect_rcvbuf(4096);
	ck_assert_int_eq(getsockopt(r.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &optlen), 0);
	ck_assert_int_eq(raw_request(&r, ""), 101);
	raw_head_consume(&r);
	r.len = 0;
	F.srv.echo = 0;
	for (i = 0; i < 100000; i++) {
		rc = collab_wsconn_send(&F.ws, F.srv.h, COLLAB_WS_OP_BINARY, chunk,
					sizeof(chunk));
		if (rc == COLLAB_EQUEUE)
			break;
		ck_assert_int_eq(rc, 0);
		turn(0);
	}
	ck_assert_int_eq(rc, COLLAB_EQUEUE);
	ck_assert_int_eq(collab_wsconn_abort(&F.ws, F.srv.h, 1013), 0);
	ck_assert_int_eq(F.srv.closes, 1);
	turns(3);
	/* the close frame cannot be written: the connection waits out the
	 * timeout, established */
	advance(cfg.close_timeout_ms - 10);
	ck_assert_uint_eq(collab_wsctx_count(&F.ws), 1);
	ck_assert_int_eq(raw_tcp_state(&r), TCP_ESTABLISHED);
	advance(20);
	ck_assert_uint_eq(collab_wsctx_count(&F.ws), 0);
	/* at once: reset, no FIN after a drained send buffer */
	ck_assert_int_eq(raw_tcp_state(&r), TCP_CLOSE);
	for (i = 0; i < 100000; i++) {
		n = recv(r.fd, r.buf, sizeof(r.buf), 0);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	ck_assert_int_eq((int)n, -1);
	ck_assert_int_eq(errno, ECONNRESET);
	/* only what its receive buffer held before the reset */
	ck_assert_uint_le(got, (size_t)rcvbuf);
	close(r.fd);
}
END_TEST

START_TEST(test_close_handshake_by_server)
{
	struct raw r;
	uint8_t pl[2] = { 0x03, 0xE9 };

	raw_open(&r);
	ck_assert_int_eq(collab_wsconn_close(&F.ws, F.srv.h, 1001, NULL, 0), 0);
	/* data after our close is not delivered; the peer's close is */
	raw_frame(&r, 1, 1, "late", 4);
	raw_frame(&r, 1, 8, pl, 2);
	expect_close(&r, 1001);
	ck_assert_int_eq(F.srv.msgs, 0);
	ck_assert_int_eq(F.srv.closes, 1);
	ck_assert_uint_eq(F.srv.ci.code, 1001);
	ck_assert_int_eq(F.srv.ci.err, 0);
	/* a clean close never resets (linger 0 is for the close timeout):
	 * the peer shuts down its side and the connection ends with no error */
	ck_assert_int_eq(shutdown(r.fd, SHUT_WR), 0);
	expect_no_conns();
	turns(3);
	ck_assert_int_eq(raw_so_error(&r), 0);
	ck_assert_int_eq((int)recv(r.fd, r.buf, sizeof(r.buf), 0), 0);
	close(r.fd);
}
END_TEST

/* ---- tests: fragments, pings, queue -------------------------------------------------- */

START_TEST(test_fragments_and_interleaved_pings)
{
	struct raw r;
	struct frame f;
	uint8_t buf[64];
	size_t n, i;

	raw_open(&r);
	raw_frame(&r, 0, 1, "frag", 4);
	raw_frame(&r, 1, 9, "mid", 3);
	/* the pong comes before the message is complete */
	ck_assert_int_eq(raw_read_frame(&r, &f), 1);
	ck_assert_int_eq(f.op, 0xA);
	ck_assert_uint_eq(f.len, 3);
	ck_assert_int_eq(memcmp(f.p, "mid", 3), 0);
	raw_done_frame(&r, &f);
	ck_assert_int_eq(F.srv.msgs, 0);
	raw_frame(&r, 0, 0, "men", 3);
	raw_frame(&r, 1, 0xA, "unsolicited", 11);
	/* the last fragment one byte at a time */
	n = mkframe(buf, 1, 0, 0, (const uint8_t *)"ted \xf0\x9f\x98\x80", 8, 1, 0);
	for (i = 0; i < n; i++) {
		raw_send(&r, buf + i, 1);
		turn(0);
	}
	expect_message(&r, 1, "fragmented \xf0\x9f\x98\x80", 15);
	/* ten pings in one write: ten pongs in order */
	for (i = 0; i < 10; i++) {
		char p[8];
		int pl = snprintf(p, sizeof(p), "p%zu", i);

		raw_frame(&r, 1, 9, p, (size_t)pl);
	}
	for (i = 0; i < 10; i++) {
		char p[8];
		int pl = snprintf(p, sizeof(p), "p%zu", i);

		ck_assert_int_eq(raw_read_frame(&r, &f), 1);
		ck_assert_int_eq(f.op, 0xA);
		ck_assert_uint_eq(f.len, (size_t)pl);
		ck_assert_int_eq(memcmp(f.p, p, f.len), 0);
		raw_done_frame(&r, &f);
	}
	turns(2);
	raw_close(&r);
	expect_no_conns();
}
END_TEST

START_TEST(test_queue_limit_and_drain)
{
	struct collab_wsctx_config cfg;
	struct raw r;
	static uint8_t chunk[8192];
	size_t sent = 0;
	int rc;

	fx_stop();
	collab_wsctx_config_init(&cfg);
	cfg.queue_limit = 64 * 1024;
	cfg.low_water = 16 * 1024;
	fx_start(&cfg);
	memset(&r, 0, sizeof(r));
	r.fd = raw_connect();
	ck_assert_int_eq(raw_request(&r, ""), 101);
	raw_head_consume(&r);
	F.srv.echo = 0;
	/* the client does not read: the kernel buffers fill, then our queue */
	for (;;) {
		rc = collab_wsconn_send(&F.ws, F.srv.h, COLLAB_WS_OP_BINARY, chunk, sizeof(chunk));
		if (rc == COLLAB_EQUEUE)
			break;
		ck_assert_int_eq(rc, 0);
		sent += sizeof(chunk) + 4;
		turn(0);
		ck_assert_uint_lt(sent, (size_t)64 << 20);
	}
	ck_assert_uint_le(collab_wsconn_queued(&F.ws, F.srv.h), cfg.queue_limit);
	ck_assert_uint_gt(collab_wsconn_queued(&F.ws, F.srv.h) + sizeof(chunk) + 4, cfg.queue_limit);
	ck_assert_int_eq(F.srv.drains, 0);
	/* the client reads everything: the queue drains, on_drain once */
	while (sent > 0) {
		ssize_t n = recv(r.fd, r.buf, sizeof(r.buf), 0);

		if (n > 0)
			sent -= (size_t)n < sent ? (size_t)n : sent;
		else
			turn(1);
	}
	turns(3);
	ck_assert_int_eq(F.srv.drains, 1);
	ck_assert_uint_eq(collab_wsconn_queued(&F.ws, F.srv.h), 0);
	/* abort discards the queue and sends 1013 */
	ck_assert_int_eq(collab_wsconn_send(&F.ws, F.srv.h, COLLAB_WS_OP_TEXT, "q", 1), 0);
	ck_assert_int_eq(collab_wsconn_abort(&F.ws, F.srv.h, 1013), 0);
	r.len = 0;
	expect_close(&r, 1013);
	raw_close(&r);
	expect_no_conns();
}
END_TEST

START_TEST(test_shared_buffer_refcounts)
{
	struct raw r[3];
	struct collab_wsconn_handle h[3];
	struct collab_shbuf *sb = collab_shbuf_new(&F.al, 7);
	int i;

	ck_assert_ptr_nonnull(sb);
	memcpy(sb->data, "\x81\x05howdy", 7);
	for (i = 0; i < 3; i++) {
		F.srv.opens = 0;
		raw_open(&r[i]);
		h[i] = F.srv.h;
	}
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(collab_wsconn_send_shared(&F.ws, h[i], sb), 0);
	ck_assert_uint_eq(sb->refs, 4);
	/* dropping a connection with the frame still queued releases it */
	collab_wsconn_drop(&F.ws, h[2]);
	ck_assert_uint_eq(sb->refs, 3);
	collab_wsctx_flush(&F.ws);
	ck_assert_uint_eq(sb->refs, 1);
	for (i = 0; i < 2; i++)
		expect_message(&r[i], 1, "howdy", 5);
	/* stale handles are refused */
	ck_assert_int_eq(collab_wsconn_send_shared(&F.ws, h[2], sb), COLLAB_ECLOSED);
	ck_assert_uint_eq(sb->refs, 1);
	collab_shbuf_unref(sb);
	for (i = 0; i < 3; i++)
		raw_close(&r[i]);
	expect_no_conns();
}
END_TEST

START_TEST(test_handle_staleness)
{
	struct raw r;
	struct collab_wsconn_handle old;

	raw_open(&r);
	old = F.srv.h;
	ck_assert_ptr_nonnull(collab_wsconn_get(&F.ws, old));
	raw_close(&r);
	expect_no_conns();
	ck_assert_ptr_null(collab_wsconn_get(&F.ws, old));
	ck_assert_int_eq(collab_wsconn_send(&F.ws, old, COLLAB_WS_OP_TEXT, "x", 1), COLLAB_ECLOSED);
	ck_assert_int_eq(collab_wsconn_close(&F.ws, old, 1000, NULL, 0), COLLAB_ECLOSED);
	collab_wsconn_drop(&F.ws, old); /* no-op */
	/* the slot is reused by the next connection, with a new generation */
	F.srv.opens = 0;
	raw_open(&r);
	ck_assert_uint_eq(F.srv.h.slot, old.slot);
	ck_assert_uint_ne(F.srv.h.gen, old.gen);
	ck_assert_int_eq(collab_wsconn_send(&F.ws, old, COLLAB_WS_OP_TEXT, "x", 1), COLLAB_ECLOSED);
	ck_assert_int_eq(collab_wsconn_send(&F.ws, F.srv.h, COLLAB_WS_OP_TEXT, "x", 1), 0);
	expect_message(&r, 1, "x", 1);
	/* dropped from inside its own on_message */
	F.srv.drop_in_msg = 1;
	raw_frame(&r, 1, 1, "bye", 3);
	raw_fill(&r, 1, 200);
	ck_assert_int_eq(r.eof, 1);
	ck_assert_int_eq(F.srv.ci.err, COLLAB_ECLOSED);
	close(r.fd);
	expect_no_conns();
}
END_TEST

/* ---- tests: the client role against the server role ------------------------------ */

static struct collab_wsconn_handle client_connect(const char *url,
						  struct collab_tls_client *tls,
						  const char *protos)
{
	struct collab_wsconn_connect_opts o;
	struct collab_wsconn_handle h;

	memset(&o, 0, sizeof(o));
	o.origin = COLLAB_STR("http://example.test");
	o.protocols.p = protos;
	o.protocols.len = protos ? strlen(protos) : 0;
	ck_assert_int_eq(collab_wsconn_connect(&F.ws, url, strlen(url), &o, &F.chd, tls, &h), 0);
	for (int i = 0; i < 3000 && F.cli.opens == 0 && F.cli.closes == 0; i++)
		turn(2);
	return h;
}

static void wait_cli_msgs(int n)
{
	for (int i = 0; i < 5000 && F.cli.msgs < n; i++)
		turn(2);
	ck_assert_int_eq(F.cli.msgs, n);
}

static void client_exchange(struct collab_wsconn_handle h)
{
	uint8_t *big = malloc(1 << 20);
	int i;

	for (i = 0; i < (1 << 20); i++)
		big[i] = (uint8_t)(i * 7);
	ck_assert_int_eq(collab_wsconn_send(&F.ws, h, COLLAB_WS_OP_TEXT, "hi there", 8), 0);
	wait_cli_msgs(1);
	ck_assert_int_eq(F.cli.op, COLLAB_WS_OP_TEXT);
	ck_assert_uint_eq(F.cli.len, 8);
	ck_assert_int_eq(memcmp(F.cli.msg, "hi there", 8), 0);
	/* fragmented, with a ping between the fragments */
	ck_assert_int_eq(collab_wsconn_send_frame(&F.ws, h, COLLAB_WS_OP_BINARY, 0, "ab", 2), 0);
	ck_assert_int_eq(collab_wsconn_send(&F.ws, h, COLLAB_WS_OP_TEXT, "x", 1), COLLAB_ESTATE);
	ck_assert_int_eq(collab_wsconn_ping(&F.ws, h, "pp", 2), 0);
	ck_assert_int_eq(collab_wsconn_send_frame(&F.ws, h, COLLAB_WS_OP_CONT, 1, "cd", 2), 0);
	ck_assert_int_eq(collab_wsconn_send_frame(&F.ws, h, COLLAB_WS_OP_CONT, 1, "x", 1), COLLAB_ESTATE);
	wait_cli_msgs(2);
	ck_assert_int_eq(F.cli.op, COLLAB_WS_OP_BINARY);
	ck_assert_uint_eq(F.cli.len, 4);
	ck_assert_int_eq(memcmp(F.cli.msg, "abcd", 4), 0);
	/* a client cannot send pre-framed shared buffers */
	ck_assert_int_eq(collab_wsconn_send_shared(&F.ws, h, NULL), COLLAB_EINVAL);
	/* 1 MiB each way */
	ck_assert_int_eq(collab_wsconn_send(&F.ws, h, COLLAB_WS_OP_BINARY, big, 1 << 20), 0);
	wait_cli_msgs(3);
	ck_assert_uint_eq(F.cli.len, 1u << 20);
	ck_assert_int_eq(memcmp(F.cli.msg, big, 1 << 20), 0);
	ck_assert_uint_eq(F.srv.len, 1u << 20);
	free(big);
	/* the client closes: the server echoes, both report */
	ck_assert_int_eq(collab_wsconn_close(&F.ws, h, 4000, "done", 4), 0);
	for (int k = 0; k < 3000 && (F.cli.closes == 0 || collab_wsctx_count(&F.ws)); k++)
		turn(2);
	ck_assert_int_eq(F.cli.closes, 1);
	ck_assert_uint_eq(F.cli.ci.code, 4000);
	ck_assert_uint_eq(F.cli.ci.sent_code, 4000);
	ck_assert_int_eq(F.srv.closes, 1);
	ck_assert_uint_eq(F.srv.ci.code, 4000);
	ck_assert_str_eq(F.srv.reason, "done");
	expect_no_conns();
}

static struct collab_wsctx_config big_cfg(void)
{
	struct collab_wsctx_config cfg;

	collab_wsctx_config_init(&cfg);
	cfg.server_max_message = 2u << 20;
	cfg.queue_limit = 4u << 20;
	return cfg;
}

START_TEST(test_client_role_plain)
{
	struct collab_wsctx_config cfg = big_cfg();
	char url[64];
	struct collab_wsconn_handle h;

	fx_stop();
	fx_start(&cfg);
	F.srv.mode = REQ_PROTO;
	snprintf(url, sizeof(url), "ws://127.0.0.1:%u/ws?a=b", F.l.port);
	h = client_connect(url, NULL, "x.v0, collab.v1");
	ck_assert_int_eq(F.cli.opens, 1);
	ck_assert_str_eq(F.cli.proto, "collab.v1");
	ck_assert_int_eq(F.srv.opens, 1);
	client_exchange(h);
}
END_TEST

START_TEST(test_client_role_refused)
{
	char url[64];

	F.srv.mode = REQ_REJECT503;
	snprintf(url, sizeof(url), "ws://localhost:%u/", F.l.port);
	(void)client_connect(url, NULL, NULL);
	ck_assert_int_eq(F.cli.opens, 0);
	ck_assert_int_eq(F.cli.closes, 1);
	ck_assert_int_eq(F.cli.ci.err, COLLAB_EHANDSHAKE);
	ck_assert_uint_eq(F.cli.ci.http_status, 503);
	expect_no_conns();
	/* nobody listening: connect fails, reported */
	F.cli.closes = 0;
	collab_wsconn_unlisten(&F.l);
	(void)client_connect(url, NULL, NULL);
	ck_assert_int_eq(F.cli.closes, 1);
	ck_assert_int_eq(F.cli.ci.err, COLLAB_EIO);
	ck_assert_uint_eq(F.cli.ci.code, COLLAB_WS_CLOSE_ABNORMAL);
	expect_no_conns();
	/* bad URLs and wss:// without TLS are refused at once */
	{
		struct collab_wsconn_handle h;

		ck_assert_int_eq(collab_wsconn_connect(&F.ws, "http://x/", 9, NULL, &F.chd, NULL, &h),
				 COLLAB_ESYNTAX);
		ck_assert_int_eq(collab_wsconn_connect(&F.ws, "wss://x/", 8, NULL, &F.chd, NULL, &h),
				 COLLAB_EINVAL);
	}
}
END_TEST

/* ---- tests: source addresses of client connections (cfg.client_bind) -------------- */

static struct sockaddr_storage v4(const char *a, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)(void *)&ss;

	memset(&ss, 0, sizeof(ss));
	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	ck_assert_int_eq(inet_pton(AF_INET, a, &s4->sin_addr), 1);
	return ss;
}

/* The local (peer 0) or remote (peer 1) IPv4 address and port of the
 * connection h. */
static uint16_t conn_addr(struct collab_wsctx *ws, struct collab_wsconn_handle h,
			  int peer, char out[INET_ADDRSTRLEN])
{
	struct collab_wsconn *c = collab_wsconn_get(ws, h);
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(peer ? getpeername(collab_wsconn_fd(c), (struct sockaddr *)&sa, &sl)
			      : getsockname(collab_wsconn_fd(c), (struct sockaddr *)&sa, &sl), 0);
	ck_assert_int_eq(sa.sin_family, AF_INET);
	ck_assert_ptr_nonnull(inet_ntop(AF_INET, &sa.sin_addr, out, INET_ADDRSTRLEN));
	return ntohs(sa.sin_port);
}

static void close_client(struct collab_wsconn_handle h)
{
	ck_assert_int_eq(collab_wsconn_close(&F.ws, h, 1000, NULL, 0), 0);
	expect_no_conns();
}

START_TEST(test_client_bind_round_robin)
{
	static const char *const want[] = { "127.0.0.2", "127.0.0.3", "127.0.0.2", "127.0.0.3" };
	static struct sockaddr_storage src[2];
	struct collab_wsctx_config cfg;
	struct collab_wsconn_handle h;
	char url[64], local[INET_ADDRSTRLEN], peer[INET_ADDRSTRLEN];
	uint16_t lport, pport;
	size_t i;

	src[0] = v4("127.0.0.2", 0);
	src[1] = v4("127.0.0.3", 0);
	fx_stop();
	collab_wsctx_config_init(&cfg);
	cfg.client_bind = src;
	cfg.n_client_bind = 2;
	fx_start(&cfg);
	snprintf(url, sizeof(url), "ws://127.0.0.1:%u/", F.l.port);
	for (i = 0; i < ARRAY_LEN(want); i++) {
		F.cli.opens = F.srv.opens = F.cli.closes = F.srv.closes = 0;
		h = client_connect(url, NULL, NULL);
		ck_assert_int_eq(F.cli.opens, 1);
		ck_assert_int_eq(F.srv.opens, 1);
		/* the client's socket is bound to the entry, with a port
		 * the kernel picked; the server sees that very address */
		lport = conn_addr(&F.ws, h, 0, local);
		ck_assert_str_eq(local, want[i]);
		ck_assert_uint_ne(lport, 0);
		pport = conn_addr(&F.ws, F.srv.h, 1, peer);
		ck_assert_str_eq(peer, want[i]);
		ck_assert_uint_eq(pport, lport);
		close_client(h);
	}
}
END_TEST

START_TEST(test_client_bind_errors)
{
	static struct sockaddr_storage src[1], odd;
	struct collab_wsctx_config cfg;
	struct collab_wsconn_handle h, h2;
	struct collab_wsctx ws;
	char url[64], local[INET_ADDRSTRLEN];
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	uint16_t port;
	int fd;

	snprintf(url, sizeof(url), "ws://127.0.0.1:%u/", F.l.port);
	/* refused at init: entries without an array, an entry that is no
	 * IPv4 or IPv6 address */
	collab_wsctx_config_init(&cfg);
	cfg.n_client_bind = 1;
	ck_assert_int_eq(collab_wsctx_init(&ws, &F.loop, &cfg), COLLAB_EINVAL);
	memset(&odd, 0, sizeof(odd));
	odd.ss_family = AF_UNIX;
	cfg.client_bind = &odd;
	ck_assert_int_eq(collab_wsctx_init(&ws, &F.loop, &cfg), COLLAB_EINVAL);
	ck_assert_uint_eq(F.ta.live_blocks, F.base_blocks);

	/* an address that is not local: bind fails, the connect is refused
	 * at once, no callback runs */
	src[0] = v4("192.0.2.1", 0);
	cfg.client_bind = src;
	ck_assert_int_eq(collab_wsctx_init(&ws, &F.loop, &cfg), 0);
	errno = 0;
	ck_assert_int_eq(collab_wsconn_connect(&ws, url, strlen(url), NULL, &F.chd, NULL, &h),
			 COLLAB_EIO);
	ck_assert_int_eq(errno, EADDRNOTAVAIL);
	/* an IPv6 server cannot be reached from an IPv4 source */
	ck_assert_int_eq(collab_wsconn_connect(&ws, "ws://[::1]:9/", 13, NULL, &F.chd, NULL, &h),
			 COLLAB_EINVAL);
	ck_assert_uint_eq(collab_wsctx_count(&ws), 0);
	ck_assert_int_eq(F.cli.closes, 0);
	collab_wsctx_free(&ws);

	/* a fixed port is taken as given; while that connection lives, a
	 * second bind to the same address and port fails (EADDRINUSE) */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	src[0] = v4("127.0.0.4", 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&src[0], sizeof(struct sockaddr_in)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	src[0] = v4("127.0.0.4", port);
	collab_wsconn_unlisten(&F.l);
	collab_wsctx_free(&F.ws);
	ck_assert_int_eq(collab_wsctx_init(&F.ws, &F.loop, &cfg), 0);
	ck_assert_int_eq(collab_wsconn_listen(&F.l, &F.ws, "127.0.0.1:0", 11, &F.hd, NULL), 0);
	snprintf(url, sizeof(url), "ws://127.0.0.1:%u/", F.l.port);
	h = client_connect(url, NULL, NULL);
	ck_assert_int_eq(F.cli.opens, 1);
	ck_assert_uint_eq(conn_addr(&F.ws, h, 0, local), port);
	ck_assert_str_eq(local, "127.0.0.4");
	errno = 0;
	ck_assert_int_eq(collab_wsconn_connect(&F.ws, url, strlen(url), NULL, &F.chd, NULL, &h2),
			 COLLAB_EIO);
	ck_assert_int_eq(errno, EADDRINUSE);
	close_client(h);
}
END_TEST

static void on_open_user(struct collab_wsconn *c, struct collab_str proto)
{
	uint8_t *u = collab_wsconn_user(c);

	on_open(c, proto);
	ck_assert_ptr_nonnull(u);
	ck_assert_uint_eq((uintptr_t)u % 16, 0);
	for (int i = 0; i < 40; i++)
		ck_assert_uint_eq(u[i], 0);
	memset(u, 0xAB, 40);
}

START_TEST(test_user_bytes_and_close_all)
{
	struct collab_wsctx_config cfg;
	struct raw r, pre;
	struct collab_wsconn *c;

	fx_stop();
	collab_wsctx_config_init(&cfg);
	cfg.user_size = 40;
	fx_start(&cfg);
	F.hd.on_open = on_open_user;
	raw_open(&r);
	c = collab_wsconn_get(&F.ws, F.srv.h);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(((uint8_t *)collab_wsconn_user(c))[39], 0xAB);
	ck_assert_ptr_eq(collab_wsconn_app(c), &F.srv);
	ck_assert_ptr_eq(collab_wsconn_ctx(c), &F.ws);
	ck_assert_int_ge(collab_wsconn_fd(c), 0);
	ck_assert(!collab_wsconn_is_tls(c));
	/* one connection not yet upgraded */
	memset(&pre, 0, sizeof(pre));
	pre.fd = raw_connect();
	turns(3);
	ck_assert_uint_eq(collab_wsctx_count(&F.ws), 2);
	/* shutdown: 1001 to the open one, the other dropped */
	collab_wsctx_close_all(&F.ws, 1001);
	collab_wsctx_flush(&F.ws);
	raw_fill(&pre, 1, 100);
	ck_assert_int_eq(pre.eof, 1);
	{
		uint8_t pl[2] = { 0x03, 0xE9 };

		raw_frame(&r, 1, 8, pl, 2);
	}
	expect_close(&r, 1001);
	ck_assert_int_eq(F.srv.closes, 1);
	ck_assert_uint_eq(F.srv.ci.code, 1001);
	close(pre.fd);
	raw_close(&r);
	expect_no_conns();
}
END_TEST

/* Reads and throws away until EOF (pumping the server); returns the
 * byte count, what was buffered included. */
static size_t raw_drain_to_eof(struct raw *r)
{
	size_t total = r->len;
	int idle = 0;

	r->len = 0;
	while (!r->eof) {
		ssize_t n = recv(r->fd, r->buf, sizeof(r->buf), 0);

		if (n > 0) {
			total += (size_t)n;
			idle = 0;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			r->eof = 1;
			break;
		}
		turn(1);
		ck_assert_int_lt(++idle, 4000);
	}
	return total;
}

/* collab_wsctx_close_all() in every state a connection can be in: one
 * still in its handshake and one whose HTTP response is still queued are
 * dropped; an open one gets the close code; one already closing (our
 * close sent, the peer's awaited) and one lingering after its response
 * are left to end by themselves. */
START_TEST(test_close_all_every_state)
{
	struct raw ro, rc, rl, rr, rh;
	struct collab_wsconn_handle hc;
	struct frame f;
	size_t got;

	/* open */
	raw_open(&ro);
	/* closing: our close 1000 is out, the peer has not answered */
	F.srv.opens = 0;
	raw_open(&rc);
	hc = F.srv.h;
	ck_assert_int_eq(collab_wsconn_close(&F.ws, hc, 1000, "bye", 3), 0);
	collab_wsctx_flush(&F.ws);
	ck_assert_int_eq(raw_read_frame(&rc, &f), 1);
	ck_assert_int_eq(f.op, 8);
	raw_done_frame(&rc, &f);
	/* lingering: a 404 written, the server awaits our EOF */
	memset(&rl, 0, sizeof(rl));
	F.srv.mode = REQ_404;
	rl.fd = raw_connect();
	ck_assert_int_eq(raw_request(&rl, ""), 404);
	/* responding: 16 MiB of body queued behind a 4 KiB window */
	memset(&rr, 0, sizeof(rr));
	F.srv.mode = REQ_BIG;
	rr.fd = raw_connect_rcvbuf(4096);
	ck_assert_int_eq(raw_request(&rr, ""), 200);
	turns(3);
	/* handshake: connected, no request yet */
	memset(&rh, 0, sizeof(rh));
	rh.fd = raw_connect();
	turns(3);
	ck_assert_uint_eq(collab_wsctx_count(&F.ws), 5);
	ck_assert_int_eq(F.srv.closes, 0);

	collab_wsctx_close_all(&F.ws, 1001);
	collab_wsctx_flush(&F.ws);
	/* the handshake and the responding one are gone: EOF, and the
	 * response cut short */
	raw_fill(&rh, 1, 200);
	ck_assert_int_eq(rh.eof, 1);
	ck_assert_uint_eq(rh.len, 0);
	got = raw_drain_to_eof(&rr);
	ck_assert_uint_lt(got, BIG_BODY);
	ck_assert_uint_eq(collab_wsctx_count(&F.ws), 3);
	/* the closing one got no second close frame */
	raw_fill(&rc, 1, 50);
	ck_assert_uint_eq(rc.len, 0);
	ck_assert_int_eq(rc.eof, 0);
	/* the open one got 1001 */
	{
		uint8_t pl[2] = { 0x03, 0xE9 };

		raw_frame(&ro, 1, 8, pl, 2);
	}
	expect_close(&ro, 1001);
	/* the closing one ends with the peer's answer */
	{
		uint8_t pl[2] = { 0x03, 0xE8 };

		raw_frame(&rc, 1, 8, pl, 2);
	}
	raw_fill(&rc, 1, 4000);
	ck_assert_int_eq(rc.eof, 1);
	ck_assert_int_eq(F.srv.closes, 2);
	close(rh.fd);
	close(rr.fd);
	close(ro.fd);
	close(rc.fd);
	for (int i = 0; i < 200 && collab_wsctx_count(&F.ws) > 1; i++)
		turn(2);
	/* the lingering one was left alone: it ends with our EOF */
	ck_assert_uint_eq(collab_wsctx_count(&F.ws), 1);
	close(rl.fd);
	expect_no_conns();
}
END_TEST

/* A shared frame of n bytes: "\x81\x04" and four digits of i, or for
 * n > 10 a binary frame of n - 10 payload bytes 'B'. */
static struct collab_shbuf *shared_frame(unsigned i, size_t n)
{
	struct collab_shbuf *sb = collab_shbuf_new(&F.al, n);

	ck_assert_ptr_nonnull(sb);
	if (n == 6) {
		char d[5];

		snprintf(d, sizeof(d), "%04u", i);
		sb->data[0] = 0x81;
		sb->data[1] = 4;
		memcpy(sb->data + 2, d, 4);
	} else {
		sb->data[0] = 0x82;
		sb->data[1] = 127;
		for (int k = 0; k < 8; k++)
			sb->data[2 + k] = (uint8_t)((uint64_t)(n - 10) >> (56 - 8 * k));
		memset(sb->data + 10, 'B', n - 10);
	}
	return sb;
}

/* The write queue's ring grows while its head is not at slot 0 (the
 * entries wrap around the inline array), then again from an allocated
 * array: every frame still goes out once, in order. */
START_TEST(test_queue_ring_growth_wrapped)
{
	struct collab_wsctx_config cfg;
	struct collab_shbuf *sb;
	struct raw r;
	const size_t big = ((size_t)16 << 20) + 10;
	const unsigned nsmall = 40;
	size_t total, got, off;
	uint8_t *all;
	unsigned i;

	fx_stop();
	collab_wsctx_config_init(&cfg);
	cfg.queue_limit = (size_t)64 << 20;
	cfg.low_water = 0;
	fx_start(&cfg);
	memset(&r, 0, sizeof(r));
	r.fd = raw_connect_rcvbuf(4096);
	ck_assert_int_eq(raw_request(&r, ""), 101);
	raw_head_consume(&r);
	F.srv.echo = 0;
	/* three small frames and a big one: the small ones are written and
	 * leave the ring, the big one blocks at slot 3 */
	for (i = 0; i < 4; i++) {
		sb = shared_frame(i, i < 3 ? 6 : big);
		ck_assert_int_eq(collab_wsconn_send_shared(&F.ws, F.srv.h, sb), 0);
		collab_shbuf_unref(sb);
	}
	collab_wsctx_flush(&F.ws);
	ck_assert_uint_gt(collab_wsconn_queued(&F.ws, F.srv.h), 0);
	/* slots 0..2 fill behind it, then the ring grows 4 -> 8 -> 16 -> 32
	 * -> 64 */
	for (i = 3; i < 3 + nsmall; i++) {
		sb = shared_frame(i, 6);
		ck_assert_int_eq(collab_wsconn_send_shared(&F.ws, F.srv.h, sb), 0);
		collab_shbuf_unref(sb);
	}
	total = 3 * 6 + big + nsmall * 6;
	all = malloc(total + 1);
	ck_assert_ptr_nonnull(all);
	got = 0;
	for (int idle = 0; got < total; ) {
		ssize_t n = recv(r.fd, all + got, total + 1 - got, 0);

		if (n > 0) {
			got += (size_t)n;
			idle = 0;
		} else {
			ck_assert(n < 0 && errno == EAGAIN);
			turn(1);
			ck_assert_int_lt(++idle, 4000);
		}
	}
	ck_assert_uint_eq(got, total);
	off = 0;
	for (i = 0; i < 3 + nsmall; i++) {
		char d[5];

		if (i == 3) {
			ck_assert_uint_eq(all[off], 0x82);
			ck_assert_uint_eq(all[off + 10], 'B');
			ck_assert_uint_eq(all[off + big - 1], 'B');
			off += big;
		}
		snprintf(d, sizeof(d), "%04u", i);
		ck_assert_uint_eq(all[off], 0x81);
		ck_assert_int_eq(memcmp(all + off + 2, d, 4), 0);
		off += 6;
	}
	ck_assert_uint_eq(off, total);
	free(all);
	turns(2);
	ck_assert_uint_eq(collab_wsconn_queued(&F.ws, F.srv.h), 0);
	raw_close(&r);
	expect_no_conns();
}
END_TEST

static char certdir[64];

static int make_certs(void)
{
	char cmd[2048];

	snprintf(certdir, sizeof(certdir), "/tmp/check_wsconn.XXXXXX");
	if (mkdtemp(certdir) == NULL)
		return -1;
	snprintf(cmd, sizeof(cmd),
		 "cd %s && "
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
		 "-keyout ca.key -out ca.pem -days 2 -subj '/CN=wsconn test CA' "
		 "-addext basicConstraints=critical,CA:TRUE >/dev/null 2>&1 && "
		 "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
		 "-keyout s.p8 -out s.csr -subj /CN=localhost >/dev/null 2>&1 && "
		 "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > ext && "
		 "openssl x509 -req -in s.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
		 "-out s.pem -days 2 -extfile ext >/dev/null 2>&1 && "
		 "openssl ec -in s.p8 -out s.key >/dev/null 2>&1", certdir);
	return system(cmd);
}

START_TEST(test_client_role_tls)
{
	struct collab_wsctx_config cfg = big_cfg();
	struct collab_tls_server ts;
	struct collab_tls_client tc;
	char url[64], p1[128], p2[128], p3[128];
	struct collab_wsconn_handle h;
	const char *hosts[] = { "localhost", "127.0.0.1" };

	ck_assert_int_eq(make_certs(), 0);
	snprintf(p1, sizeof(p1), "%s/s.pem", certdir);
	snprintf(p2, sizeof(p2), "%s/s.key", certdir);
	snprintf(p3, sizeof(p3), "%s/ca.pem", certdir);
	fx_stop();
	fx_start(&cfg);
	ck_assert_int_eq(collab_tls_server_load(&ts, NULL, p1, p2, &F.al), 0);
	ck_assert_int_eq(collab_tls_client_load(&tc, NULL, p3, &F.al), 0);
	collab_wsconn_unlisten(&F.l);
	ck_assert_int_eq(collab_wsconn_listen(&F.l, &F.ws, "127.0.0.1:0", 11, &F.hd, &ts), 0);
	for (int k = 0; k < 2; k++) {
		memset(&F.cli, 0, offsetof(struct rec, msg));
		memset(&F.srv, 0, offsetof(struct rec, msg));
		F.srv.echo = 1;
		snprintf(url, sizeof(url), "wss://%s:%u/ws", hosts[k], F.l.port);
		h = client_connect(url, &tc, NULL);
		ck_assert_int_eq(F.cli.opens, 1);
		ck_assert_uint_eq(F.cli.proto_len, 0);
		ck_assert(collab_wsconn_is_tls(collab_wsconn_get(&F.ws, h)));
		client_exchange(h);
	}
	collab_wsconn_unlisten(&F.l);
	collab_tls_server_free(&ts);
	collab_tls_client_free(&tc);
	{
		char rm[128];

		snprintf(rm, sizeof(rm), "rm -rf %s", certdir);
		ck_assert_int_eq(system(rm), 0);
	}
}
END_TEST

/* ---- tests: allocator failures --------------------------------------------------------- */

START_TEST(test_ctx_init_alloc_failures)
{
	struct collab_wsctx ws;
	long b;
	int rc;

	for (b = 0; b < 4; b++) {
		F.ta.budget = b;
		rc = collab_wsctx_init(&ws, &F.loop, NULL);
		ck_assert_int_eq(rc, COLLAB_ENOMEM);
		ck_assert_uint_eq(F.ta.live_blocks, F.base_blocks);
	}
	F.ta.budget = -1;
	ck_assert_int_eq(collab_wsctx_init(&ws, &F.loop, NULL), 0);
	collab_wsctx_free(&ws);
}
END_TEST

/* Every allocation of a connection's life fails in turn: the server must
 * neither crash nor leak, and keep serving. */
START_TEST(test_conn_alloc_failures)
{
	long budget;
	uint8_t f[64];
	size_t n;

	for (budget = 0; budget < 12; budget++) {
		struct raw r;
		char req[512];
		int len = snprintf(req, sizeof(req), REQ_FMT, "");

		memset(&r, 0, sizeof(r));
		memset(&F.srv, 0, offsetof(struct rec, msg));
		F.srv.echo = 1;
		r.fd = raw_connect();
		F.ta.budget = budget;
		/* head in two parts (head block), a message in two parts
		 * (receive block), echo (send block) */
		raw_send(&r, req, 20);
		turns(2);
		raw_send(&r, req + 20, (size_t)len - 20);
		turns(2);
		n = mkframe(f, 1, 0, 1, (const uint8_t *)"split message", 13, 1, 0);
		raw_send(&r, f, 9);
		turns(2);
		raw_send(&r, f + 9, n - 9);
		turns(4);
		raw_fill(&r, sizeof(r.buf), 20);
		F.ta.budget = -1;
		close(r.fd);
		expect_no_conns();
		ck_assert_int_eq(F.srv.closes, F.srv.opens);
	}
	/* still serving */
	{
		struct raw r;

		memset(&F.srv, 0, offsetof(struct rec, msg));
		F.srv.echo = 1;
		raw_open(&r);
		raw_frame(&r, 1, 1, "fine", 4);
		expect_message(&r, 1, "fine", 4);
		raw_close(&r);
	}
}
END_TEST

START_TEST(test_send_alloc_failure)
{
	struct collab_wsctx_config cfg;
	struct raw r;

	/* no pooled send block: its own allocation is what fails */
	fx_stop();
	collab_wsctx_config_init(&cfg);
	cfg.tx_pool_max = 0;
	fx_start(&cfg);
	raw_open(&r);
	F.ta.budget = 0;
	ck_assert_int_eq(collab_wsconn_send(&F.ws, F.srv.h, COLLAB_WS_OP_TEXT, "x", 1), COLLAB_ENOMEM);
	F.ta.budget = 1; /* the send block, not the chunk */
	ck_assert_int_eq(collab_wsconn_send(&F.ws, F.srv.h, COLLAB_WS_OP_TEXT, "x", 1), COLLAB_ENOMEM);
	ck_assert_uint_eq(collab_wsconn_queued(&F.ws, F.srv.h), 0);
	F.ta.budget = -1;
	ck_assert_int_eq(collab_wsconn_send(&F.ws, F.srv.h, COLLAB_WS_OP_TEXT, "y", 1), 0);
	expect_message(&r, 1, "y", 1);
	F.ta.budget = 0;
	ck_assert_int_eq(collab_wsconn_close(&F.ws, F.srv.h, 1000, NULL, 0), COLLAB_ENOMEM);
	F.ta.budget = -1;
	raw_fill(&r, 1, 100);
	ck_assert_int_eq(r.eof, 1);
	close(r.fd);
	expect_no_conns();
}
END_TEST

START_TEST(test_parse_addr)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	static const char *good[] = { "127.0.0.1:0", "0.0.0.0:8080", "[::1]:65535", "localhost:1", "*:80" };
	static const char *bad[] = { "", ":80", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536",
				     "127.0.0.1:8x", "example.com:80", "[::1:80", "1.2.3:4" };
	size_t i;

	for (i = 0; i < ARRAY_LEN(good); i++)
		ck_assert_msg(collab_wsconn_parse_addr(good[i], strlen(good[i]), &ss, &sl) == 0,
			      "%s", good[i]);
	for (i = 0; i < ARRAY_LEN(bad); i++)
		ck_assert_msg(collab_wsconn_parse_addr(bad[i], strlen(bad[i]), &ss, &sl) ==
			      COLLAB_ESYNTAX, "%s", bad[i]);
}
END_TEST

/* ---- the send block pool ----------------------------------------------------- */

/* 1 + n sends to an idle connection, each written at once and fully
 * read; returns the allocations the last n made (the first one warms up:
 * the context's flush list, a first send block). The connection is idle
 * again after each (no send block held: live blocks, pooled ones aside,
 * are back to the count after the first). */
static size_t sends_drained(struct raw *r, int n)
{
	size_t a0 = 0, idle = 0;
	char m[16];
	int i, len;

	for (i = 0; i <= n; i++) {
		len = snprintf(m, sizeof(m), "m%d", i);
		ck_assert_int_eq(collab_wsconn_send(&F.ws, F.srv.h, COLLAB_WS_OP_TEXT,
						    m, (size_t)len), 0);
		collab_wsctx_flush(&F.ws);
		ck_assert_uint_eq(collab_wsconn_queued(&F.ws, F.srv.h), 0);
		if (i == 0)
			idle = F.ta.live_blocks - F.ws.tx_pool_len;
		ck_assert_uint_eq(F.ta.live_blocks - F.ws.tx_pool_len, idle);
		expect_message(r, 1, m, (size_t)len);
		if (i == 0)
			a0 = F.ta.allocs;
	}
	return F.ta.allocs - a0;
}

START_TEST(test_tx_pool_reuse)
{
	struct raw r;

	ck_assert_uint_eq(F.ws.cfg.tx_pool_max, COLLAB_WSCONN_TX_POOL_MAX);
	raw_open(&r);
	/* each send: its chunk only; the send block comes from the pool */
	ck_assert_uint_eq(sends_drained(&r, 50), 50);
	ck_assert_uint_eq(F.ws.tx_pool_len, 1);
	/* a pooled block taken by a send whose chunk fails goes back */
	F.ta.budget = 0;
	ck_assert_int_eq(collab_wsconn_send(&F.ws, F.srv.h, COLLAB_WS_OP_TEXT, "x", 1), COLLAB_ENOMEM);
	F.ta.budget = -1;
	ck_assert_uint_eq(F.ws.tx_pool_len, 1);
	ck_assert_uint_eq(collab_wsconn_queued(&F.ws, F.srv.h), 0);
	raw_close(&r);
	expect_no_conns();
}
END_TEST

START_TEST(test_tx_pool_disabled)
{
	struct collab_wsctx_config cfg;
	struct raw r;

	fx_stop();
	collab_wsctx_config_init(&cfg);
	cfg.tx_pool_max = 0;
	fx_start(&cfg);
	raw_open(&r);
	ck_assert_uint_eq(F.ws.tx_pool_len, 0);
	/* a send block and a chunk per send, none kept */
	ck_assert_uint_eq(sends_drained(&r, 20), 40);
	ck_assert_uint_eq(F.ws.tx_pool_len, 0);
	raw_close(&r);
	expect_no_conns();
}
END_TEST

/* Four connections hold a send block at the same time; the pool keeps
 * at most cap of them afterwards. */
static const size_t pool_caps[] = { 0, 1, 3, 4, COLLAB_WSCONN_TX_POOL_MAX };

START_TEST(test_tx_pool_cap)
{
	struct collab_wsctx_config cfg;
	struct collab_wsconn_handle h[4];
	struct raw r[4];
	size_t cap = pool_caps[_i], want = cap < 4 ? cap : 4, live;
	int i;

	fx_stop();
	collab_wsctx_config_init(&cfg);
	cfg.tx_pool_max = cap;
	fx_start(&cfg);
	for (i = 0; i < 4; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].fd = raw_connect();
		ck_assert_int_eq(raw_request(&r[i], ""), 101);
		raw_head_consume(&r[i]);
		ck_assert_int_eq(F.srv.opens, i + 1);
		h[i] = F.srv.h;
	}
	turns(2);
	ck_assert_uint_le(F.ws.tx_pool_len, want);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(collab_wsconn_send(&F.ws, h[i], COLLAB_WS_OP_TEXT, "fan", 3), 0);
	live = F.ta.live_blocks + F.ws.tx_pool_len;
	ck_assert_uint_eq(F.ws.tx_pool_len, 0);
	collab_wsctx_flush(&F.ws);
	ck_assert_uint_eq(F.ws.tx_pool_len, want);
	/* four chunks and four blocks gone, of which want blocks pooled */
	ck_assert_uint_eq(F.ta.live_blocks, live - 8 + want);
	for (i = 0; i < 4; i++)
		expect_message(&r[i], 1, "fan", 3);
	for (i = 0; i < 4; i++)
		close(r[i].fd);
	expect_no_conns();
	ck_assert_uint_eq(F.ws.tx_pool_len, want);
	/* fx_stop: collab_wsctx_free() gives every pooled block back (the
	 * counting allocator balances) */
}
END_TEST

START_TEST(test_tx_pool_skips_grown_block)
{
	struct raw r;
	uint8_t *big = malloc(3000);
	size_t pooled;
	int i;

	ck_assert_ptr_nonnull(big);
	raw_open(&r);
	sends_drained(&r, 0);
	pooled = F.ws.tx_pool_len;
	ck_assert_uint_ge(pooled, 1);
	/* six entries of their own (each past one chunk): the ring grows
	 * past its inline capacity */
	for (i = 0; i < 6; i++) {
		memset(big, 'a' + i, 3000);
		ck_assert_int_eq(collab_wsconn_send(&F.ws, F.srv.h, COLLAB_WS_OP_BINARY,
						    big, 3000), 0);
	}
	ck_assert_uint_eq(F.ws.tx_pool_len, pooled - 1);
	collab_wsctx_flush(&F.ws);
	for (i = 0; i < 6; i++) {
		memset(big, 'a' + i, 3000);
		expect_message(&r, 2, big, 3000);
	}
	ck_assert_uint_eq(collab_wsconn_queued(&F.ws, F.srv.h), 0);
	/* freed, not pooled */
	ck_assert_uint_eq(F.ws.tx_pool_len, pooled - 1);
	/* a small send after it pools again */
	sends_drained(&r, 0);
	ck_assert_uint_eq(F.ws.tx_pool_len, pooled);
	free(big);
	raw_close(&r);
	expect_no_conns();
}
END_TEST

static Suite *wsconn_suite(void)
{
	Suite *s = suite_create("wsconn");
	TCase *tc = tcase_create("server");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, fx_default, fx_stop);
	tcase_add_test(tc, test_echo_zero_copy_and_idle_memory);
	tcase_add_test(tc, test_idle_connection_is_one_small_block);
	tcase_add_test(tc, test_head_split_and_pipelined_frame);
	tcase_add_loop_test(tc, test_http_rejections, 0, ARRAY_LEN(http_cases));
	tcase_add_test(tc, test_http_431);
	tcase_add_test(tc, test_on_request_decisions);
	tcase_add_loop_test(tc, test_protocol_errors, 0, ARRAY_LEN(perrs));
	tcase_add_loop_test(tc, test_peer_close_echoed, 0, ARRAY_LEN(pcloses));
	tcase_add_test(tc, test_handshake_timeout);
	tcase_add_test(tc, test_ping_then_idle_timeout);
	tcase_add_test(tc, test_close_timeout);
	tcase_add_test(tc, test_close_timeout_resets_slow_consumer);
	tcase_add_test(tc, test_close_handshake_by_server);
	tcase_add_test(tc, test_fragments_and_interleaved_pings);
	tcase_add_test(tc, test_queue_limit_and_drain);
	tcase_add_test(tc, test_shared_buffer_refcounts);
	tcase_add_test(tc, test_handle_staleness);
	tcase_add_test(tc, test_user_bytes_and_close_all);
	tcase_add_test(tc, test_close_all_every_state);
	tcase_add_test(tc, test_queue_ring_growth_wrapped);
	tcase_add_test(tc, test_client_role_plain);
	tcase_add_test(tc, test_client_role_refused);
	tcase_add_test(tc, test_client_bind_round_robin);
	tcase_add_test(tc, test_client_bind_errors);
	tcase_add_test(tc, test_client_role_tls);
	tcase_add_test(tc, test_ctx_init_alloc_failures);
	tcase_add_test(tc, test_conn_alloc_failures);
	tcase_add_test(tc, test_send_alloc_failure);
	tcase_add_test(tc, test_parse_addr);
	tcase_add_test(tc, test_tx_pool_reuse);
	tcase_add_test(tc, test_tx_pool_disabled);
	tcase_add_loop_test(tc, test_tx_pool_cap, 0, ARRAY_LEN(pool_caps));
	tcase_add_test(tc, test_tx_pool_skips_grown_block);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(wsconn_suite());
	int failed;

	signal(SIGPIPE, SIG_IGN);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
