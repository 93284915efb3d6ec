/*
 * collab-echo - a WebSocket echo server on libcollab, for conformance
 * suites and benchmarks: every message comes back with its type.
 *
 *   collab-echo --listen ADDR:PORT [--tls-cert PEM --tls-key PEM]
 *               [--max-message BYTES]
 *
 * Prints "listening ws://ADDR:PORT" (or wss://) with the bound port as its
 * first line on stdout. On SIGINT or SIGTERM it stops listening, closes
 * every connection with 1001 and exits 0 once they are gone (or after a
 * short grace period).
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "collab/loop.h"
#include "collab/tls.h"
#include "collab/wsconn.h"

#define DEFAULT_MAX_MESSAGE ((uint64_t)16 * 1024 * 1024)
/* Queue room beyond two echoes of the largest message. */
#define QUEUE_SLACK ((size_t)1024 * 1024)
/* Time given to clients to answer our 1001 before exiting anyway. */
#define GRACE_MS 2000u

struct echo {
	struct collab_loop loop;
	struct collab_wsctx ws;
	struct collab_wsconn_listener lst;
	struct collab_signal sigint, sigterm;
	struct collab_timer grace;
	int stopping;
};

/* Returns what fputs() does: EOF when f cannot be written. */
static int usage(FILE *f)
{
	return fputs("usage: collab-echo --listen ADDR:PORT [--tls-cert PEM --tls-key PEM]\n"
	      "                   [--max-message BYTES]\n"
	      "\n"
	      "A WebSocket echo server: every text or binary message is sent back\n"
	      "with its type. ADDR is an IPv4 address, [IPv6], localhost or *; PORT 0\n"
	      "picks a free port. The first stdout line is 'listening ws://ADDR:PORT'\n"
	      "(wss:// with --tls-cert/--tls-key). --max-message: largest message\n"
	      "accepted, default 16777216 (larger ones get close 1009). SIGINT or\n"
	      "SIGTERM: close every connection with 1001 and exit 0.\n", f);
}

static int parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	size_t i, n = strlen(s);

	if (n == 0 || n > 19)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

static void maybe_done(struct echo *e)
{
	if (e->stopping && collab_wsctx_count(&e->ws) == 0)
		collab_loop_stop(&e->loop);
}

static void on_message(struct collab_wsconn *c, enum collab_ws_opcode op,
		       const uint8_t *p, size_t len)
{
	struct collab_wsctx *ctx = collab_wsconn_ctx(c);
	struct collab_wsconn_handle h = collab_wsconn_handle(c);
	int rc = collab_wsconn_send(ctx, h, op, p, len);

	/* A peer that sends without reading: slow consumer (1013). */
	if (rc == COLLAB_EQUEUE)
		(void)collab_wsconn_abort(ctx, h, COLLAB_WS_CLOSE_TRY_AGAIN_LATER);
	else if (rc == COLLAB_ENOMEM)
		(void)collab_wsconn_abort(ctx, h, COLLAB_WS_CLOSE_INTERNAL_ERROR);
}

static void on_close(struct collab_wsconn *c,
		     const struct collab_wsconn_close_info *ci)
{
	(void)ci;
	maybe_done(collab_wsconn_app(c));
}

static void on_grace(struct collab_loop *loop, struct collab_timer *t)
{
	struct echo *e = t->ctx;

	collab_wsctx_drop_all(&e->ws);
	collab_loop_stop(loop);
}

static void on_signal(struct collab_loop *loop, struct collab_signal *s)
{
	struct echo *e = s->ctx;

	if (e->stopping)
		return;
	e->stopping = 1;
	collab_wsconn_unlisten(&e->lst);
	collab_wsctx_close_all(&e->ws, COLLAB_WS_CLOSE_GOING_AWAY);
	collab_wsctx_flush(&e->ws);
	if (collab_loop_timer_arm(loop, &e->grace, GRACE_MS) != 0)
		collab_loop_stop(loop);
	/* Connections still closing end through on_close; the last
	 * one stops the loop. */
	maybe_done(e);
}

int main(int argc, char **argv)
{
	static struct echo e;
	struct collab_wsconn_handlers hd;
	struct collab_wsctx_config cfg;
	struct collab_tls_server tls;
	const char *listen_addr = NULL, *cert = NULL, *key = NULL;
	uint64_t max_message = DEFAULT_MAX_MESSAGE;
	int i, rc, status = 1, has_tls = 0;
	size_t alen, hostlen;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			/* --help whose text went nowhere is a failure. */
			if (usage(stdout) == EOF || fflush(stdout) != 0)
				return 1;
			return 0;
		}
		if (strcmp(a, "--listen") != 0 && strcmp(a, "--tls-cert") != 0 &&
		    strcmp(a, "--tls-key") != 0 && strcmp(a, "--max-message") != 0) {
			(void)fprintf(stderr, "collab-echo: unknown argument %s\n", a);
			(void)usage(stderr);
			return 2;
		}
		if (i + 1 >= argc) {
			(void)fprintf(stderr, "collab-echo: %s needs a value\n", a);
			(void)usage(stderr);
			return 2;
		}
		if (strcmp(a, "--listen") == 0) {
			listen_addr = argv[++i];
		} else if (strcmp(a, "--tls-cert") == 0) {
			cert = argv[++i];
		} else if (strcmp(a, "--tls-key") == 0) {
			key = argv[++i];
		} else {
			if (parse_u64(argv[++i], &max_message) != 0 ||
			    max_message == 0 || max_message > ((uint64_t)1 << 31)) {
				(void)fprintf(stderr, "collab-echo: bad --max-message %s\n",
					      argv[i]);
				return 2;
			}
		}
	}
	if (listen_addr == NULL || (cert == NULL) != (key == NULL)) {
		(void)usage(stderr);
		return 2;
	}
	if (cert) {
		rc = collab_tls_server_load(&tls, NULL, cert, key, NULL);
		if (rc != 0) {
			(void)fprintf(stderr, "collab-echo: TLS: %s (%s)\n",
				      collab_tls_server_why(&tls), collab_strerror(rc));
			return 1;
		}
		has_tls = 1;
	}
	if (collab_loop_init(&e.loop, NULL) != 0) {
		(void)fprintf(stderr, "collab-echo: cannot create the event loop\n");
		goto out_tls;
	}
	collab_wsctx_config_init(&cfg);
	cfg.server_max_message = max_message;
	/* Room for a few echoes of the largest message in flight. With a
	 * 32-bit size_t, 2 GiB * 2 would wrap: saturate instead. */
	if (max_message > (SIZE_MAX - QUEUE_SLACK) / 2)
		cfg.queue_limit = SIZE_MAX;
	else
		cfg.queue_limit = (size_t)max_message * 2 + QUEUE_SLACK;
	rc = collab_wsctx_init(&e.ws, &e.loop, &cfg);
	if (rc != 0) {
		(void)fprintf(stderr, "collab-echo: %s\n", collab_strerror(rc));
		goto out_loop;
	}
	memset(&hd, 0, sizeof(hd));
	hd.on_message = on_message;
	hd.on_close = on_close;
	hd.ctx = &e;
	alen = strlen(listen_addr);
	rc = collab_wsconn_listen(&e.lst, &e.ws, listen_addr, alen, &hd,
				  has_tls ? &tls : NULL);
	if (rc != 0) {
		(void)fprintf(stderr, "collab-echo: cannot listen on %s: %s\n",
			      listen_addr, collab_strerror(rc));
		goto out_ws;
	}
	collab_loop_timer_init(&e.grace, on_grace, &e);
	if (collab_loop_signal(&e.loop, &e.sigint, SIGINT, on_signal, &e) != 0 ||
	    collab_loop_signal(&e.loop, &e.sigterm, SIGTERM, on_signal, &e) != 0) {
		(void)fprintf(stderr, "collab-echo: cannot handle signals\n");
		goto out_listen;
	}
	for (hostlen = alen; hostlen > 0 && listen_addr[hostlen - 1] != ':'; hostlen--)
		;
	/* Whoever started us learns the port from this line only: if it
	 * cannot be written, serving would wait for nobody. */
	if (printf("listening %s://%.*s:%u\n", has_tls ? "wss" : "ws",
		   (int)(hostlen ? hostlen - 1 : 0), listen_addr,
		   (unsigned)e.lst.port) < 0 || fflush(stdout) != 0) {
		(void)fprintf(stderr, "collab-echo: cannot write to stdout\n");
		goto out_listen;
	}
	status = collab_loop_run(&e.loop) == 0 ? 0 : 1;
out_listen:
	collab_wsconn_unlisten(&e.lst);
out_ws:
	collab_loop_timer_cancel(&e.loop, &e.grace);
	collab_wsctx_free(&e.ws);
out_loop:
	collab_loop_free(&e.loop);
out_tls:
	if (has_tls)
		collab_tls_server_free(&tls);
	return status;
}
