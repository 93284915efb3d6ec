/* collab-bench: per-connection bookkeeping (conn.h). */
#include <stdio.h>
#include <string.h>

#include "collab/jwt.h"
#include "collab-bench/conn.h"
#include "collab-bench/publish.h"

#define TOKEN_TTL_S         3600u

static void note_close(struct worker *w, const struct collab_client_close_info *ci)
{
	size_t i;

	if (ci == NULL)
		return;
	for (i = 0; i < NCLOSE_KINDS; i++) {
		struct close_kind *k = &w->closes[i];

		if (k->n == 0) {
			k->code = ci->code;
			k->http = ci->http_status;
			k->err = ci->err;
		}
		if (k->code == ci->code && k->http == ci->http_status &&
		    k->err == ci->err) {
			k->n++;
			return;
		}
	}
	w->closes_other++;
}

void bench_note_op_err(struct worker *w, int rc)
{
	size_t i;

	inc(&w->st.op_fail, 1);
	for (i = 0; i < sizeof(w->op_errs) / sizeof(w->op_errs[0]); i++) {
		if (w->op_err_n[i] == 0)
			w->op_errs[i] = rc;
		if (w->op_errs[i] == rc) {
			w->op_err_n[i]++;
			return;
		}
	}
}

/* A seq seen by x (an event or its own ack): continuity per connection. */
static void see_seq(struct conn *x, uint64_t seq)
{
	struct worker *w = x->w;

	if (!x->synced_once)
		return;
	if (seq <= x->last_seq) {
		inc(&w->st.ooo, 1);
		return;
	}
	if (seq != x->last_seq + 1)
		inc(&w->st.lost, seq - x->last_seq - 1);
	x->last_seq = seq;
	if (seq > x->rm->max_seq)
		x->rm->max_seq = seq;
}

/* Latency of an event sent at sent: into h when measured (h may be NULL),
 * and into the progress interval. */
static void record_latency(struct worker *w, struct hist *h, uint64_t sent, bool measured)
{
	uint64_t now = clock_ns(bench.o.clock), d = now > sent ? now - sent : 0;
	uint64_t cur;

	if (measured && h)
		hist_add(h, d);
	if (h != &w->lat)
		return;
	inc(&w->st.iv_sum, d);
	inc(&w->st.iv_n, 1);
	cur = atomic_load_explicit(&w->st.iv_max, memory_order_relaxed);
	while (d > cur && !atomic_compare_exchange_weak_explicit(
				  &w->st.iv_max, &cur, d, memory_order_relaxed,
				  memory_order_relaxed))
		;
}

/* ---- client callbacks ------------------------------------------------------------ */

static void on_state(struct collab_client *c, enum collab_client_state st,
		     const struct collab_client_close_info *ci)
{
	struct conn *x = collab_client_ctx(c);
	struct worker *w = x->w;
	uint64_t now;

	switch (st) {
	case COLLAB_CLIENT_LIVE:
		if (!x->live) {
			x->live = true;
			inc(&w->st.live, 1);
		}
		if (!x->ever_live) {
			x->ever_live = true;
			inc(&w->st.ever_live, 1);
			w->connecting--;
			now = mono_ns();
			hist_add(&w->conn_ms, now - x->start_ns);
			atomic_store_explicit(&w->st.last_live_ns, now, memory_order_relaxed);
			if (x->publisher && !w->stopping) {
				int rc = bench_publish_create(x);

				if (rc != 0)
					bench_note_op_err(w, rc);
			}
		}
		break;
	case COLLAB_CLIENT_RECONNECTING:
		if (w->stopping)
			break;
		note_close(w, ci);
		if (x->live) {
			x->live = false;
			atomic_fetch_sub_explicit(&w->st.live, 1, memory_order_relaxed);
			inc(&w->st.reconnects, 1);
		} else if (!x->ever_live) {
			inc(&w->st.connect_retries, 1);
		}
		break;
	case COLLAB_CLIENT_AUTH_FAILED:
	case COLLAB_CLIENT_CLOSED:
		if (x->live) {
			x->live = false;
			atomic_fetch_sub_explicit(&w->st.live, 1, memory_order_relaxed);
		}
		if (w->stopping)
			break;
		note_close(w, ci);
		if (!x->dead) {
			x->dead = true;
			inc(&w->st.dead, 1);
			if (!x->ever_live)
				w->connecting--;
		}
		break;
	default:
		break;
	}
}

static void on_token(struct collab_client *c)
{
	struct conn *x = collab_client_ctx(c);
	struct worker *w = x->w;
	struct collab_json_writer jw;
	char sub[32];
	size_t plen = 0, tlen = 0;
	int n, rc;

	if (bench.tenant == NULL)
		return;
	n = snprintf(sub, sizeof(sub), "bench-%u", x->idx);
	collab_json_writer_init(&jw, w->payload, sizeof(w->payload));
	collab_json_write_obj_begin(&jw);
	collab_json_write_key(&jw, COLLAB_JSON_LIT("sub"));
	collab_json_write_str(&jw, sub, (size_t)n);
	collab_json_write_key(&jw, COLLAB_JSON_LIT("tenantId"));
	collab_json_write_str(&jw, bench.tenant->id, bench.tenant->id_len);
	collab_json_write_key(&jw, COLLAB_JSON_LIT("exp"));
	collab_json_write_u64(&jw, collab_loop_wall_ms() / 1000 + TOKEN_TTL_S);
	collab_json_write_obj_end(&jw);
	rc = collab_json_writer_finish(&jw, &plen);
	if (rc == 0)
		rc = collab_jwt_sign(NULL, bench.tenant->secret, bench.tenant->secret_len,
				     w->payload, plen, w->nodes, w->n_nodes,
				     w->tok, w->tok_cap, &tlen);
	if (rc == 0)
		rc = collab_client_set_token(c, w->tok, tlen);
	if (rc != 0)
		bench_note_op_err(w, rc);
}

static void on_welcome(struct collab_client *c, const struct collab_proto_welcome_view *wv)
{
	struct conn *x = collab_client_ctx(c);

	if (x->synced_once && wv->resync == COLLAB_PROTO_RESYNC_SNAPSHOT)
		inc(&x->w->st.snapshot_resyncs, 1);
}

static void on_synced(struct collab_client *c, uint64_t seq)
{
	struct conn *x = collab_client_ctx(c);
	struct worker *w = x->w;

	if (!x->synced_once) {
		x->synced_once = true;
	} else if (seq < x->last_seq) {
		inc(&w->st.ooo, 1);  /* the room's history went back */
	} else if (seq > x->last_seq) {
		inc(&w->st.lost, seq - x->last_seq);  /* skipped by a snapshot */
	}
	x->last_seq = seq;
	if (!x->rm->seen || seq > x->rm->max_seq)
		x->rm->max_seq = seq;
	x->rm->seen = true;
}

static void on_event(struct collab_client *c, const struct collab_proto_server_msg *m,
		     const struct collab_proto_event_view *ev)
{
	struct conn *x = collab_client_ctx(c);
	struct worker *w = x->w;
	uint64_t sent;
	bool measured;

	see_seq(x, ev->seq);
	inc(&w->st.deliveries_all, 1);
	if (!bench_parse_stamp(bench_event_text(m, ev), &sent, &measured)) {
		inc(&w->st.foreign, 1);  /* not one of ours */
		return;
	}
	record_latency(w, &w->lat, sent, measured);
	if (measured)
		inc(&w->st.deliveries, 1);
}

static void on_ack(struct collab_client *c, struct collab_str bid,
		   const struct collab_proto_event_view *ev)
{
	struct conn *x = collab_client_ctx(c);
	struct worker *w = x->w;
	uint64_t sent;
	bool measured;

	(void)bid;
	if (ev->seq > x->last_seq)
		see_seq(x, ev->seq);
	if (bench_parse_stamp(bench_event_text(NULL, ev), &sent, &measured) && measured) {
		record_latency(w, &w->ack, sent, true);
		inc(&w->st.acked, 1);
	}
}

static void on_reject(struct collab_client *c, struct collab_str bid,
		      enum collab_proto_err code, struct collab_str message)
{
	struct conn *x = collab_client_ctx(c);

	(void)bid;
	(void)message;
	inc(&x->w->st.rejected, 1);
	x->w->rejections[(unsigned)code < 8 ? (unsigned)code : 0]++;
}

static void on_error(struct collab_client *c, const struct collab_proto_error_view *e)
{
	struct conn *x = collab_client_ctx(c);

	(void)e;
	inc(&x->w->st.errors, 1);
}

/* ---- starting a connection -------------------------------------------------------- */

void bench_start_conn(struct worker *w, struct conn *x)
{
	struct collab_client_config cfg;
	struct collab_client_handlers hd;
	char url_id[160], url[COLLAB_CLIENT_MAX_URL];
	size_t ulen = 0;
	int n, rc;

	collab_client_config_init(&cfg);
	cfg.keep_room = false;          /* the local copy costs; nothing reads it */
	cfg.ops_per_second = 0;         /* our own schedule paces */
	cfg.max_own_ids = x->publisher ? 64 : 1;
	cfg.rng = &w->rng;
	cfg.tls = w->has_tls ? &w->tls : NULL;
	if (bench.o.origin)
		cfg.origin = (struct collab_str){ bench.o.origin, strlen(bench.o.origin) };
	memset(&hd, 0, sizeof(hd));
	hd.on_state = on_state;
	hd.on_token = on_token;
	hd.on_welcome = on_welcome;
	hd.on_synced = on_synced;
	hd.on_event = on_event;
	hd.on_ack = on_ack;
	hd.on_reject = on_reject;
	hd.on_error = on_error;
	hd.ctx = x;
	n = snprintf(url_id, sizeof(url_id), "%s%u", bench.prefix, x->rm->id);
	rc = n > 0 && (size_t)n < sizeof(url_id) ? 0 : COLLAB_ELIMIT;
	if (rc == 0)
		rc = collab_client_build_url((struct collab_str){ bench.o.url, strlen(bench.o.url) },
					     (struct collab_str){ bench.tenant_id, strlen(bench.tenant_id) },
					     (struct collab_str){ url_id, (size_t)n },
					     url, sizeof(url), &ulen);
	if (rc == 0)
		rc = collab_client_init(&x->c, &w->ws, &cfg, &hd);
	if (rc == 0) {
		x->inited = true;
		if (bench.o.token)
			rc = collab_client_set_token(&x->c, bench.o.token, strlen(bench.o.token));
	}
	x->start_ns = mono_ns();
	w->connecting++;
	if (rc == 0)
		rc = collab_client_start(&x->c, url, ulen);
	if (rc != 0) {
		bench_note_op_err(w, rc);
		x->dead = true;
		inc(&w->st.dead, 1);
		w->connecting--;
	}
}
