/* collab-bench: the worker thread (worker.h). */
#include <stdlib.h>
#include <string.h>

#include "collab/jwt.h"
#include "collab-bench/conn.h"
#include "collab-bench/publish.h"
#include "collab-bench/worker.h"

#define TICK_MS             10u        /* a worker's housekeeping period */
#define DRAIN_CHECK_MS      100u
#define CLOSE_WAIT_MS       5000u      /* closing handshakes at the end */

/* Operations still unanswered, and whether every live connection holds
 * its room's highest seq. */
static bool drained(struct worker *w)
{
	size_t i;

	for (i = 0; i < w->n_conns; i++) {
		struct conn *x = w->conns[i];

		if (!x->inited || x->dead)
			continue;
		if (collab_client_pending(&x->c) != 0 || !x->live ||
		    x->last_seq < x->rm->max_seq)
			return false;
	}
	return true;
}

/* At the end: each connection's shortfall against its room, operations
 * never answered, connections not live. */
static void finish_counts(struct worker *w)
{
	size_t i;

	for (i = 0; i < w->n_conns; i++) {
		struct conn *x = w->conns[i];

		if (x->synced_once && x->last_seq < x->rm->max_seq)
			inc(&w->st.lost, x->rm->max_seq - x->last_seq);
		if (x->inited)
			inc(&w->st.unanswered, collab_client_pending(&x->c));
		if (!x->live)
			inc(&w->st.not_live_at_end, 1);
	}
}

static bool all_closed(struct worker *w)
{
	size_t i;

	for (i = 0; i < w->n_conns; i++) {
		struct conn *x = w->conns[i];
		enum collab_client_state s;

		if (!x->inited)
			continue;
		s = collab_client_state(&x->c);
		if (s != COLLAB_CLIENT_CLOSED && s != COLLAB_CLIENT_AUTH_FAILED &&
		    s != COLLAB_CLIENT_IDLE)
			return false;
	}
	return true;
}

static void on_tick(struct collab_loop *loop, struct collab_timer *t)
{
	struct worker *w = t->ctx;
	int ph = phase();
	uint64_t now = collab_loop_now(loop);
	size_t i;

	while (w->next_start < w->n_conns && w->connecting < w->max_connecting &&
	       ph < PH_DRAIN)
		bench_start_conn(w, w->conns[w->next_start++]);
	if (ph != w->phase_seen) {
		if ((ph == PH_WARMUP || ph == PH_MEASURE) && w->phase_seen < PH_WARMUP &&
		    bench.o.rate) {
			uint64_t t0 = mono_ns();

			for (i = 0; i < w->n_conns; i++) {
				struct conn *x = w->conns[i];
				uint32_t r = 0;

				if (!x->publisher)
					continue;
				(void)collab_rng_below(&w->rng, UINT32_MAX, &r);
				/* a random phase within one interval */
				x->due_ns = t0 + (uint64_t)((double)bench.interval_ns *
							     ((double)r / (double)UINT32_MAX));
				collab_loop_timer_init(&x->pub, bench_on_pub, x);
				(void)collab_loop_timer_arm(loop, &x->pub,
							    (x->due_ns - t0) / 1000000);
			}
		}
		if (ph == PH_DONE) {
			finish_counts(w);
			w->stopping = true;
			w->close_started = now;
			for (i = 0; i < w->n_conns; i++) {
				if (w->conns[i]->inited)
					collab_client_close(&w->conns[i]->c);
				collab_loop_timer_cancel(loop, &w->conns[i]->pub);
			}
		}
		w->phase_seen = ph;
	}
	if (ph == PH_DRAIN && now - w->last_drain_check >= DRAIN_CHECK_MS) {
		w->last_drain_check = now;
		atomic_store_explicit(&w->st.drained, drained(w), memory_order_relaxed);
	}
	if (ph == PH_DONE && (all_closed(w) || now - w->close_started > CLOSE_WAIT_MS)) {
		collab_loop_stop(loop);
		return;
	}
	(void)collab_loop_timer_arm(loop, t, TICK_MS);
}

void *bench_worker_main(void *arg)
{
	struct worker *w = arg;
	size_t i;

	w->phase_seen = PH_CONNECT;
	collab_loop_timer_init(&w->tick, on_tick, w);
	if (collab_loop_timer_arm(&w->loop, &w->tick, 0) == 0 &&
	    collab_loop_run(&w->loop) != 0)
		bench_fail("worker %u: the event loop failed", w->id);
	for (i = 0; i < w->n_conns; i++) {
		collab_loop_timer_cancel(&w->loop, &w->conns[i]->pub);
		if (w->conns[i]->inited)
			collab_client_free(&w->conns[i]->c);
	}
	collab_loop_timer_cancel(&w->loop, &w->tick);
	atomic_store_explicit(&w->st.finished, 1, memory_order_release);
	return NULL;
}

int bench_worker_setup(struct worker *w, uint32_t id)
{
	struct collab_wsctx_config wc;
	int rc;

	w->id = id;
	if (hist_init(&w->lat) || hist_init(&w->ack) || hist_init(&w->conn_ms) ||
	    hist_init(&w->lag))
		return COLLAB_ENOMEM;
	w->n_nodes = COLLAB_JSON_NODES_FOR(PAYLOAD_CAP);
	w->nodes = calloc(w->n_nodes, sizeof(*w->nodes));
	w->tok_cap = collab_jwt_signed_len(PAYLOAD_CAP);
	w->tok = malloc(w->tok_cap);
	if (w->nodes == NULL || w->tok == NULL)
		return COLLAB_ENOMEM;
	rc = collab_rng_init(&w->rng);
	if (rc != 0)
		return rc;
	rc = collab_loop_init(&w->loop, NULL);
	if (rc != 0)
		return rc;
	w->loop_ok = true;
	collab_wsctx_config_init(&wc);
	wc.client_bind = bench.sources;
	wc.n_client_bind = bench.n_sources;
	wc.rng = &w->rng;
	rc = collab_wsctx_init(&w->ws, &w->loop, &wc);
	if (rc != 0)
		return rc;
	w->ws_ok = true;
	if (strncmp(bench.o.url, "wss://", 6) == 0) {
		rc = collab_tls_client_load(&w->tls, NULL, bench.o.ca, NULL);
		if (rc != 0) {
			bench_fail("trust anchors: %s", collab_tls_client_why(&w->tls));
			return rc;
		}
		w->has_tls = true;
	}
	return 0;
}

void bench_worker_free(struct worker *w)
{
	if (w->ws_ok)
		collab_wsctx_free(&w->ws);
	if (w->loop_ok)
		collab_loop_free(&w->loop);
	if (w->has_tls)
		collab_tls_client_free(&w->tls);
	collab_rng_wipe(&w->rng);
	hist_free(&w->lat);
	hist_free(&w->ack);
	hist_free(&w->conn_ms);
	hist_free(&w->lag);
	free(w->nodes);
	free(w->tok);
	free(w->conns);
	free(w->rooms);
}
