/*
 * server.c - collab-server's process: start, the end of a loop turn
 * (commit, then broadcast), signals and a clean stop. See server.h.
 */
#include "server.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "admin.h"
#include "collab/base64.h"
#include "collab/json.h"
#include "session.h"

/* ---- logging ----------------------------------------------------------------- */

void srv_log(const struct srv_server *srv, enum srv_config_log_level lvl,
	     const char *fmt, ...)
{
	static const char *const names[] = { "error", "info", "debug" };
	struct timespec ts;
	struct tm tm;
	char line[1024];
	va_list ap;

	if (srv != NULL && srv->cfg != NULL && lvl > srv->cfg->log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	va_start(ap, fmt);
	(void)vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	(void)fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ collab-server %s: %s\n",
		tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L,
		names[lvl <= SRV_CONFIG_LOG_DEBUG ? lvl : SRV_CONFIG_LOG_DEBUG],
		line);
}

bool srv_log_allow(struct srv_server *srv)
{
	uint64_t now = collab_loop_now(&srv->loop) / 1000;

	if (now != srv->log_window) {
		if (srv->log_dropped)
			srv_log(srv, SRV_CONFIG_LOG_INFO,
				"%u more rejected upgrades not logged",
				srv->log_dropped);
		srv->log_window = now;
		srv->log_lines = 0;
		srv->log_dropped = 0;
	}
	if (srv->log_lines >= SRV_SERVER_LOG_BURST) {
		srv->log_dropped++;
		return false;
	}
	srv->log_lines++;
	return true;
}

const char *srv_log_clean(const char *s, size_t len, char *out, size_t cap)
{
	size_t i, n = 0;

	if (cap == 0)
		return out;
	for (i = 0; i < len && n + 1 < cap; i++) {
		unsigned char ch = (unsigned char)s[i];
		out[n++] = (ch < 0x20 || ch > 0x7e || ch == '"' || ch == '\\')
				   ? '?' : (char)ch;
	}
	out[n] = 0;
	return out;
}

/* ---- the turn ---------------------------------------------------------------- */

void srv_server_limits(const struct srv_tenant *t, struct srv_ops_limits *lim)
{
	srv_ops_limits_init(lim);
	lim->max_chats_per_room = t->max_chats_per_room;
	lim->max_comments_per_chat = t->max_comments_per_chat;
}

int srv_server_parse_mem(struct srv_server *srv, size_t len,
			 struct collab_proto_mem *mem)
{
	size_t nodes = COLLAB_JSON_NODES_FOR(len);
	size_t scratch = collab_proto_scratch_size(&srv->pcfg, len);
	void *p;

	if (nodes > srv->nodes_cap) {
		if (nodes > SIZE_MAX / sizeof(*srv->nodes))
			return COLLAB_ENOMEM;
		p = srv->a->alloc(srv->a->ctx, nodes * sizeof(*srv->nodes));
		if (p == NULL)
			return COLLAB_ENOMEM;
		if (srv->nodes)
			srv->a->free(srv->a->ctx, srv->nodes,
				     srv->nodes_cap * sizeof(*srv->nodes));
		srv->nodes = p;
		srv->nodes_cap = nodes;
	}
	if (scratch == SIZE_MAX)
		return COLLAB_ENOMEM;
	if (scratch > srv->scratch_cap) {
		p = srv->a->alloc(srv->a->ctx, scratch);
		if (p == NULL)
			return COLLAB_ENOMEM;
		if (srv->scratch)
			srv->a->free(srv->a->ctx, srv->scratch, srv->scratch_cap);
		srv->scratch = p;
		srv->scratch_cap = scratch;
	}
	mem->nodes = srv->nodes;
	mem->max_nodes = srv->nodes_cap;
	mem->scratch = srv->scratch;
	mem->scratch_cap = srv->scratch_cap;
	return 0;
}

int srv_server_pend(struct srv_server *srv, struct collab_wsconn_handle h,
		    struct srv_room *room, struct srv_tenant *tenant,
		    const struct srv_ops_result *res, const char *bid)
{
	struct srv_pending *np, *e;
	size_t cap;

	if (srv->n_pend == srv->cap_pend) {
		cap = srv->cap_pend ? srv->cap_pend * 2 : 64;
		if (cap > SIZE_MAX / sizeof(*np))
			return COLLAB_ENOMEM;
		np = srv->a->alloc(srv->a->ctx, cap * sizeof(*np));
		if (np == NULL)
			return COLLAB_ENOMEM;
		if (srv->n_pend)
			memcpy(np, srv->pend, srv->n_pend * sizeof(*np));
		if (srv->pend)
			srv->a->free(srv->a->ctx, srv->pend,
				     srv->cap_pend * sizeof(*np));
		srv->pend = np;
		srv->cap_pend = cap;
	}
	e = &srv->pend[srv->n_pend++];
	e->h = h;
	e->room = room;
	e->tenant = tenant;
	e->outcome = res->outcome;
	e->pending = res->pending;
	e->event = collab_shbuf_ref(res->event);
	memcpy(e->bid, bid, SRV_CHAT_ID_LEN);
	return 0;
}

void srv_server_journal_event(struct srv_server *srv, struct srv_room *room,
			      const struct collab_shbuf *ev)
{
	int rc;

	if (!srv->journal_ok || srv->doomed)
		return;
	rc = srv_persist_event(srv, room, ev->data, ev->len);
	if (rc != 0) {
		srv->doomed = true;
		srv_log(srv, SRV_CONFIG_LOG_QUIET,
			"journal: cannot append an event (%s)%s%s: this turn's "
			"operations are refused", collab_strerror(rc),
			srv_journal_message(&srv->journal)[0] ? ": " : "",
			srv_journal_message(&srv->journal));
	}
}

void srv_server_commit(struct srv_server *srv)
{
	struct srv_metrics_tenant *mt;
	struct srv_pending *e;
	bool ok = true;
	size_t i;
	int rc;

	if (srv->n_pend == 0 && srv_ops_turn_size(&srv->turn) == 0) {
		if (srv->doomed && srv->journal_ok)
			srv_journal_discard(&srv->journal);
		srv->doomed = false;
		return;
	}
	/* PROTOCOL.md 8: the turn's operations go to stable storage with
	 * one commit before any of them is broadcast. */
	if (srv->doomed) {
		if (srv->journal_ok)
			srv_journal_discard(&srv->journal);
		ok = false;
	} else if (srv->journal_ok) {
		rc = srv_journal_commit(&srv->journal);
		if (rc != 0) {
			ok = false;
			srv_log(srv, SRV_CONFIG_LOG_QUIET,
				"journal: commit failed (%s): %s; %zu operations "
				"refused with unavailable", collab_strerror(rc),
				srv_journal_message(&srv->journal),
				srv_ops_turn_size(&srv->turn));
		}
	}
	if (ok)
		srv_ops_turn_commit(&srv->turn);
	else
		srv_ops_turn_rollback(&srv->turn);
	for (i = 0; i < srv->n_pend; i++) {
		e = &srv->pend[i];
		mt = srv_metrics_tenant(&srv->metrics, e->tenant);
		if (e->outcome == SRV_OPS_APPLIED) {
			if (ok) {
				if (mt)
					srv_metrics_on_op(mt, SRV_METRICS_ACCEPTED);
				(void)srv_fanout_add_event(&srv->fanout, e->room,
							   e->event);
			} else {
				if (mt)
					srv_metrics_on_op(mt, SRV_METRICS_UNAVAILABLE);
				srv_session_send_error(srv, e->h, e->bid,
					COLLAB_PROTO_ERR_UNAVAILABLE,
					"the server cannot make it durable now");
			}
		} else if (ok || !e->pending) {
			/* PROTOCOL.md 4: the original event, to the sender
			 * alone; neither an operation nor a rejection */
			srv_session_send_event(srv, e->h, e->event);
		} else {
			if (mt)
				srv_metrics_on_op(mt, SRV_METRICS_UNAVAILABLE);
			srv_session_send_error(srv, e->h, e->bid,
				COLLAB_PROTO_ERR_UNAVAILABLE,
				"the server cannot make it durable now");
		}
		collab_shbuf_unref(e->event);
		e->event = NULL;
	}
	srv->n_pend = 0;
	srv->doomed = false;
}

static void on_turn(struct collab_loop *loop, struct collab_hook *h)
{
	struct srv_server *srv = h->ctx;

	srv_server_commit(srv);
	srv_fanout_flush(&srv->fanout, srv->stopping);
	/* PROTOCOL.md 4: the turn's 1008s after its broadcast; the user
	 * counts of the rooms they leave go out in this turn too */
	if (srv_session_close_policy(srv) > 0)
		srv_fanout_flush(&srv->fanout, srv->stopping);
	/* after the broadcasts (room.h) */
	(void)srv_room_registry_collect(&srv->rooms);
	if (srv->compact_due) {
		srv->compact_due = false;
		srv_persist_maybe_compact(srv);
	}
	collab_wsctx_flush(&srv->ws);
	if (srv->stopping && collab_wsctx_count(&srv->ws) == 0)
		collab_loop_stop(loop);
}

static void on_tick(struct collab_loop *loop, struct collab_timer *t)
{
	struct srv_server *srv = t->ctx;
	uint64_t now = collab_loop_now(loop);

	if (srv->journal_ok &&
	    srv_journal_tick(&srv->journal, now) != 0) {
		srv_log(srv, SRV_CONFIG_LOG_QUIET, "journal: sync failed: %s",
			srv_journal_message(&srv->journal));
		/* events already sent were cut from the file: rewrite it
		 * from memory at the end of this turn (persist.c) */
		srv->compact_due = true;
	}
	if (now - srv->last_compact_check >= SRV_SERVER_COMPACT_CHECK_MS) {
		srv->last_compact_check = now;
		srv->compact_due = true;
	}
	(void)collab_loop_timer_arm(loop, t, SRV_SERVER_TICK_MS);
}

/* ---- stopping ------------------------------------------------------------------ */

static void on_grace(struct collab_loop *loop, struct collab_timer *t)
{
	struct srv_server *srv = t->ctx;

	srv_log(srv, SRV_CONFIG_LOG_INFO,
		"%zu connections did not close in time: dropped",
		collab_wsctx_count(&srv->ws));
	collab_wsctx_drop_all(&srv->ws);
	collab_loop_stop(loop);
}

static void on_signal(struct collab_loop *loop, struct collab_signal *s)
{
	struct srv_server *srv = s->ctx;

	if (srv->stopping)
		return;
	srv->stopping = true;
	srv_log(srv, SRV_CONFIG_LOG_INFO,
		"%s: stopping; closing %llu connections with 1001",
		s->signo == SIGTERM ? "SIGTERM" : "SIGINT",
		(unsigned long long)srv->n_ws);
	collab_wsconn_unlisten(&srv->lst);
	/* What the turn accepted is made durable and sent before the 1001. */
	srv_server_commit(srv);
	srv_fanout_flush(&srv->fanout, true);
	(void)srv_session_close_policy(srv);
	collab_wsctx_close_all(&srv->ws, COLLAB_WS_CLOSE_GOING_AWAY);
	collab_wsctx_flush(&srv->ws);
	if (collab_loop_timer_arm(loop, &srv->grace, SRV_SERVER_GRACE_MS) != 0)
		collab_loop_stop(loop);
	if (collab_wsctx_count(&srv->ws) == 0)
		collab_loop_stop(loop);
}

/* ---- start ------------------------------------------------------------------------ */

/* "--demo" without "--tenants": one tenant "demo" with a fresh secret,
 * the listener's origins and anonymous reading. */
static int demo_tenants(struct srv_server *srv)
{
	uint8_t raw[48];
	char secret[96], addr[SRV_CONFIG_ADDR_TEXT_MAX + 1], json[1024];
	char msg[SRV_TENANT_MSG_CAP];
	size_t slen = 0;
	int n, rc;

	if (collab_rng_bytes(&srv->rng, raw, sizeof(raw)) != 0)
		return COLLAB_ERANDOM;
	rc = collab_b64_encode(raw, sizeof(raw), COLLAB_B64_URL, secret,
			       sizeof(secret) - 1, &slen);
	explicit_bzero(raw, sizeof(raw));
	if (rc != 0)
		return rc;
	secret[slen] = 0;
	if (srv_config_addr_format(&srv->cfg->listen, srv->lst.port, addr,
				   sizeof(addr)) < 0)
		return COLLAB_EINVAL;
	n = snprintf(json, sizeof(json),
		     "{\"tenants\":[{\"id\":\"" SRV_DEMO_TENANT "\",\"secret\":\"%s\","
		     "\"origins\":[\"http://%s\",\"http://localhost:%u\","
		     "\"https://%s\",\"https://localhost:%u\"],"
		     "\"anonymous\":\"read\"}]}", secret, addr,
		     (unsigned)srv->lst.port, addr, (unsigned)srv->lst.port);
	explicit_bzero(secret, sizeof(secret));
	if (n < 0 || (size_t)n >= sizeof(json)) {
		explicit_bzero(json, sizeof(json));
		return COLLAB_ESPACE;
	}
	rc = srv_tenant_registry_parse(&srv->tenants, srv->a,
				       (const uint8_t *)json, (size_t)n,
				       "demo tenant", msg, sizeof(msg));
	explicit_bzero(json, sizeof(json));
	if (rc != 0)
		srv_log(srv, SRV_CONFIG_LOG_QUIET, "%s", msg);
	return rc;
}

static int listen_on(struct srv_server *srv, struct collab_wsconn_listener *l,
		     const struct srv_config_addr *a,
		     const struct collab_wsconn_handlers *hd,
		     struct collab_tls_server *tls, const char *what)
{
	char text[SRV_CONFIG_ADDR_TEXT_MAX + 1];
	int rc;

	if (srv_config_addr_format(a, a->port, text, sizeof(text)) < 0)
		return COLLAB_EINVAL;
	rc = collab_wsconn_listen(l, &srv->ws, text, strlen(text), hd, tls);
	if (rc != 0)
		srv_log(srv, SRV_CONFIG_LOG_QUIET, "cannot listen on %s (%s): %s",
			text, what, rc == COLLAB_EIO ? strerror(errno)
						     : collab_strerror(rc));
	return rc;
}

static void limits_from_rlimit(struct srv_server *srv)
{
	struct rlimit rl;

	srv->max_ws = 1000000;
	/* one descriptor per connection: take what the hard limit allows */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rlim_t soft = rl.rlim_cur;
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			rl.rlim_cur = soft;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		/* one descriptor per connection, and some for the rest */
		srv->max_ws = rl.rlim_cur > (rlim_t)2 * SRV_SERVER_FD_RESERVE
				      ? (uint64_t)rl.rlim_cur - SRV_SERVER_FD_RESERVE
				      : (uint64_t)rl.rlim_cur / 2;
	}
}

static int alloc_jwt(struct srv_server *srv)
{
	size_t nodes = COLLAB_JWT_NODES_FOR(srv->jcfg.max_token);
	size_t scratch = COLLAB_JWT_SCRATCH_FOR(srv->jcfg.max_token);

	srv->jnodes = srv->a->alloc(srv->a->ctx, nodes * sizeof(*srv->jnodes));
	srv->jscratch = srv->a->alloc(srv->a->ctx, scratch);
	if (srv->jnodes == NULL || srv->jscratch == NULL)
		return COLLAB_ENOMEM;
	srv->jnodes_cap = nodes;
	srv->jscratch_cap = scratch;
	return 0;
}

static int start_net(struct srv_server *srv)
{
	const struct srv_config *cfg = srv->cfg;
	struct collab_wsctx_config wc;
	struct collab_loop_config lc;
	int rc;

	collab_loop_config_init(&lc);
	lc.alloc = srv->a;
	/* Everything one turn reads is committed with one fdatasync: take
	 * many ready connections per turn so group commit covers them all. */
	lc.max_events = SRV_LOOP_MAX_EVENTS;
	rc = collab_loop_init(&srv->loop, &lc);
	if (rc != 0) {
		srv_log(srv, SRV_CONFIG_LOG_QUIET, "cannot create the event loop: %s",
			collab_strerror(rc));
		return rc;
	}
	srv->loop_ok = true;
	collab_wsctx_config_init(&wc);
	wc.alloc = srv->a;
	wc.rng = &srv->rng;
	wc.user_size = sizeof(struct srv_session);
	wc.handshake_timeout_ms = cfg->handshake_timeout_ms;
	wc.server_max_message = cfg->max_message;
	wc.ping_interval_ms = cfg->ping_interval_ms;
	wc.idle_timeout_ms = cfg->idle_timeout_ms;
	/* The live limit is the session's (session.h); the socket's own
	 * limit only bounds the largest single message on top of it. */
	wc.queue_limit = (size_t)cfg->queue_limit + SRV_SERVER_QUEUE_HEADROOM;
	if (wc.low_water >= cfg->queue_limit)
		wc.low_water = (size_t)cfg->queue_limit / 2;
	rc = collab_wsctx_init(&srv->ws, &srv->loop, &wc);
	if (rc != 0) {
		srv_log(srv, SRV_CONFIG_LOG_QUIET, "cannot set up WebSockets: %s",
			collab_strerror(rc));
		return rc;
	}
	srv->ws_ok = true;
	if (cfg->tls_cert != NULL) {
		rc = collab_tls_server_load(&srv->tls, NULL, cfg->tls_cert,
					    cfg->tls_key, srv->a);
		if (rc == COLLAB_EIO) {
			int e = errno;
			const char *why = collab_tls_server_why(&srv->tls);
			/* name the file and errno, not only which one */
			srv_log(srv, SRV_CONFIG_LOG_QUIET,
				"TLS: %s %s: %s", why,
				strncmp(why, "key", 3) == 0 ? cfg->tls_key
							    : cfg->tls_cert,
				strerror(e));
			return rc;
		}
		if (rc != 0) {
			srv_log(srv, SRV_CONFIG_LOG_QUIET, "TLS: %s (%s)",
				collab_tls_server_why(&srv->tls),
				collab_strerror(rc));
			return rc;
		}
		srv->has_tls = true;
	}
	srv_session_handlers(srv, &srv->hd_main);
	srv_admin_handlers(srv, &srv->hd_admin);
	rc = listen_on(srv, &srv->lst, &cfg->listen, &srv->hd_main,
		       srv->has_tls ? &srv->tls : NULL, "--listen");
	if (rc == 0)
		rc = listen_on(srv, &srv->admin, &cfg->admin, &srv->hd_admin,
			       NULL, "--admin");
	return rc;
}

static int start_state(struct srv_server *srv)
{
	const struct srv_config *cfg = srv->cfg;
	struct srv_room_config rc_cfg;
	struct srv_fanout_config fc;
	char msg[SRV_TENANT_MSG_CAP + 4096];
	int rc;

	if (cfg->tenants != NULL) {
		rc = srv_tenant_registry_load(&srv->tenants, srv->a, cfg->tenants,
					      msg, sizeof(msg));
		if (rc != 0) {
			srv_log(srv, SRV_CONFIG_LOG_QUIET, "%s", msg);
			return rc;
		}
	} else {
		rc = demo_tenants(srv);
		if (rc != 0)
			return rc;
	}
	rc = srv_metrics_init(&srv->metrics, srv->a, &srv->tenants);
	if (rc != 0)
		return rc;
	srv->metrics_ok = true;
	srv_room_config_init(&rc_cfg);
	rc_cfg.ring_size = (size_t)cfg->ring_size;
	rc = srv_room_registry_init(&srv->rooms, srv->a, &rc_cfg, &srv->rng);
	if (rc != 0)
		return rc;
	srv->rooms_ok = true;
	srv_ops_turn_init(&srv->turn, srv->a);
	rc = srv_persist_recover(srv);
	if (rc != 0)
		return rc;
	srv_fanout_config_init(&fc);
	fc.batch_delay_ms = cfg->batch_delay_ms;
	fc.presence_interval_ms = cfg->presence_interval_ms;
	fc.proto = &srv->pcfg;
	fc.alloc = srv->a;
	fc.deliver = srv_session_deliver;
	fc.deliver_count = srv_session_deliver_count;
	fc.ctx = srv;
	rc = srv_fanout_init(&srv->fanout, &srv->loop, &fc);
	if (rc != 0)
		return rc;
	srv->fanout_ok = true;
	if (cfg->www != NULL) {
		rc = srv_static_open(&srv->www, cfg->www, srv->a);
		if (rc != 0) {
			srv_log(srv, SRV_CONFIG_LOG_QUIET, "--www %s: %s",
				cfg->www, strerror(errno));
			return rc;
		}
		srv->has_www = true;
	}
	if (cfg->demo) {
		const struct srv_tenant *t = srv_tenant_find(
			&srv->tenants, SRV_DEMO_TENANT, sizeof(SRV_DEMO_TENANT) - 1);
		if (t == NULL) {
			srv_log(srv, SRV_CONFIG_LOG_QUIET,
				"--demo: the tenants file has no tenant \"demo\"; "
				"%s answers 404", SRV_DEMO_PATH);
		} else {
			srv_demo_init(&srv->demo, t);
			srv->has_demo = true;
		}
	}
	return 0;
}

int srv_server_init(struct srv_server *srv, const struct srv_config *cfg)
{
	int rc;

	memset(srv, 0, sizeof(*srv));
	srv->cfg = cfg;
	srv->a = collab_alloc_default();
	srv->www.dirfd = -1;
	collab_buf_init(&srv->rec, srv->a, 0);
	collab_proto_config_init(&srv->pcfg);
	if (cfg->max_message > srv->pcfg.json.max_input)
		srv->pcfg.json.max_input = (size_t)cfg->max_message;
	collab_jwt_config_init(&srv->jcfg);
	limits_from_rlimit(srv);
	srv_log(srv, SRV_CONFIG_LOG_INFO, "connection capacity %llu (open "
		"files limit raised to the hard limit where allowed)",
		(unsigned long long)srv->max_ws);
	rc = collab_rng_init(&srv->rng);
	if (rc != 0) {
		srv_log(srv, SRV_CONFIG_LOG_QUIET, "no random source: %s",
			strerror(errno));
		return rc;
	}
	rc = alloc_jwt(srv);
	if (rc == 0)
		rc = start_net(srv);
	if (rc == 0)
		rc = start_state(srv);
	if (rc != 0)
		return rc;
	collab_loop_hook_init(&srv->hook, on_turn, srv);
	collab_loop_timer_init(&srv->tick, on_tick, srv);
	collab_loop_timer_init(&srv->grace, on_grace, srv);
	srv->last_compact_check = collab_loop_update_now(&srv->loop);
	rc = collab_loop_hook_add(&srv->loop, &srv->hook);
	if (rc == 0)
		rc = collab_loop_timer_arm(&srv->loop, &srv->tick,
					   SRV_SERVER_TICK_MS);
	if (rc == 0)
		rc = collab_loop_signal(&srv->loop, &srv->sig_int, SIGINT,
					on_signal, srv);
	if (rc == 0)
		rc = collab_loop_signal(&srv->loop, &srv->sig_term, SIGTERM,
					on_signal, srv);
	if (rc != 0) {
		srv_log(srv, SRV_CONFIG_LOG_QUIET, "cannot start: %s",
			collab_strerror(rc));
		return rc;
	}
	return 0;
}

int srv_server_run(struct srv_server *srv)
{
	int rc = collab_loop_run(&srv->loop);

	if (rc != 0)
		srv_log(srv, SRV_CONFIG_LOG_QUIET, "event loop failed: %s",
			collab_strerror(rc));
	return rc;
}

void srv_server_free(struct srv_server *srv)
{
	size_t i;

	if (srv->ws_ok) {
		collab_wsconn_unlisten(&srv->lst);
		collab_wsconn_unlisten(&srv->admin);
		if (srv->rooms_ok)
			srv_server_commit(srv);
		/* on_close of every connection runs here, with the rooms,
		 * the fanout and the tenants still alive */
		collab_wsctx_free(&srv->ws);
		srv->ws_ok = false;
	}
	if (srv->loop_ok) {
		collab_loop_timer_cancel(&srv->loop, &srv->tick);
		collab_loop_timer_cancel(&srv->loop, &srv->grace);
		collab_loop_hook_remove(&srv->loop, &srv->hook);
		collab_loop_signal_remove(&srv->loop, &srv->sig_int);
		collab_loop_signal_remove(&srv->loop, &srv->sig_term);
	}
	for (i = 0; i < srv->n_pend; i++)
		collab_shbuf_unref(srv->pend[i].event);
	srv->n_pend = 0;
	if (srv->pend)
		srv->a->free(srv->a->ctx, srv->pend,
			     srv->cap_pend * sizeof(*srv->pend));
	if (srv->policy)
		srv->a->free(srv->a->ctx, srv->policy,
			     srv->cap_policy * sizeof(*srv->policy));
	if (srv->fanout_ok)
		srv_fanout_free(&srv->fanout, srv->rooms_ok ? &srv->rooms : NULL);
	if (srv->rooms_ok) {
		if (srv_ops_turn_size(&srv->turn) > 0)
			srv_ops_turn_rollback(&srv->turn);
		srv_ops_turn_free(&srv->turn);
		srv_room_registry_free(&srv->rooms);
	}
	srv_persist_free(srv);
	if (srv->metrics_ok)
		srv_metrics_free(&srv->metrics);
	srv_tenant_registry_free(&srv->tenants);
	srv_static_close(&srv->www);
	if (srv->loop_ok)
		collab_loop_free(&srv->loop);
	if (srv->has_tls)
		collab_tls_server_free(&srv->tls);
	if (srv->nodes)
		srv->a->free(srv->a->ctx, srv->nodes,
			     srv->nodes_cap * sizeof(*srv->nodes));
	if (srv->scratch)
		srv->a->free(srv->a->ctx, srv->scratch, srv->scratch_cap);
	if (srv->jnodes)
		srv->a->free(srv->a->ctx, srv->jnodes,
			     srv->jnodes_cap * sizeof(*srv->jnodes));
	if (srv->jscratch) {
		explicit_bzero(srv->jscratch, srv->jscratch_cap);
		srv->a->free(srv->a->ctx, srv->jscratch, srv->jscratch_cap);
	}
	collab_buf_free(&srv->rec);
	collab_rng_wipe(&srv->rng);
}
