/*
 * client.c - the collab client's life cycle: configuration, the
 * connection and its wsconn callbacks, the state machine, reconnect with
 * backoff and full jitter. Messages are handled in client_msg.c,
 * operations in client_ops.c, the local copy in client_state.c.
 *
 * At most one connection of a client can call back at any time: c->conn.
 * A connection the client ends itself is aborted or dropped inside
 * kill_conn(), whose on_close runs there and is recognised by
 * c->killing, so no callback of it can come later (wsconn reports a close
 * once, and delivers nothing after an abort).
 */
#include "client_int.h"

#include <string.h>

#include "collab/http.h"
#include "collab/utf8.h"

/* Room for the hello's fixed parts besides token and epoch. */
#define HELLO_SLACK 96u
/* A JSON string escape is at most 6 bytes per input byte (\u00XX). */
#define JSON_ESC_MAX 6u

static const struct collab_wsconn_handle no_conn = { 0, 0 };

/* ---- small helpers shared by the client's files ------------------------- */

void *cl_alloc(struct collab_client *c, size_t n)
{
	return c->a->alloc(c->a->ctx, n);
}

void cl_free(struct collab_client *c, void *p, size_t n)
{
	if (p)
		c->a->free(c->a->ctx, p, n);
}

int cl_str_set(struct collab_client *c, struct cl_str *s, const char *p,
	       size_t len)
{
	char *n = NULL;

	if (len) {
		n = cl_alloc(c, len);
		if (n == NULL)
			return COLLAB_ENOMEM;
		memcpy(n, p, len);
	}
	cl_str_free(c, s);
	s->p = n;
	s->len = len;
	return 0;
}

void cl_str_free(struct collab_client *c, struct cl_str *s)
{
	cl_free(c, s->p, s->len);
	s->p = NULL;
	s->len = 0;
}

/* FNV-1a, 64 bits: ids are random, so any decent mix will do. */
uint64_t cl_hash(const char *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325u;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (uint8_t)p[i];
		h *= 0x100000001b3u;
	}
	return h;
}

static bool same_conn(struct collab_wsconn_handle a, struct collab_wsconn_handle b)
{
	return a.gen != 0 && a.slot == b.slot && a.gen == b.gen;
}

bool cl_open(const struct collab_client *c)
{
	return c->conn.gen != 0 && (c->state == COLLAB_CLIENT_SYNCING ||
				    c->state == COLLAB_CLIENT_LIVE);
}

void cl_set_state(struct collab_client *c, enum collab_client_state st,
		  const struct collab_client_close_info *ci)
{
	if (c->state == st)
		return;
	c->state = st;
	if (c->hd.on_state)
		c->hd.on_state(c, st, ci);
}

/* ---- configuration ------------------------------------------------------- */

void collab_client_config_init(struct collab_client_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->backoff_base_ms = COLLAB_CLIENT_BACKOFF_BASE_MS;
	cfg->backoff_cap_ms = COLLAB_CLIENT_BACKOFF_CAP_MS;
	cfg->stable_ms = COLLAB_CLIENT_STABLE_MS;
	cfg->sync_timeout_ms = COLLAB_CLIENT_SYNC_TIMEOUT_MS;
	cfg->max_pending = COLLAB_CLIENT_MAX_PENDING;
	cfg->max_own_ids = COLLAB_CLIENT_MAX_OWN_IDS;
	cfg->ops_per_second = COLLAB_CLIENT_OPS_PER_SECOND;
	cfg->ops_burst = COLLAB_CLIENT_OPS_BURST;
	cfg->max_token = COLLAB_CLIENT_MAX_TOKEN;
	cfg->max_url = COLLAB_CLIENT_MAX_URL;
	cfg->max_epoch = COLLAB_CLIENT_MAX_EPOCH;
	cfg->max_text = COLLAB_PROTO_DEFAULT_MAX_TEXT;
	cfg->max_anchor = COLLAB_PROTO_DEFAULT_MAX_ANCHOR;
	cfg->keep_room = false;
	cfg->max_chats = COLLAB_CLIENT_MAX_CHATS;
	cfg->max_comments = COLLAB_CLIENT_MAX_COMMENTS;
	collab_proto_client_config_init(&cfg->proto);
}

static bool backoff_ok(const struct collab_client_config *cfg)
{
	return cfg->backoff_base_ms >= 1 &&
	       cfg->backoff_cap_ms >= cfg->backoff_base_ms &&
	       cfg->backoff_cap_ms <= COLLAB_CLIENT_BACKOFF_MAX_MS;
}

static bool config_ok(const struct collab_client_config *cfg)
{
	return backoff_ok(cfg) && cfg->max_pending >= 1 &&
	       cfg->max_own_ids >= 1 &&
	       (cfg->ops_per_second == 0 || cfg->ops_burst >= 1) &&
	       cfg->max_token >= 1 && cfg->max_url >= 8 &&
	       cfg->max_epoch >= 1 && cfg->max_text >= 1 &&
	       cfg->max_anchor >= 2 && cfg->max_chats >= 1 &&
	       cfg->max_comments >= 1 &&
	       cfg->origin.len <= COLLAB_HTTP_DEFAULT_MAX_HEAD_BYTES &&
	       (cfg->origin.p != NULL || cfg->origin.len == 0);
}

const char *collab_client_state_name(enum collab_client_state s)
{
	switch (s) {
	case COLLAB_CLIENT_IDLE: return "idle";
	case COLLAB_CLIENT_CONNECTING: return "connecting";
	case COLLAB_CLIENT_SYNCING: return "syncing";
	case COLLAB_CLIENT_LIVE: return "live";
	case COLLAB_CLIENT_RECONNECTING: return "reconnecting";
	case COLLAB_CLIENT_AUTH_FAILED: return "auth-failed";
	case COLLAB_CLIENT_CLOSED: return "closed";
	}
	return "unknown";
}

/* ---- backoff (full jitter) ------------------------------------------------ */

int collab_client_backoff(const struct collab_client_config *cfg,
			  struct collab_rng *r, uint32_t attempt,
			  uint64_t *delay_ms)
{
	struct collab_client_config d;
	uint64_t ceil;
	uint32_t v;
	int rc;

	if (cfg == NULL) {
		collab_client_config_init(&d);
		cfg = &d;
	}
	if (r == NULL || delay_ms == NULL || !backoff_ok(cfg))
		return COLLAB_EINVAL;
	/* min(cap, base * 2^attempt) without overflow: base * 2^a <= cap
	 * exactly when base <= floor(cap / 2^a). */
	ceil = cfg->backoff_cap_ms;
	if (attempt < 63 && cfg->backoff_base_ms <= (ceil >> attempt))
		ceil = cfg->backoff_base_ms << attempt;
	/* Uniform in [0, ceil]: ceil + 1 <= UINT32_MAX by backoff_ok(). */
	rc = collab_rng_below(r, (uint32_t)(ceil + 1), &v);
	if (rc != 0)
		return rc;
	*delay_ms = v;
	return 0;
}

/* ---- the connection -------------------------------------------------------- */

static void ws_on_open(struct collab_wsconn *wc, struct collab_str proto);
static void ws_on_message(struct collab_wsconn *wc, enum collab_ws_opcode op,
			  const uint8_t *p, size_t len);
static void ws_on_close(struct collab_wsconn *wc,
			const struct collab_wsconn_close_info *ci);
static void ws_on_drain(struct collab_wsconn *wc);

static void cancel_conn_timers(struct collab_client *c)
{
	collab_loop_timer_cancel(c->loop, &c->stable_timer);
	collab_loop_timer_cancel(c->loop, &c->sync_timer);
	collab_loop_timer_cancel(c->loop, &c->pace_timer);
}

/*
 * Ends the current connection without any callback reaching the client:
 * abort with code when it is open (the close frame still goes out), else
 * (or when the abort could not report the close) drop.
 */
static void kill_conn(struct collab_client *c, uint16_t code)
{
	struct collab_wsconn_handle h = c->conn;

	if (h.gen == 0)
		return;
	c->conn = no_conn;
	c->killing = h;
	c->kill_reported = 0;
	if (code != 0)
		(void)collab_wsconn_abort(c->ws, h, code);
	if (!c->kill_reported)
		collab_wsconn_drop(c->ws, h);
	c->killing = no_conn;
	cancel_conn_timers(c);
	cl_msg_reset_session(c);
}

static void record_close(struct collab_client *c,
			 const struct collab_client_close_info *ci)
{
	size_t n = ci->reason.len;

	if (n > COLLAB_WS_MAX_CLOSE_REASON)
		n = COLLAB_WS_MAX_CLOSE_REASON;
	if (n)
		memcpy(c->last_reason, ci->reason.p, n);
	c->last_reason[n] = '\0';
	c->last_close = *ci;
	c->last_close.reason.p = c->last_reason;
	c->last_close.reason.len = n;
}

/* Waits before the next attempt: at once after a first 1001, else the
 * backoff for the attempt counter, which then grows. */
static void schedule_retry(struct collab_client *c,
			   const struct collab_client_close_info *ci)
{
	uint64_t delay = 0;

	if (ci && ci->code == COLLAB_WS_CLOSE_GOING_AWAY && !c->immediate_used) {
		c->immediate_used = 1;
	} else {
		if (collab_client_backoff(&c->cfg, c->rng, c->attempts, &delay) != 0)
			delay = c->cfg.backoff_cap_ms; /* no randomness: the cap */
		if (c->attempts < UINT32_MAX)
			c->attempts++;
	}
	c->retry_delay_ms = delay;
	if (collab_loop_timer_arm(c->loop, &c->retry_timer, delay) != 0) {
		/* No memory for the timer heap: give up rather than spin. */
		cl_set_state(c, COLLAB_CLIENT_CLOSED, ci);
		return;
	}
	cl_set_state(c, COLLAB_CLIENT_RECONNECTING, ci);
}

/* One connection attempt (from the retry timer). */
static void attempt(struct collab_client *c)
{
	struct collab_wsconn_connect_opts o;
	struct collab_client_close_info ci;
	struct collab_wsconn_handle h;
	int rc;

	if (c->hd.on_token)
		c->hd.on_token(c);
	if (c->stopping || c->state == COLLAB_CLIENT_CLOSED ||
	    c->conn.gen != 0 || collab_loop_timer_armed(&c->retry_timer))
		return; /* the callback closed, reconnected or started over */
	memset(&o, 0, sizeof(o)); /* fields added later default to zero */
	o.origin.p = c->origin;
	o.origin.len = c->origin_len;
	o.protocols = COLLAB_STR(COLLAB_CLIENT_SUBPROTOCOL);
	c->conn_gen++;
	cl_msg_reset_session(c);
	rc = collab_wsconn_connect(c->ws, c->url, c->url_len, &o, &c->wsh,
				   c->cfg.tls, &h);
	if (rc == 0) {
		c->conn = h;
		return;
	}
	memset(&ci, 0, sizeof(ci));
	ci.code = COLLAB_WS_CLOSE_ABNORMAL;
	ci.err = rc;
	record_close(c, &ci);
	if (rc == COLLAB_ESYNTAX || rc == COLLAB_EINVAL)
		cl_set_state(c, COLLAB_CLIENT_CLOSED, &ci); /* cannot ever work */
	else
		schedule_retry(c, &ci);
}

static void on_retry(struct collab_loop *loop, struct collab_timer *t)
{
	struct collab_client *c = t->ctx;

	(void)loop;
	c->retry_delay_ms = 0;
	attempt(c);
}

static void on_stable(struct collab_loop *loop, struct collab_timer *t)
{
	struct collab_client *c = t->ctx;

	(void)loop;
	c->attempts = 0;
}

static void on_sync_timeout(struct collab_loop *loop, struct collab_timer *t)
{
	(void)loop;
	cl_fail(t->ctx, COLLAB_WS_CLOSE_NORMAL, COLLAB_ETIMEDOUT,
		"no synced in time");
}

void cl_fail(struct collab_client *c, uint16_t code, int err,
	     const char *reason)
{
	struct collab_client_close_info ci;
	bool was_open = cl_open(c);

	if (c->conn.gen == 0)
		return;
	kill_conn(c, was_open ? code : 0);
	memset(&ci, 0, sizeof(ci));
	ci.code = COLLAB_WS_CLOSE_ABNORMAL;
	ci.sent_code = was_open ? code : 0;
	ci.http_status = was_open ? 101 : 0;
	ci.err = err;
	ci.reason.p = reason;
	ci.reason.len = strlen(reason); /* a static string of ours */
	record_close(c, &ci);
	schedule_retry(c, &ci);
}

/* Sends hello (PROTOCOL.md 3): the token, and since/epoch once synced. */
static int send_hello(struct collab_client *c)
{
	struct collab_proto_hello h;
	uint8_t *buf;
	size_t cap, len;
	int rc;

	memset(&h, 0, sizeof(h));
	if (c->token) {
		h.has_token = true;
		h.token.p = c->token;
		h.token.len = c->token_len;
	}
	if (c->have_sync && !c->want_snapshot) {
		h.has_since = true;
		h.since = c->seq;
		h.epoch.p = c->epoch;
		h.epoch.len = c->epoch_len;
	}
	/* Both lengths are bounded by their config limits. */
	cap = HELLO_SLACK + JSON_ESC_MAX * (c->token_len + c->epoch_len);
	buf = cl_alloc(c, cap);
	if (buf == NULL)
		return COLLAB_ENOMEM;
	rc = collab_proto_encode_hello(&h, buf, cap, &len);
	if (rc == 0)
		rc = collab_wsconn_send(c->ws, c->conn, COLLAB_WS_OP_TEXT, buf, len);
	cl_free(c, buf, cap);
	return rc;
}

static struct collab_client *client_of(struct collab_wsconn *wc)
{
	struct collab_client *c = collab_wsconn_app(wc);

	if (same_conn(collab_wsconn_handle(wc), c->conn))
		return c;
	return NULL;
}

static void ws_on_open(struct collab_wsconn *wc, struct collab_str proto)
{
	struct collab_client *c = client_of(wc);

	(void)proto;
	if (c == NULL)
		return;
	if (send_hello(c) != 0) {
		cl_fail(c, COLLAB_WS_CLOSE_INTERNAL_ERROR, COLLAB_ENOMEM,
			"cannot send hello");
		return;
	}
	if (c->cfg.sync_timeout_ms &&
	    collab_loop_timer_arm(c->loop, &c->sync_timer,
				  c->cfg.sync_timeout_ms) != 0) {
		cl_fail(c, COLLAB_WS_CLOSE_INTERNAL_ERROR, COLLAB_ENOMEM,
			"out of memory");
		return;
	}
	cl_set_state(c, COLLAB_CLIENT_SYNCING, NULL);
}

static void ws_on_message(struct collab_wsconn *wc, enum collab_ws_opcode op,
			  const uint8_t *p, size_t len)
{
	struct collab_client *c = client_of(wc);

	if (c == NULL)
		return;
	if (op != COLLAB_WS_OP_TEXT) {
		/* PROTOCOL.md 2: every message is a text message. */
		cl_fail(c, COLLAB_WS_CLOSE_UNSUPPORTED_DATA, COLLAB_EPROTO,
			"binary message");
		return;
	}
	cl_msg_handle(c, p, len);
}

static void ws_on_drain(struct collab_wsconn *wc)
{
	struct collab_client *c = client_of(wc);

	if (c)
		cl_ops_flush(c);
}

/* PROTOCOL.md 6 and 1: which ends are worth another attempt. */
static bool auth_refused(const struct collab_client_close_info *ci)
{
	return ci->code == COLLAB_WS_CLOSE_UNAUTHORIZED ||
	       ci->code == COLLAB_WS_CLOSE_FORBIDDEN ||
	       ci->http_status == 401 || ci->http_status == 403;
}

static bool hopeless(const struct collab_client_close_info *ci)
{
	/* A malformed hello is our bug; a 4xx refusal of the upgrade (bad
	 * URL, unknown path, wrong version, head too large) will not change
	 * by itself. 408 and 429 are about timing and may. */
	return ci->code == COLLAB_WS_CLOSE_BAD_HELLO ||
	       (ci->http_status >= 400 && ci->http_status < 500 &&
		ci->http_status != 408 && ci->http_status != 429);
}

static void ws_on_close(struct collab_wsconn *wc,
			const struct collab_wsconn_close_info *wci)
{
	struct collab_client *c = collab_wsconn_app(wc);
	struct collab_client_close_info ci;

	if (same_conn(collab_wsconn_handle(wc), c->killing)) {
		c->kill_reported = 1;
		return;
	}
	if (c->freeing || !same_conn(collab_wsconn_handle(wc), c->conn))
		return;
	c->conn = no_conn;
	cancel_conn_timers(c);
	cl_msg_reset_session(c);
	ci.code = wci->code;
	ci.sent_code = wci->sent_code;
	ci.http_status = wci->http_status;
	ci.err = wci->err;
	ci.reason = wci->reason;
	record_close(c, &ci);
	if (c->stopping) {
		c->stopping = 0;
		cl_set_state(c, COLLAB_CLIENT_CLOSED, &ci);
	} else if (auth_refused(&ci)) {
		cl_set_state(c, COLLAB_CLIENT_AUTH_FAILED, &ci);
	} else if (hopeless(&ci)) {
		cl_set_state(c, COLLAB_CLIENT_CLOSED, &ci);
	} else {
		schedule_retry(c, &ci);
	}
}

/* ---- life cycle ---------------------------------------------------------------- */

int collab_client_init(struct collab_client *c, struct collab_wsctx *ws,
		       const struct collab_client_config *cfg,
		       const struct collab_client_handlers *hd)
{
	int rc;

	if (c == NULL)
		return COLLAB_EINVAL;
	memset(c, 0, sizeof(*c));
	if (ws == NULL || ws->loop == NULL)
		return COLLAB_EINVAL;
	if (cfg)
		c->cfg = *cfg;
	else
		collab_client_config_init(&c->cfg);
	if (!config_ok(&c->cfg)) {
		memset(c, 0, sizeof(*c));
		return COLLAB_EINVAL;
	}
	if (hd)
		c->hd = *hd;
	c->a = c->cfg.alloc ? c->cfg.alloc : collab_alloc_default();
	c->ws = ws;
	if (c->cfg.rng) {
		c->rng = c->cfg.rng;
	} else {
		rc = collab_rng_init(&c->own_rng);
		if (rc != 0) {
			memset(c, 0, sizeof(*c));
			return rc;
		}
		c->rng = &c->own_rng;
	}
	c->epoch = cl_alloc(c, c->cfg.max_epoch);
	c->new_epoch = cl_alloc(c, c->cfg.max_epoch);
	if (c->cfg.origin.len) {
		c->origin = cl_alloc(c, c->cfg.origin.len);
		if (c->origin) {
			memcpy(c->origin, c->cfg.origin.p, c->cfg.origin.len);
			c->origin_len = c->cfg.origin.len;
		}
	}
	if (c->epoch == NULL || c->new_epoch == NULL ||
	    (c->cfg.origin.len && c->origin == NULL)) {
		cl_free(c, c->epoch, c->cfg.max_epoch);
		cl_free(c, c->new_epoch, c->cfg.max_epoch);
		cl_free(c, c->origin, c->cfg.origin.len);
		if (c->rng == &c->own_rng)
			collab_rng_wipe(&c->own_rng);
		memset(c, 0, sizeof(*c));
		return COLLAB_ENOMEM;
	}
	c->cfg.origin.p = NULL; /* the copy is c->origin */
	c->wsh.on_open = ws_on_open;
	c->wsh.on_message = ws_on_message;
	c->wsh.on_close = ws_on_close;
	c->wsh.on_drain = ws_on_drain;
	c->wsh.ctx = c;
	collab_loop_timer_init(&c->retry_timer, on_retry, c);
	collab_loop_timer_init(&c->stable_timer, on_stable, c);
	collab_loop_timer_init(&c->sync_timer, on_sync_timeout, c);
	collab_loop_timer_init(&c->pace_timer, cl_ops_on_pace, c);
	c->next_op_id = 1;
	c->state = COLLAB_CLIENT_IDLE;
	c->loop = ws->loop; /* last: marks c initialised */
	return 0;
}

void collab_client_free(struct collab_client *c)
{
	if (c == NULL || c->loop == NULL)
		return;
	c->freeing = 1;
	if (c->conn.gen)
		collab_wsconn_drop(c->ws, c->conn);
	c->conn = no_conn;
	collab_loop_timer_cancel(c->loop, &c->retry_timer);
	cancel_conn_timers(c);
	cl_msg_reset_session(c);
	cl_ops_free_all(c);
	cl_room_clear(c, &c->room);
	cl_room_clear(c, &c->staging);
	cl_free(c, c->own_hash, c->cfg.max_own_ids * sizeof(*c->own_hash));
	cl_free(c, c->own_ids, c->cfg.max_own_ids * sizeof(*c->own_ids));
	cl_free(c, c->url, c->url_len);
	cl_free(c, c->token, c->token_len);
	cl_free(c, c->origin, c->origin_len);
	cl_free(c, c->epoch, c->cfg.max_epoch);
	cl_free(c, c->new_epoch, c->cfg.max_epoch);
	cl_free(c, c->user_id, c->user_id_len);
	cl_free(c, c->user_name, c->user_name_len);
	if (c->rng == &c->own_rng)
		collab_rng_wipe(&c->own_rng);
	memset(c, 0, sizeof(*c));
}

void *collab_client_ctx(const struct collab_client *c)
{
	return c->hd.ctx;
}

int collab_client_set_token(struct collab_client *c, const char *tok, size_t len)
{
	char *n = NULL;

	if (len > c->cfg.max_token)
		return COLLAB_ELIMIT;
	if (tok == NULL && len)
		return COLLAB_EINVAL;
	if (len) {
		if (collab_utf8_check((const uint8_t *)tok, len) != 0)
			return COLLAB_EUTF8;
		n = cl_alloc(c, len);
		if (n == NULL)
			return COLLAB_ENOMEM;
		memcpy(n, tok, len);
	}
	cl_free(c, c->token, c->token_len);
	c->token = n;
	c->token_len = len;
	return 0;
}

int collab_client_start(struct collab_client *c, const char *url, size_t len)
{
	struct collab_http_url u;

	if (c->state != COLLAB_CLIENT_IDLE)
		return COLLAB_ESTATE;
	if (len > c->cfg.max_url)
		return COLLAB_ELIMIT;
	if (collab_http_parse_url(url, len, &u) != 0)
		return COLLAB_ESYNTAX;
	if (u.tls && c->cfg.tls == NULL)
		return COLLAB_EINVAL;
	c->url = cl_alloc(c, len);
	if (c->url == NULL)
		return COLLAB_ENOMEM;
	memcpy(c->url, url, len);
	c->url_len = len;
	if (collab_loop_timer_arm(c->loop, &c->retry_timer, 0) != 0) {
		cl_free(c, c->url, len);
		c->url = NULL;
		c->url_len = 0;
		return COLLAB_ENOMEM;
	}
	cl_set_state(c, COLLAB_CLIENT_CONNECTING, NULL);
	return 0;
}

int collab_client_reconnect(struct collab_client *c)
{
	if (c->state == COLLAB_CLIENT_IDLE || c->url == NULL)
		return COLLAB_ESTATE;
	collab_loop_timer_cancel(c->loop, &c->retry_timer);
	kill_conn(c, cl_open(c) ? COLLAB_WS_CLOSE_NORMAL : 0);
	c->stopping = 0;
	c->retry_delay_ms = 0;
	if (collab_loop_timer_arm(c->loop, &c->retry_timer, 0) != 0)
		return COLLAB_ENOMEM;
	cl_set_state(c, COLLAB_CLIENT_RECONNECTING, NULL);
	return 0;
}

void collab_client_forget(struct collab_client *c)
{
	c->want_snapshot = 1;
}

void collab_client_close(struct collab_client *c)
{
	if (c->state == COLLAB_CLIENT_CLOSED || c->stopping)
		return;
	collab_loop_timer_cancel(c->loop, &c->retry_timer);
	c->retry_delay_ms = 0;
	if (cl_open(c)) {
		cancel_conn_timers(c);
		if (collab_wsconn_close(c->ws, c->conn, COLLAB_WS_CLOSE_NORMAL,
					NULL, 0) == 0) {
			c->stopping = 1; /* CLOSED once the handshake ends */
			return;
		}
	}
	kill_conn(c, 0);
	cl_set_state(c, COLLAB_CLIENT_CLOSED, NULL);
}

/* ---- status ----------------------------------------------------------------------- */

enum collab_client_state collab_client_state(const struct collab_client *c)
{
	return c->state;
}

uint64_t collab_client_seq(const struct collab_client *c)
{
	return c->seq;
}

struct collab_str collab_client_epoch(const struct collab_client *c)
{
	struct collab_str s = { c->epoch, c->have_sync ? c->epoch_len : 0 };
	return s;
}

uint64_t collab_client_count(const struct collab_client *c)
{
	return c->count;
}

struct collab_str collab_client_user_id(const struct collab_client *c)
{
	struct collab_str s = { c->user_id, c->user_id_len };
	return s;
}

struct collab_str collab_client_user_name(const struct collab_client *c)
{
	struct collab_str s = { c->user_name, c->user_name_len };
	return s;
}

const struct collab_client_close_info *collab_client_last_close(const struct collab_client *c)
{
	return &c->last_close;
}

uint32_t collab_client_attempts(const struct collab_client *c)
{
	return c->attempts;
}

uint64_t collab_client_retry_delay(const struct collab_client *c)
{
	return collab_loop_timer_armed(&c->retry_timer) ? c->retry_delay_ms : 0;
}

size_t collab_client_pending(const struct collab_client *c)
{
	return c->n_ops;
}

int collab_client_test_feed(struct collab_client *c, const uint8_t *p, size_t len)
{
	if (c->loop == NULL || c->state == COLLAB_CLIENT_CLOSED)
		return COLLAB_ESTATE;
	if (p == NULL && len)
		return COLLAB_EINVAL;
	if (c->conn.gen == 0) {
		/* Slot UINT32_MAX is past every wsctx's table: collab_wsconn_get()
		 * never finds it. */
		collab_loop_timer_cancel(c->loop, &c->retry_timer);
		c->conn.slot = UINT32_MAX;
		c->conn.gen = UINT32_MAX;
		c->conn_gen++;
		c->stopping = 0;
		cl_msg_reset_session(c);
		cl_set_state(c, COLLAB_CLIENT_SYNCING, NULL);
	}
	cl_msg_handle(c, p, len);
	return 0;
}
