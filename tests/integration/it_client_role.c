/*
 * it_client_role - the client role of libcollab's wsconn against an
 * independent WebSocket echo server (test_client_role.py runs Python's
 * websockets as that server).
 *
 *   it_client_role URL [--ca PEM] [--protocol NAME] [--origin ORIGIN]
 *
 * Connects, then in order: a text message, a binary message of every byte
 * value, a 1 MiB binary and a 1 MiB text message, a text message sent in
 * three fragments with pings between them, an empty message, twenty
 * pipelined messages; each echo is checked (type and bytes). Then closes
 * with 1000 and checks that the server echoed the close. With --protocol
 * the server must select that subprotocol. Exits 0 when everything
 * matched, 1 otherwise (a message on stderr says what).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collab/loop.h"
#include "collab/tls.h"
#include "collab/wsconn.h"

#define BIG (1u << 20)
#define PIPELINED 20
#define DEADLINE_MS 30000u

struct expect {
	enum collab_ws_opcode op;
	const uint8_t *p;
	size_t len;
};

struct it {
	struct collab_loop loop;
	struct collab_wsctx ws;
	struct collab_timer deadline;
	struct collab_wsconn_handle h;
	const char *want_proto;
	struct expect exp[64];
	size_t nexp, got;
	uint8_t *big, *bigtext, all[256];
	char pipe[PIPELINED][32];
	int step, failed, closed;
};

static struct it T;

static void fail(const char *what)
{
	fprintf(stderr, "it_client_role: FAIL: %s (step %d)\n", what, T.step);
	T.failed = 1;
	collab_loop_stop(&T.loop);
}

static void expect(enum collab_ws_opcode op, const void *p, size_t len)
{
	if (T.nexp == sizeof(T.exp) / sizeof(T.exp[0])) {
		fail("too many expectations");
		return;
	}
	T.exp[T.nexp].op = op;
	T.exp[T.nexp].p = p;
	T.exp[T.nexp].len = len;
	T.nexp++;
}

static void send_msg(enum collab_ws_opcode op, const void *p, size_t len)
{
	int rc = collab_wsconn_send(&T.ws, T.h, op, p, len);

	if (rc != 0) {
		fprintf(stderr, "send: %s\n", collab_strerror(rc));
		fail("send");
		return;
	}
	expect(op, p, len);
}

/* Each step sends something; the step advances when every echo came. */
static void next_step(void)
{
	int rc, i;

	T.step++;
	T.nexp = T.got = 0;
	switch (T.step) {
	case 1:
		send_msg(COLLAB_WS_OP_TEXT, "hello, websockets \xe2\x82\xac", 21);
		break;
	case 2:
		send_msg(COLLAB_WS_OP_BINARY, T.all, sizeof(T.all));
		break;
	case 3:
		send_msg(COLLAB_WS_OP_BINARY, T.big, BIG);
		send_msg(COLLAB_WS_OP_TEXT, T.bigtext, BIG);
		break;
	case 4:
		rc = collab_wsconn_send_frame(&T.ws, T.h, COLLAB_WS_OP_TEXT, 0, "frag", 4);
		if (rc == 0)
			rc = collab_wsconn_ping(&T.ws, T.h, "p1", 2);
		if (rc == 0)
			rc = collab_wsconn_send_frame(&T.ws, T.h, COLLAB_WS_OP_CONT, 0, "men", 3);
		if (rc == 0)
			rc = collab_wsconn_ping(&T.ws, T.h, NULL, 0);
		if (rc == 0)
			rc = collab_wsconn_send_frame(&T.ws, T.h, COLLAB_WS_OP_CONT, 1, "ted", 3);
		if (rc != 0)
			fail("fragmented send");
		expect(COLLAB_WS_OP_TEXT, "fragmented", 10);
		break;
	case 5:
		send_msg(COLLAB_WS_OP_TEXT, "", 0);
		send_msg(COLLAB_WS_OP_BINARY, "", 0);
		break;
	case 6:
		for (i = 0; i < PIPELINED; i++) {
			int n = snprintf(T.pipe[i], sizeof(T.pipe[i]), "pipelined %d", i);

			send_msg(i % 2 ? COLLAB_WS_OP_BINARY : COLLAB_WS_OP_TEXT,
				 T.pipe[i], (size_t)n);
		}
		break;
	default:
		rc = collab_wsconn_close(&T.ws, T.h, 1000, "done", 4);
		if (rc != 0)
			fail("close");
		break;
	}
}

static void on_open(struct collab_wsconn *c, struct collab_str proto)
{
	(void)c;
	if (T.want_proto &&
	    !collab_str_eq(proto, T.want_proto, strlen(T.want_proto))) {
		fail("subprotocol not selected");
		return;
	}
	if (!T.want_proto && proto.len) {
		fail("a subprotocol selected though none was offered");
		return;
	}
	fprintf(stderr, "it_client_role: open%s%.*s\n", proto.len ? ", subprotocol " : "",
		(int)proto.len, proto.p);
	next_step();
}

static void on_message(struct collab_wsconn *c, enum collab_ws_opcode op,
		       const uint8_t *p, size_t len)
{
	const struct expect *e;

	(void)c;
	if (T.got >= T.nexp) {
		fail("unexpected message");
		return;
	}
	e = &T.exp[T.got++];
	if (op != e->op || len != e->len || (len && memcmp(p, e->p, len) != 0)) {
		fprintf(stderr, "got op %d len %zu, want op %d len %zu\n", (int)op, len,
			(int)e->op, e->len);
		fail("echo differs");
		return;
	}
	if (T.got == T.nexp)
		next_step();
}

static void on_close(struct collab_wsconn *c, const struct collab_wsconn_close_info *ci)
{
	(void)c;
	T.closed = 1;
	fprintf(stderr, "it_client_role: closed: code %u reason '%.*s' sent %u err %s http %u\n",
		ci->code, (int)ci->reason.len, ci->reason.p ? ci->reason.p : "",
		ci->sent_code, ci->err ? collab_strerror(ci->err) : "none",
		ci->http_status);
	if (T.step < 7)
		fail("closed before the script ended");
	else if (ci->code != 1000 || ci->err != 0 || ci->sent_code != 1000)
		fail("the close handshake did not echo 1000");
	collab_loop_stop(&T.loop);
}

static void on_deadline(struct collab_loop *loop, struct collab_timer *t)
{
	(void)loop;
	(void)t;
	fail("deadline passed");
}

int main(int argc, char **argv)
{
	struct collab_wsconn_handlers hd;
	struct collab_wsconn_connect_opts o;
	struct collab_tls_client tls;
	struct collab_wsctx_config cfg;
	const char *url = NULL, *ca = NULL;
	int i, rc, has_tls = 0;

	memset(&o, 0, sizeof(o));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--ca") == 0 && i + 1 < argc) {
			ca = argv[++i];
		} else if (strcmp(argv[i], "--protocol") == 0 && i + 1 < argc) {
			T.want_proto = argv[++i];
			o.protocols.p = T.want_proto;
			o.protocols.len = strlen(T.want_proto);
		} else if (strcmp(argv[i], "--origin") == 0 && i + 1 < argc) {
			o.origin.p = argv[++i];
			o.origin.len = strlen(argv[i]);
		} else if (url == NULL) {
			url = argv[i];
		} else {
			fprintf(stderr, "usage: it_client_role URL [--ca PEM] [--protocol P] [--origin O]\n");
			return 2;
		}
	}
	if (url == NULL) {
		fprintf(stderr, "usage: it_client_role URL [--ca PEM] [--protocol P] [--origin O]\n");
		return 2;
	}
	T.big = malloc(BIG);
	T.bigtext = malloc(BIG);
	if (!T.big || !T.bigtext)
		return 1;
	for (i = 0; i < (int)BIG; i++) {
		T.big[i] = (uint8_t)(i * 31 + (i >> 8));
		T.bigtext[i] = (uint8_t)('a' + i % 26);
	}
	for (i = 0; i < 256; i++)
		T.all[i] = (uint8_t)i;
	if (ca) {
		rc = collab_tls_client_load(&tls, NULL, ca, NULL);
		if (rc != 0) {
			fprintf(stderr, "CA: %s\n", collab_tls_client_why(&tls));
			return 1;
		}
		has_tls = 1;
	}
	collab_wsctx_config_init(&cfg);
	cfg.queue_limit = 4 * BIG; /* two 1 MiB messages in flight */
	if (collab_loop_init(&T.loop, NULL) != 0 ||
	    collab_wsctx_init(&T.ws, &T.loop, &cfg) != 0) {
		fprintf(stderr, "init failed\n");
		return 1;
	}
	memset(&hd, 0, sizeof(hd));
	hd.on_open = on_open;
	hd.on_message = on_message;
	hd.on_close = on_close;
	rc = collab_wsconn_connect(&T.ws, url, strlen(url), &o, &hd,
				   has_tls ? &tls : NULL, &T.h);
	if (rc != 0) {
		fprintf(stderr, "connect %s: %s\n", url, collab_strerror(rc));
		return 1;
	}
	collab_loop_timer_init(&T.deadline, on_deadline, NULL);
	collab_loop_timer_arm(&T.loop, &T.deadline, DEADLINE_MS);
	collab_loop_run(&T.loop);
	collab_loop_timer_cancel(&T.loop, &T.deadline);
	collab_wsctx_free(&T.ws);
	collab_loop_free(&T.loop);
	if (has_tls)
		collab_tls_client_free(&tls);
	free(T.big);
	free(T.bigtext);
	if (!T.closed && !T.failed)
		fail("never closed");
	if (!T.failed)
		fprintf(stderr, "it_client_role: all %d steps passed\n", T.step);
	return T.failed ? 1 : 0;
}
