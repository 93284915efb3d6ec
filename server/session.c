/*
 * session.c - one connection's life: upgrade decision, hello, resync,
 * operations, and every message the server queues to it. See session.h.
 */
#include "session.h"

#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "collab/http.h"
#include "collab/jwt.h"
#include "collab/utf8.h"
#include "collab/uuid.h"
#include "collab/ws.h"
#include "server.h"
#include "upgrade.h"

/* Room for a welcome: two 128-byte user strings escaped up to 6 bytes a
 * byte, the fixed members, an epoch and a connection id. */
#define WELCOME_CAP 4096u
/* Room for an error reply: a 96-byte message escaped, the members. */
#define ERROR_CAP 1024u
#define SMALL_CAP 128u
/* Connections with a 1008 due at the end of a turn, before the list grows. */
#define POLICY_MIN_CAP 8u

/* ---- the token bucket ------------------------------------------------------ */

static uint64_t bucket_cap(uint64_t burst)
{
	return burst > UINT64_MAX / SRV_SESSION_MILLI ? UINT64_MAX
						       : burst * SRV_SESSION_MILLI;
}

void srv_bucket_init(struct srv_bucket *b, uint64_t burst, uint64_t now)
{
	b->milli = bucket_cap(burst);
	b->last_ms = now;
}

bool srv_bucket_take(struct srv_bucket *b, uint64_t rate, uint64_t burst,
		     uint64_t now)
{
	uint64_t cap = bucket_cap(burst), dt, add;

	if (b->milli > cap)
		b->milli = cap;
	if (now > b->last_ms) {
		/* rate tokens per second are rate millitokens per ms */
		dt = now - b->last_ms;
		add = rate != 0 && dt > UINT64_MAX / rate ? UINT64_MAX
							  : dt * rate;
		b->milli = add > cap - b->milli ? cap : b->milli + add;
		b->last_ms = now;
	}
	if (b->milli < SRV_SESSION_MILLI)
		return false;
	b->milli -= SRV_SESSION_MILLI;
	return true;
}

/* ---- handles ------------------------------------------------------------------- */

uint64_t srv_session_pack(struct collab_wsconn_handle h)
{
	return (uint64_t)h.slot << 32 | h.gen;
}

struct collab_wsconn_handle srv_session_unpack(uint64_t v)
{
	struct collab_wsconn_handle h;

	h.slot = (uint32_t)(v >> 32);
	h.gen = (uint32_t)v;
	return h;
}

static struct srv_session *sess_of(struct collab_wsconn *c)
{
	return collab_wsconn_user(c);
}

static struct srv_session *sess_get(struct srv_server *srv,
				    struct collab_wsconn_handle h)
{
	struct collab_wsconn *c = collab_wsconn_get(&srv->ws, h);
	struct srv_session *s = c ? collab_wsconn_user(c) : NULL;

	/* on_close clears srv: such a session only waits for its TCP end */
	return s != NULL && s->srv != NULL ? s : NULL;
}

static const char *info_url(const struct srv_session_info *in)
{
	return in->strs;
}

static const char *info_id(const struct srv_session_info *in)
{
	return in->strs + in->url_len;
}

static const char *info_name(const struct srv_session_info *in)
{
	return in->strs + in->url_len + in->id_len;
}

static struct srv_session_info *info_new(struct srv_server *srv,
					 const char *url, size_t url_len,
					 struct collab_str id,
					 struct collab_str name, bool moderator)
{
	struct srv_session_info *in;
	size_t size = sizeof(*in) + url_len + id.len + name.len;

	in = srv->a->alloc(srv->a->ctx, size);
	if (in == NULL)
		return NULL;
	in->size = size;
	in->url_len = url_len;
	in->id_len = id.len;
	in->name_len = name.len;
	in->moderator = moderator;
	if (url_len)
		memcpy(in->strs, url, url_len);
	if (id.len)
		memcpy(in->strs + url_len, id.p, id.len);
	if (name.len)
		memcpy(in->strs + url_len + id.len, name.p, name.len);
	return in;
}

static void info_free(struct srv_server *srv, struct srv_session_info *in)
{
	if (in)
		srv->a->free(srv->a->ctx, in, in->size);
}

static struct srv_metrics_tenant *mt_of(const struct srv_session *s)
{
	return srv_metrics_tenant(&s->srv->metrics, s->tenant);
}

static enum srv_metrics_result result_of(enum collab_proto_err e)
{
	switch (e) {
	case COLLAB_PROTO_ERR_INVALID: return SRV_METRICS_INVALID;
	case COLLAB_PROTO_ERR_FORBIDDEN: return SRV_METRICS_FORBIDDEN;
	case COLLAB_PROTO_ERR_NOT_FOUND: return SRV_METRICS_NOT_FOUND;
	case COLLAB_PROTO_ERR_CONFLICT: return SRV_METRICS_CONFLICT;
	case COLLAB_PROTO_ERR_TOO_LARGE: return SRV_METRICS_TOO_LARGE;
	case COLLAB_PROTO_ERR_RATE_LIMITED: return SRV_METRICS_RATE_LIMITED;
	case COLLAB_PROTO_ERR_UNAVAILABLE: return SRV_METRICS_UNAVAILABLE;
	default: return SRV_METRICS_INVALID;
	}
}

/* ---- leaving and closing ----------------------------------------------------- */

static void backlog_free(struct srv_server *srv, struct srv_session *s)
{
	struct srv_backlog *b = s->backlog;
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < b->n; i++)
		collab_shbuf_unref(b->ent[(b->head + i) % b->cap].sb);
	if (b->ent)
		srv->a->free(srv->a->ctx, b->ent, b->cap * sizeof(*b->ent));
	srv->a->free(srv->a->ctx, b, sizeof(*b));
	s->backlog = NULL;
}

static void leave_room(struct srv_session *s)
{
	struct srv_server *srv = s->srv;
	struct srv_room *room = s->room;
	struct srv_session *ms;
	uint64_t moved = 0;

	if (room == NULL)
		return;
	s->room = NULL;
	if (srv_room_leave(room, s->sub_idx, &moved)) {
		/* srv_room_leave moved the last subscriber into the hole */
		ms = sess_get(srv, srv_session_unpack(moved));
		if (ms != NULL && ms->room == room)
			ms->sub_idx = s->sub_idx;
	}
	srv_fanout_left(&srv->fanout, room);
}

/* We close: out of the room at once (the count drops, nothing more is
 * fanned out to it), then the close handshake. */
static void session_close(struct srv_session *s, uint16_t code,
			  const char *reason)
{
	struct srv_server *srv = s->srv;

	if (s->state == SRV_SESSION_CLOSING)
		return;
	leave_room(s);
	backlog_free(srv, s);
	collab_loop_timer_cancel(&srv->loop, &s->hello_timer);
	s->state = SRV_SESSION_CLOSING;
	srv_log(srv, SRV_CONFIG_LOG_DEBUG, "closing connection: %u %s",
		(unsigned)code, reason);
	if (collab_wsconn_close(&srv->ws, s->h, code, reason,
				strlen(reason)) == COLLAB_ESTATE)
		collab_wsconn_drop(&srv->ws, s->h);
}

/* PROTOCOL.md 6: a slow consumer's queue is discarded and it gets 1013. */
static void session_slow(struct srv_session *s, uint64_t live)
{
	struct srv_server *srv = s->srv;

	if (s->state == SRV_SESSION_CLOSING)
		return;
	srv->slow_consumers++;
	srv_log(srv, SRV_CONFIG_LOG_INFO,
		"slow consumer closed with 1013: tenant %s, %llu live bytes "
		"waiting (limit %llu)", s->tenant ? s->tenant->id : "?",
		(unsigned long long)live,
		(unsigned long long)srv->cfg->queue_limit);
	leave_room(s);
	backlog_free(srv, s);
	s->state = SRV_SESSION_CLOSING;
	/* on_close runs inside: it finishes the cleanup */
	if (collab_wsconn_abort(&srv->ws, s->h,
				COLLAB_WS_CLOSE_TRY_AGAIN_LATER) != 0)
		collab_wsconn_drop(&srv->ws, s->h);
}

/* ---- sending -------------------------------------------------------------------- */

static int backlog_push(struct srv_session *s, struct collab_shbuf *sb,
			bool live)
{
	struct srv_server *srv = s->srv;
	struct srv_backlog *b = s->backlog;
	struct srv_backlog_ent *ne;
	size_t i, cap;

	if (b == NULL) {
		b = srv->a->alloc(srv->a->ctx, sizeof(*b));
		if (b == NULL)
			return COLLAB_ENOMEM;
		memset(b, 0, sizeof(*b));
		s->backlog = b;
	}
	if (b->n == b->cap) {
		cap = b->cap ? b->cap * 2 : SRV_SESSION_BACKLOG_MIN_CAP;
		if (cap > SIZE_MAX / sizeof(*ne))
			return COLLAB_ENOMEM;
		ne = srv->a->alloc(srv->a->ctx, cap * sizeof(*ne));
		if (ne == NULL)
			return COLLAB_ENOMEM;
		for (i = 0; i < b->n; i++)
			ne[i] = b->ent[(b->head + i) % b->cap];
		if (b->ent)
			srv->a->free(srv->a->ctx, b->ent,
				     b->cap * sizeof(*b->ent));
		b->ent = ne;
		b->cap = cap;
		b->head = 0;
	}
	b->ent[(b->head + b->n) % b->cap].sb = collab_shbuf_ref(sb);
	b->ent[(b->head + b->n) % b->cap].live = live;
	b->n++;
	if (live)
		b->live_bytes += sb->len;
	return 0;
}

/* Hands backlog messages to the socket's queue while it is at or below
 * its low-water mark; on_drain calls again. */
static void backlog_pump(struct srv_session *s)
{
	struct srv_server *srv = s->srv;
	struct srv_backlog *b;
	struct srv_backlog_ent e;
	int rc;

	while ((b = s->backlog) != NULL && b->n > 0) {
		if (collab_wsconn_queued(&srv->ws, s->h) > srv->ws.cfg.low_water)
			return;
		e = b->ent[b->head];
		rc = collab_wsconn_send_shared(&srv->ws, s->h, e.sb);
		if (rc == COLLAB_EQUEUE) {
			srv_log(srv, SRV_CONFIG_LOG_INFO,
				"message of %zu bytes over the queue's hard "
				"limit: closing with 1011", e.sb->len);
			session_close(s, COLLAB_WS_CLOSE_INTERNAL_ERROR,
				      "message too large");
			return;
		}
		if (rc != 0)
			return;
		srv_metrics_on_queued(mt_of(s), e.sb->len);
		if (e.live) {
			s->live_pushed += e.sb->len;
			b->live_bytes -= e.sb->len;
		}
		collab_shbuf_unref(e.sb);
		b->head = (b->head + 1) % b->cap;
		b->n--;
	}
	if (s->backlog != NULL && s->backlog->n == 0)
		backlog_free(srv, s);
}

/*
 * Every data message to a connection goes through here. live: counts
 * against the slow-consumer limit (see session.h). Returns 1 when queued
 * (to the socket or behind the backlog), else 0.
 */
static int session_send(struct srv_session *s, struct collab_shbuf *sb,
			bool live)
{
	struct srv_server *srv = s->srv;
	struct srv_backlog *b = s->backlog;
	uint64_t limit = srv->cfg->queue_limit, q, inq;
	int rc;

	if (s->state != SRV_SESSION_LIVE)
		return 0;
	if (b != NULL && b->n > 0) {
		if (live && (b->live_bytes > limit ||
			     sb->len > limit - b->live_bytes)) {
			session_slow(s, b->live_bytes);
			return 0;
		}
		if (backlog_push(s, sb, live) != 0) {
			session_close(s, COLLAB_WS_CLOSE_INTERNAL_ERROR,
				      "out of memory");
			return 0;
		}
		return 1;
	}
	if (live) {
		q = collab_wsconn_queued(&srv->ws, s->h);
		inq = q < s->live_pushed ? q : s->live_pushed;
		if (inq > limit || sb->len > limit - inq) {
			session_slow(s, inq);
			return 0;
		}
	}
	rc = collab_wsconn_send_shared(&srv->ws, s->h, sb);
	if (rc == COLLAB_EQUEUE) {
		session_slow(s, collab_wsconn_queued(&srv->ws, s->h));
		return 0;
	}
	if (rc != 0)
		return 0;
	srv_metrics_on_queued(mt_of(s), sb->len);
	if (live)
		s->live_pushed += sb->len;
	return 1;
}

static int send_text(struct srv_session *s, const uint8_t *p, size_t len,
		     bool live)
{
	struct collab_shbuf *sb = srv_fanout_frame_text(s->srv->a, p, len);
	int rc;

	if (sb == NULL) {
		session_close(s, COLLAB_WS_CLOSE_INTERNAL_ERROR, "out of memory");
		return 0;
	}
	rc = session_send(s, sb, live);
	collab_shbuf_unref(sb);
	return rc;
}

static void send_error(struct srv_session *s, const char *bid,
		       enum collab_proto_err code, const char *message)
{
	uint8_t out[ERROR_CAP];
	struct collab_str b = { bid, bid ? SRV_CHAT_ID_LEN : 0 };
	struct collab_str m = { message, strlen(message) };
	size_t len = 0;

	if (collab_proto_encode_error(bid ? &b : NULL, code, m, out,
				      sizeof(out), &len) != 0 &&
	    collab_proto_encode_error(bid ? &b : NULL, code,
				      COLLAB_STR("rejected"), out, sizeof(out),
				      &len) != 0)
		return;
	(void)send_text(s, out, len, true);
}

void srv_session_send_error(struct srv_server *srv,
			    struct collab_wsconn_handle h, const char *bid,
			    enum collab_proto_err code, const char *message)
{
	struct srv_session *s = sess_get(srv, h);

	if (s != NULL)
		send_error(s, bid, code, message);
}

void srv_session_send_event(struct srv_server *srv,
			    struct collab_wsconn_handle h,
			    struct collab_shbuf *ev)
{
	struct srv_session *s = sess_get(srv, h);

	if (s != NULL)
		(void)send_text(s, ev->data, ev->len, true);
}

int srv_session_deliver(void *ctx, struct srv_room *room, uint64_t handle,
			struct collab_shbuf *frame)
{
	struct srv_session *s = sess_get(ctx, srv_session_unpack(handle));

	if (s == NULL || s->room != room)
		return 0;
	return session_send(s, frame, true);
}

int srv_session_deliver_count(void *ctx, struct srv_room *room,
			      uint64_t handle, uint64_t count,
			      struct collab_shbuf *frame)
{
	struct srv_session *s = sess_get(ctx, srv_session_unpack(handle));

	if (s == NULL || s->room != room || s->last_count == count)
		return 0;
	if (session_send(s, frame, true) <= 0)
		return 0;
	s->last_count = count;
	return 1;
}

/* ---- open, hello ------------------------------------------------------------------ */

static void on_hello_timer(struct collab_loop *loop, struct collab_timer *t)
{
	struct srv_session *s = t->ctx;

	(void)loop;
	/* PROTOCOL.md 3: no hello in time */
	if (s->state == SRV_SESSION_HELLO)
		session_close(s, COLLAB_WS_CLOSE_HELLO_TIMEOUT, "no hello in time");
}

static void on_open(struct collab_wsconn *c, struct collab_str subprotocol)
{
	struct srv_server *srv = collab_wsconn_app(c);
	struct srv_session *s = sess_of(c);
	struct collab_str none = { NULL, 0 };

	(void)subprotocol;
	s->srv = srv;
	s->h = collab_wsconn_handle(c);
	collab_loop_timer_init(&s->hello_timer, on_hello_timer, s);
	s->state = SRV_SESSION_HELLO;
	srv->n_ws++;
	if (srv->upg.c != c) {
		session_close(s, COLLAB_WS_CLOSE_INTERNAL_ERROR, "internal error");
		return;
	}
	srv->upg.c = NULL;
	/* PROTOCOL.md 1: every open WebSocket counts, from the upgrade on */
	if (srv_tenant_conn_acquire(srv->upg.tenant) != 0) {
		session_close(s, COLLAB_WS_CLOSE_TRY_AGAIN_LATER,
			      "tenant at its connection limit");
		return;
	}
	s->tenant = srv->upg.tenant;
	s->info = info_new(srv, srv->upg.url, srv->upg.url_len, none, none,
			   false);
	if (s->info == NULL ||
	    collab_loop_timer_arm(&srv->loop, &s->hello_timer,
				  srv->cfg->hello_timeout_ms) != 0) {
		session_close(s, COLLAB_WS_CLOSE_INTERNAL_ERROR, "out of memory");
		return;
	}
}

/* The events (since, room->seq] as framed messages into the backlog. */
struct replay_ctx {
	struct srv_session *s;
	int err;
};

static int replay_emit(void *ctx, struct collab_shbuf *frame)
{
	struct replay_ctx *rc = ctx;

	return backlog_push(rc->s, frame, false);
}

static int queue_replay(struct srv_session *s, struct srv_room *room,
			uint64_t since, uint64_t n)
{
	struct srv_server *srv = s->srv;
	struct collab_str *v;
	const struct srv_room_event *ev;
	struct replay_ctx rc = { s, 0 };
	uint64_t i;
	int r;

	if (n == 0)
		return 0;
	if (n > SIZE_MAX / sizeof(*v))
		return COLLAB_ENOMEM;
	v = srv->a->alloc(srv->a->ctx, (size_t)n * sizeof(*v));
	if (v == NULL)
		return COLLAB_ENOMEM;
	for (i = 0; i < n; i++) {
		ev = srv_room_event_at(room, since + 1 + i);
		if (ev == NULL) {
			srv->a->free(srv->a->ctx, v, (size_t)n * sizeof(*v));
			return COLLAB_EINVAL;
		}
		v[i].p = (const char *)ev->msg->data;
		v[i].len = ev->msg->len;
	}
	/* PROTOCOL.md 5: replayed events are batched and split like live
	 * ones. */
	r = srv_fanout_frames(&srv->pcfg, srv->a, v, (size_t)n, replay_emit,
			      &rc);
	srv->a->free(srv->a->ctx, v, (size_t)n * sizeof(*v));
	return r;
}

static int queue_snapshot(struct srv_session *s, struct srv_room *room)
{
	struct collab_shbuf *const *frames;
	size_t i, n = 0;
	int rc = srv_fanout_snapshot(&s->srv->fanout, room, &frames, &n);

	for (i = 0; rc == 0 && i < n; i++)
		rc = backlog_push(s, frames[i], false);
	return rc;
}

static int queue_text(struct srv_session *s, const uint8_t *p, size_t len)
{
	struct collab_shbuf *sb = srv_fanout_frame_text(s->srv->a, p, len);
	int rc;

	if (sb == NULL)
		return COLLAB_ENOMEM;
	rc = backlog_push(s, sb, false);
	collab_shbuf_unref(sb);
	return rc;
}

/* Whether the open turn changed the room: every applied operation pushes
 * its event, marked uncommitted until the commit, as the room's newest. */
static bool room_uncommitted(const struct srv_room *room)
{
	const struct srv_room_event *ev =
		room->seq ? srv_room_event_at(room, room->seq) : NULL;

	return ev != NULL && ev->uncommitted;
}

/* Joins the room and queues welcome, replay or snapshot, synced. */
static void join(struct srv_session *s, const struct collab_proto_hello *hello)
{
	struct srv_server *srv = s->srv;
	struct srv_session_info *in = s->info;
	struct srv_tenant *t = s->tenant;
	struct collab_str uid = { info_id(in), in->id_len };
	struct collab_proto_user user;
	struct collab_proto_welcome w;
	struct collab_uuid cid;
	char cid_text[COLLAB_UUID_STR_LEN + 1];
	uint8_t buf[WELCOME_CAP];
	enum srv_room_resync resync = SRV_ROOM_SNAPSHOT;
	struct srv_room *room;
	uint64_t n = 0;
	size_t len = 0, idx;
	int rc;

	/* When this turn changed the room, end the group here: the room's
	 * state is then exactly its committed state (a newcomer never sees
	 * what a failed commit would take back), and what the turn accepted
	 * so far goes out before the newcomer joins. */
	room = srv_room_find(&srv->rooms, t->id, t->id_len,
			     (const uint8_t *)info_url(in), in->url_len);
	if (room != NULL && room_uncommitted(room)) {
		srv_server_commit(srv);
		if (s->state != SRV_SESSION_HELLO)
			return;
	}
	rc = srv_room_get(&srv->rooms, t->id, t->id_len,
			  (const uint8_t *)info_url(in), in->url_len, &room);
	if (rc != 0)
		goto fail;
	rc = srv_fanout_attach(&srv->fanout, room);
	if (rc != 0) {
		srv_room_check_idle(room);
		goto fail;
	}
	/* Held events first, so that none reaches the newcomer twice. */
	srv_fanout_flush_room(&srv->fanout, room);
	if (s->state != SRV_SESSION_HELLO)
		return;
	if (hello->has_since &&
	    collab_str_eq(hello->epoch, srv->epoch, strlen(srv->epoch)))
		resync = srv_room_events_since(room, hello->since, &n);
	rc = srv_room_join(room, srv_session_pack(s->h),
			   in->id_len ? &uid : NULL, &idx);
	if (rc != 0) {
		srv_fanout_left(&srv->fanout, room);
		goto fail;
	}
	s->room = room;
	s->sub_idx = idx;
	s->state = SRV_SESSION_LIVE;
	collab_loop_timer_cancel(&srv->loop, &s->hello_timer);
	s->last_count = srv_room_count(room);
	srv_fanout_joined(&srv->fanout, room);
	srv_bucket_init(&s->bucket, t->ops_burst, collab_loop_now(&srv->loop));

	/* 1. welcome */
	if (collab_uuid_v4(&srv->rng, &cid) != 0 ||
	    collab_uuid_format(&cid, cid_text, sizeof(cid_text)) != 0) {
		rc = COLLAB_ERANDOM;
		goto fail;
	}
	memset(&w, 0, sizeof(w));
	w.connection_id = (struct collab_str){ cid_text, COLLAB_UUID_STR_LEN };
	if (in->id_len) {
		user.id = uid;
		user.name = (struct collab_str){ info_name(in), in->name_len };
		user.moderator = in->moderator;
		w.user = &user;
	}
	w.epoch = (struct collab_str){ srv->epoch, strlen(srv->epoch) };
	w.seq = room->seq;
	w.count = s->last_count;
	w.resync = resync == SRV_ROOM_REPLAY ? COLLAB_PROTO_RESYNC_REPLAY
					     : COLLAB_PROTO_RESYNC_SNAPSHOT;
	rc = collab_proto_encode_welcome(&w, buf, sizeof(buf), &len);
	if (rc == 0)
		rc = queue_text(s, buf, len);
	/* 2. replay or snapshot, from the room's state now */
	if (rc == 0)
		rc = resync == SRV_ROOM_REPLAY
			? queue_replay(s, room, hello->since, n)
			: queue_snapshot(s, room);
	/* 3. synced */
	if (rc == 0)
		rc = collab_proto_encode_synced(room->seq, buf, sizeof(buf), &len);
	if (rc == 0)
		rc = queue_text(s, buf, len);
	if (rc != 0)
		goto fail;
	backlog_pump(s);
	return;
fail:
	srv_log(srv, SRV_CONFIG_LOG_INFO, "cannot start a session: %s",
		collab_strerror(rc));
	session_close(s, COLLAB_WS_CLOSE_INTERNAL_ERROR, "internal error");
}

static void hello_message(struct srv_session *s, const uint8_t *p, size_t len)
{
	struct srv_server *srv = s->srv;
	struct srv_tenant *t = s->tenant;
	struct srv_session_info *in = s->info, *nin;
	struct collab_proto_hello hello;
	struct collab_proto_mem mem;
	struct collab_jwt_claims claims;
	struct collab_str name;
	char reason[COLLAB_WS_MAX_CLOSE_REASON + 1];
	int rc;

	if (srv_server_parse_mem(srv, len, &mem) != 0) {
		session_close(s, COLLAB_WS_CLOSE_INTERNAL_ERROR, "out of memory");
		return;
	}
	rc = collab_proto_parse_hello(&srv->pcfg, &mem, p, len, &hello);
	if (rc != 0) {
		/* PROTOCOL.md 3: anything but a well-formed hello */
		(void)snprintf(reason, sizeof(reason), "bad hello: %s",
			 rc == COLLAB_EPROTO ? hello.message : "unreadable");
		session_close(s, COLLAB_WS_CLOSE_BAD_HELLO, reason);
		return;
	}
	if (!hello.has_token) {
		/* PROTOCOL.md 3: anonymous only where the tenant allows it */
		if (t->anonymous != SRV_TENANT_ANON_READ) {
			session_close(s, COLLAB_WS_CLOSE_UNAUTHORIZED,
				      "a token is required");
			return;
		}
		join(s, &hello);
		return;
	}
	/* PROTOCOL.md 7: always with the secret of the URL's tenant */
	rc = collab_jwt_verify(&srv->jcfg, t->secret, t->secret_len,
			       (const uint8_t *)hello.token.p, hello.token.len,
			       (int64_t)(collab_loop_wall_ms() / 1000),
			       srv->jnodes, srv->jnodes_cap, srv->jscratch,
			       srv->jscratch_cap, &claims);
	if (rc != 0) {
		srv_log(srv, SRV_CONFIG_LOG_DEBUG, "token refused: %s",
			collab_strerror(rc));
		session_close(s, COLLAB_WS_CLOSE_UNAUTHORIZED,
			      rc == COLLAB_EEXPIRED ? "token expired"
						    : "invalid token");
		return;
	}
	if (!collab_str_eq(claims.tenant_id, t->id, t->id_len)) {
		session_close(s, COLLAB_WS_CLOSE_FORBIDDEN,
			      "token for another tenant");
		return;
	}
	if (!collab_jwt_claims_allows_url(&claims, info_url(in), in->url_len)) {
		session_close(s, COLLAB_WS_CLOSE_FORBIDDEN,
			      "token not valid for this page");
		return;
	}
	/* PROTOCOL.md 3: the name is the token's name, or its sub */
	name = claims.has_name ? claims.name : claims.sub;
	nin = info_new(srv, info_url(in), in->url_len, claims.sub, name,
		       claims.moderator);
	if (nin == NULL) {
		session_close(s, COLLAB_WS_CLOSE_INTERNAL_ERROR, "out of memory");
		return;
	}
	info_free(srv, in);
	s->info = nin;
	join(s, &hello);
}

/* ---- operations -------------------------------------------------------------------- */

/* The 100th rejection in a row came; its 1008 waits for the end of the
 * turn, and its input meanwhile is ignored. */
static bool policy_due(const struct srv_session *s)
{
	return s->state == SRV_SESSION_LIVE &&
	       s->rejects >= SRV_SESSION_MAX_REJECTS;
}

/*
 * PROTOCOL.md 4: 100 rejected operations in a row close with 1008. Not at
 * once: operations the same turn accepted from this connection (before
 * the row) are broadcast at the end of the turn, and their echoes are the
 * sender's acknowledgements, so the close goes after them
 * (srv_session_close_policy). Without memory for the list, the close is
 * sent now.
 */
static void policy_close_later(struct srv_session *s)
{
	struct srv_server *srv = s->srv;
	struct collab_wsconn_handle *np = NULL;
	size_t cap;

	if (srv->n_policy == srv->cap_policy) {
		cap = srv->cap_policy ? srv->cap_policy * 2 : POLICY_MIN_CAP;
		if (cap <= SIZE_MAX / sizeof(*np))
			np = srv->a->alloc(srv->a->ctx, cap * sizeof(*np));
		if (np == NULL) {
			session_close(s, COLLAB_WS_CLOSE_POLICY,
				      "too many rejected operations");
			return;
		}
		if (srv->n_policy)
			memcpy(np, srv->policy, srv->n_policy * sizeof(*np));
		if (srv->policy)
			srv->a->free(srv->a->ctx, srv->policy,
				     srv->cap_policy * sizeof(*np));
		srv->policy = np;
		srv->cap_policy = cap;
	}
	srv->policy[srv->n_policy++] = s->h;
}

size_t srv_session_close_policy(struct srv_server *srv)
{
	struct srv_session *s;
	size_t i, n = 0;

	for (i = 0; i < srv->n_policy; i++) {
		s = sess_get(srv, srv->policy[i]);
		if (s == NULL || !policy_due(s))
			continue;  /* gone, or closed for another reason */
		/* events a batch delay still holds go first too */
		if (s->room != NULL)
			srv_fanout_flush_room(&srv->fanout, s->room);
		if (!policy_due(s))
			continue;  /* closed as a slow consumer meanwhile */
		session_close(s, COLLAB_WS_CLOSE_POLICY,
			      "too many rejected operations");
		n++;
	}
	srv->n_policy = 0;
	return n;
}

static void reject(struct srv_session *s, const char *bid,
		   enum collab_proto_err code, const char *message)
{
	srv_metrics_on_op(mt_of(s), result_of(code));
	send_error(s, bid, code, message);
	if (s->state != SRV_SESSION_LIVE)
		return;
	if (++s->rejects >= SRV_SESSION_MAX_REJECTS)
		policy_close_later(s);
}

static void op_message(struct srv_session *s, const uint8_t *p, size_t len)
{
	struct srv_server *srv = s->srv;
	struct srv_tenant *t = s->tenant;
	struct srv_session_info *in = s->info;
	struct collab_proto_mem mem;
	struct collab_proto_op op;
	struct srv_ops_limits lim;
	struct srv_ops_user user;
	struct srv_ops_result res;
	const char *bid;
	char msg[COLLAB_PROTO_MESSAGE_CAP];
	bool took;
	int rc;

	/* PROTOCOL.md 4: every message takes a token */
	took = srv_bucket_take(&s->bucket, t->ops_per_second, t->ops_burst,
			       collab_loop_now(&srv->loop));
	if (srv_server_parse_mem(srv, len, &mem) != 0) {
		send_error(s, NULL, COLLAB_PROTO_ERR_UNAVAILABLE, "out of memory");
		return;
	}
	memset(&op, 0, sizeof(op));
	rc = collab_proto_parse_op(&srv->pcfg, &mem, p, len, &op);
	bid = op.has_broadcast_id ? op.broadcast_id.text : NULL;
	if (!took) {
		(void)snprintf(msg, sizeof(msg),
			 "rate limit: %llu messages per second, bursts of %llu",
			 (unsigned long long)t->ops_per_second,
			 (unsigned long long)t->ops_burst);
		reject(s, bid, COLLAB_PROTO_ERR_RATE_LIMITED, msg);
		return;
	}
	if (rc == COLLAB_EPROTO) {
		reject(s, bid, op.err, op.message);
		return;
	}
	if (rc != 0) {
		srv_metrics_on_op(mt_of(s), SRV_METRICS_UNAVAILABLE);
		send_error(s, NULL, COLLAB_PROTO_ERR_UNAVAILABLE,
			   "cannot read the message now");
		return;
	}
	srv_server_limits(t, &lim);
	memset(&user, 0, sizeof(user));
	user.anonymous = in->id_len == 0;
	user.id = (struct collab_str){ info_id(in), in->id_len };
	user.name = (struct collab_str){ info_name(in), in->name_len };
	user.moderator = in->moderator;
	rc = srv_ops_apply(&srv->turn, s->room, &lim, &user, &op,
			   collab_loop_wall_ms(), &res);
	if (rc != 0 || res.outcome == SRV_OPS_REJECTED) {
		if (rc != 0 || res.err == COLLAB_PROTO_ERR_UNAVAILABLE) {
			/* the server's fault, not the client's: not counted
			 * toward the 1008 policy */
			srv_metrics_on_op(mt_of(s), SRV_METRICS_UNAVAILABLE);
			send_error(s, bid, COLLAB_PROTO_ERR_UNAVAILABLE,
				   res.message[0] ? res.message
						  : "cannot apply it now");
		} else {
			reject(s, bid, res.err, res.message);
		}
		srv_ops_result_release(&res);
		return;
	}
	if (res.outcome == SRV_OPS_APPLIED) {
		s->rejects = 0;
		srv_server_journal_event(srv, s->room, res.event);
	}
	if (srv_server_pend(srv, s->h, s->room, t, &res, op.broadcast_id.text)
	    != 0) {
		/* Without its entry the op could not be answered after the
		 * commit: the whole turn fails, this one is answered now. */
		if (res.outcome == SRV_OPS_APPLIED)
			srv->doomed = true;
		srv_metrics_on_op(mt_of(s), SRV_METRICS_UNAVAILABLE);
		send_error(s, bid, COLLAB_PROTO_ERR_UNAVAILABLE, "out of memory");
	}
	srv_ops_result_release(&res);
}

/* ---- the handlers ------------------------------------------------------------------- */

static void on_message(struct collab_wsconn *c, enum collab_ws_opcode op,
		       const uint8_t *p, size_t len)
{
	struct srv_session *s = sess_of(c);

	if (s->srv == NULL || s->state == SRV_SESSION_NEW ||
	    s->state == SRV_SESSION_CLOSING || policy_due(s))
		return;
	/* PROTOCOL.md 2: a binary message gets close 1003 */
	if (op != COLLAB_WS_OP_TEXT) {
		session_close(s, COLLAB_WS_CLOSE_UNSUPPORTED_DATA,
			      "binary messages are not accepted");
		return;
	}
	if (s->state == SRV_SESSION_HELLO)
		hello_message(s, p, len);
	else
		op_message(s, p, len);
}

static void on_drain(struct collab_wsconn *c)
{
	struct srv_session *s = sess_of(c);

	if (s->srv != NULL && s->backlog != NULL)
		backlog_pump(s);
}

static void on_close(struct collab_wsconn *c,
		     const struct collab_wsconn_close_info *ci)
{
	struct srv_session *s = sess_of(c);
	struct srv_server *srv = s->srv;

	(void)ci;
	if (srv == NULL)
		return;
	leave_room(s);
	backlog_free(srv, s);
	collab_loop_timer_cancel(&srv->loop, &s->hello_timer);
	if (s->tenant != NULL) {
		srv_tenant_conn_release(s->tenant);
		s->tenant = NULL;
	}
	info_free(srv, s->info);
	s->info = NULL;
	s->state = SRV_SESSION_CLOSING;
	s->srv = NULL;
	srv->n_ws--;
}

void srv_session_handlers(struct srv_server *srv,
			  struct collab_wsconn_handlers *hd)
{
	memset(hd, 0, sizeof(*hd));
	hd->on_request = srv_upgrade_on_request;
	hd->on_open = on_open;
	hd->on_message = on_message;
	hd->on_close = on_close;
	hd->on_drain = on_drain;
	hd->ctx = srv;
}
