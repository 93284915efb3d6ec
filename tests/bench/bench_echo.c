/*
 * bench_echo.c - WebSocket echo throughput of libcollab over loopback,
 * both ends on the library: a server loop in one thread (as collab-echo),
 * the clients' loop in the main thread. Each client keeps a window of
 * messages in flight and sends a new one for every echo.
 *
 *   bench_echo [CONNS [SIZE [SECONDS [WINDOW]]]]    (default 50 64 3 16)
 *
 * Prints "bench NAME VALUE UNIT" lines (tests/bench/run.sh): messages
 * echoed per second and MB/s of payload each way.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collab/loop.h"
#include "collab/wsconn.h"

struct server {
	struct collab_loop loop;
	struct collab_wsctx ws;
	struct collab_wsconn_listener l;
	struct collab_wsconn_handlers hd;
	pthread_t th;
	volatile int stop;
};

static void srv_message(struct collab_wsconn *c, enum collab_ws_opcode op,
			const uint8_t *p, size_t len)
{
	(void)collab_wsconn_send(collab_wsconn_ctx(c), collab_wsconn_handle(c), op, p, len);
}

static void srv_wake(struct collab_loop *loop)
{
	collab_loop_stop(loop);
}

static void *srv_run(void *arg)
{
	struct server *s = arg;

	collab_loop_run(&s->loop);
	return NULL;
}

static struct {
	struct collab_loop loop;
	struct collab_wsctx ws;
	struct collab_wsconn_handlers hd;
	uint8_t *payload;
	size_t size, window;
	uint64_t echoed;
	int opened, measuring;
} C;

static void cli_open(struct collab_wsconn *c, struct collab_str proto)
{
	(void)proto;
	C.opened++;
	for (size_t i = 0; i < C.window; i++)
		(void)collab_wsconn_send(collab_wsconn_ctx(c), collab_wsconn_handle(c),
					 COLLAB_WS_OP_BINARY, C.payload, C.size);
}

static void cli_message(struct collab_wsconn *c, enum collab_ws_opcode op,
			const uint8_t *p, size_t len)
{
	(void)op;
	(void)p;
	(void)len;
	if (C.measuring)
		C.echoed++;
	(void)collab_wsconn_send(collab_wsconn_ctx(c), collab_wsconn_handle(c),
				 COLLAB_WS_OP_BINARY, C.payload, C.size);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t arg(int argc, char **argv, int i, size_t def)
{
	size_t v = 0;
	const char *s;

	if (argc <= i)
		return def;
	for (s = argv[i]; *s >= '0' && *s <= '9'; s++)
		v = v * 10 + (size_t)(*s - '0');
	return v ? v : def;
}

int main(int argc, char **argv)
{
	static struct server S;
	struct collab_loop_config lc;
	struct collab_wsctx_config cfg;
	size_t conns = arg(argc, argv, 1, 50), secs;
	char url[64];
	double t0, t1;

	C.size = arg(argc, argv, 2, 64);
	secs = arg(argc, argv, 3, 3);
	C.window = arg(argc, argv, 4, 16);
	C.payload = calloc(1, C.size);
	if (C.payload == NULL)
		return 1;
	collab_loop_config_init(&lc);
	lc.on_wake = srv_wake;
	collab_wsctx_config_init(&cfg);
	cfg.server_max_message = cfg.client_max_message = C.size + 1;
	cfg.queue_limit = (C.size + 16) * C.window * 4 + 4096;
	cfg.low_water = cfg.queue_limit / 4;
	if (collab_loop_init(&S.loop, &lc) != 0 || collab_wsctx_init(&S.ws, &S.loop, &cfg) != 0)
		return 1;
	S.hd.on_message = srv_message;
	if (collab_wsconn_listen(&S.l, &S.ws, "127.0.0.1:0", 11, &S.hd, NULL) != 0)
		return 1;
	if (collab_loop_init(&C.loop, NULL) != 0 || collab_wsctx_init(&C.ws, &C.loop, &cfg) != 0)
		return 1;
	if (pthread_create(&S.th, NULL, srv_run, &S) != 0) {
		(void)fprintf(stderr, "bench_echo: cannot start the server thread\n");
		return 1;
	}
	C.hd.on_open = cli_open;
	C.hd.on_message = cli_message;
	(void)snprintf(url, sizeof(url), "ws://127.0.0.1:%u/", S.l.port);
	for (size_t i = 0; i < conns; i++) {
		struct collab_wsconn_handle h;

		if (collab_wsconn_connect(&C.ws, url, strlen(url), NULL, &C.hd, NULL, &h) != 0)
			return 1;
	}
	t0 = now_s();
	while ((size_t)C.opened < conns && now_s() - t0 < 10)
		collab_loop_run_once(&C.loop, 10);
	if ((size_t)C.opened < conns) {
		/* A figure over fewer connections would not compare. */
		(void)fprintf(stderr, "bench_echo: %d of %zu connections opened\n",
			      C.opened, conns);
		return 1;
	}
	/* warm up, then measure */
	t0 = now_s();
	while (now_s() - t0 < 0.5)
		collab_loop_run_once(&C.loop, 10);
	C.measuring = 1;
	t0 = now_s();
	while ((t1 = now_s()) - t0 < (double)secs)
		collab_loop_run_once(&C.loop, 10);
	C.measuring = 0;
	printf("bench echo_lib_%zuconns_%zuB_window%zu %.0f msg/s\n", conns, C.size,
	       C.window, (double)C.echoed / (t1 - t0));
	printf("bench echo_lib_%zuconns_%zuB_window%zu_payload %.1f MB/s\n", conns,
	       C.size, C.window, (double)C.echoed * (double)C.size / (t1 - t0) / 1e6);
	collab_wsctx_free(&C.ws);
	collab_loop_free(&C.loop);
	collab_loop_wake(&S.loop);
	pthread_join(S.th, NULL);
	collab_wsconn_unlisten(&S.l);
	collab_wsctx_free(&S.ws);
	collab_loop_free(&S.loop);
	free(C.payload);
	return 0;
}
