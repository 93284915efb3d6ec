/*
 * fanout.c - one frame (or batch) per room per flush, shared by all its
 * connections; presence throttling; the snapshot cache. See fanout.h.
 */
#include "fanout.h"

#include <string.h>

#include "collab/ws.h"

/* ---- the throttle -------------------------------------------------------- */

bool srv_fanout_throttle_ready(const struct srv_fanout_throttle *t,
			       uint64_t interval, uint64_t now,
			       uint64_t *deadline)
{
	uint64_t due;

	if (interval == 0 || !t->ever)
		return true;
	due = t->last_ms > UINT64_MAX - interval ? UINT64_MAX
						 : t->last_ms + interval;
	if (now >= due)
		return true;
	if (deadline != NULL)
		*deadline = due;
	return false;
}

void srv_fanout_throttle_mark(struct srv_fanout_throttle *t, uint64_t now)
{
	t->last_ms = now;
	t->ever = true;
}

/* ---- framing -------------------------------------------------------------- */

struct collab_shbuf *srv_fanout_frame_text(const struct collab_alloc *a,
					   const uint8_t *p, size_t len)
{
	size_t hl = collab_ws_header_len(len, false);
	struct collab_shbuf *sb;

	if (len > SIZE_MAX - hl)
		return NULL;
	sb = collab_shbuf_new(a, hl + len);
	if (sb == NULL)
		return NULL;
	/* RFC 6455 5.1: a server never masks; 5.2: FIN, text opcode. */
	if (collab_ws_header_encode(sb->data, true, COLLAB_WS_OP_TEXT, len,
				    NULL) != hl) {
		collab_shbuf_unref(sb);
		return NULL;
	}
	if (len)
		memcpy(sb->data + hl, p, len);
	return sb;
}

/* One `batch` message of ev[0..k) (k >= 2), whose payload is mlen bytes
 * (collab_proto_batch_next() said so), encoded straight behind its frame
 * header. */
static int frame_batch(const struct collab_alloc *a, const struct collab_str *ev,
		       size_t k, size_t mlen, struct collab_shbuf **out)
{
	size_t hl = collab_ws_header_len(mlen, false), w = 0;
	struct collab_shbuf *sb;
	int rc;

	if (mlen > SIZE_MAX - hl)
		return COLLAB_ENOMEM;
	sb = collab_shbuf_new(a, hl + mlen);
	if (sb == NULL)
		return COLLAB_ENOMEM;
	if (collab_ws_header_encode(sb->data, true, COLLAB_WS_OP_TEXT, mlen,
				    NULL) != hl) {
		collab_shbuf_unref(sb);
		return COLLAB_EINVAL;
	}
	rc = collab_proto_encode_batch(ev, k, sb->data + hl, mlen, &w);
	if (rc == 0 && w != mlen)
		rc = COLLAB_EINVAL;
	if (rc != 0) {
		collab_shbuf_unref(sb);
		return rc;
	}
	*out = sb;
	return 0;
}

int srv_fanout_frames(const struct collab_proto_config *pcfg,
		      const struct collab_alloc *a,
		      const struct collab_str *ev, size_t n,
		      int (*emit)(void *ctx, struct collab_shbuf *frame),
		      void *ctx)
{
	struct collab_shbuf *sb;
	size_t k, mlen;
	int rc;

	while (n > 0) {
		/* PROTOCOL.md 5: a single event goes out bare; several as
		 * one batch, split when they pass max_batch bytes. */
		k = collab_proto_batch_next(pcfg, ev, n, &mlen);
		if (k == 0)
			return COLLAB_EINVAL;
		if (k == 1) {
			sb = srv_fanout_frame_text(a, (const uint8_t *)ev[0].p,
						   ev[0].len);
			if (sb == NULL)
				return COLLAB_ENOMEM;
		} else {
			rc = frame_batch(a, ev, k, mlen, &sb);
			if (rc != 0)
				return rc;
		}
		rc = emit(ctx, sb);
		collab_shbuf_unref(sb);
		if (rc != 0)
			return rc;
		ev += k;
		n -= k;
	}
	return 0;
}

/* ---- room blocks ------------------------------------------------------------ */

void srv_fanout_config_init(struct srv_fanout_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->presence_interval_ms = 500;
}

int srv_fanout_init(struct srv_fanout *fo, struct collab_loop *loop,
		    const struct srv_fanout_config *cfg)
{
	if (fo == NULL || loop == NULL || cfg == NULL ||
	    cfg->deliver == NULL || cfg->deliver_count == NULL)
		return COLLAB_EINVAL;
	memset(fo, 0, sizeof(*fo));
	fo->cfg = *cfg;
	if (cfg->proto)
		fo->proto = *cfg->proto;
	else
		collab_proto_config_init(&fo->proto);
	fo->a = cfg->alloc ? cfg->alloc : collab_alloc_default();
	fo->loop = loop;
	collab_buf_init(&fo->buf, fo->a, 0);
	return 0;
}

static void list_unlink(struct srv_fanout *fo, struct srv_fanout_room *r)
{
	uint8_t l = r->list;

	if (l == 0)
		return;
	if (r->prev)
		r->prev->next = r->next;
	else
		fo->head[l] = r->next;
	if (r->next)
		r->next->prev = r->prev;
	else
		fo->tail[l] = r->prev;
	r->prev = r->next = NULL;
	r->list = 0;
}

static void list_add(struct srv_fanout *fo, struct srv_fanout_room *r,
		     uint8_t l)
{
	list_unlink(fo, r);
	r->prev = fo->tail[l];
	r->next = NULL;
	if (fo->tail[l])
		fo->tail[l]->next = r;
	else
		fo->head[l] = r;
	fo->tail[l] = r;
	r->list = l;
}

static void mark_dirty(struct srv_fanout *fo, struct srv_fanout_room *r)
{
	if (r->list == 1 || r->detached)
		return;
	list_add(fo, r, 1);
}

/* Work left for a timer: a force flush must still find the room. */
static void mark_waiting(struct srv_fanout *fo, struct srv_fanout_room *r)
{
	if (r->list != 0 || r->detached)
		return;
	list_add(fo, r, 2);
}

static void on_room_timer(struct collab_loop *loop, struct collab_timer *t)
{
	struct srv_fanout_room *r = t->ctx;

	(void)loop;
	/* Back to the next flush, which runs at the end of this turn. */
	mark_dirty(r->fo, r);
}

static void drop_events(struct srv_fanout_room *r)
{
	size_t i;

	for (i = 0; i < r->n_ev; i++)
		collab_shbuf_unref(r->ev[i]);
	r->n_ev = 0;
}

static void drop_snapshot(struct srv_fanout_room *r)
{
	size_t i;

	for (i = 0; i < r->n_snap; i++)
		collab_shbuf_unref(r->snap[i]);
	r->n_snap = 0;
	r->snap_ok = false;
}

static void room_free(struct srv_fanout *fo, struct srv_fanout_room *r)
{
	drop_events(r);
	drop_snapshot(r);
	if (r->ev)
		fo->a->free(fo->a->ctx, r->ev, r->cap_ev * sizeof(struct collab_shbuf *));
	if (r->snap)
		fo->a->free(fo->a->ctx, r->snap, r->cap_snap * sizeof(struct collab_shbuf *));
	fo->a->free(fo->a->ctx, r, sizeof(*r));
}

/* Unhooks r from its room and the loop; frees it now, or at the end of
 * the running flush (whose loops may still look at it). */
static void room_detach(struct srv_fanout *fo, struct srv_fanout_room *r)
{
	list_unlink(fo, r);
	collab_loop_timer_cancel(fo->loop, &r->batch_timer);
	collab_loop_timer_cancel(fo->loop, &r->presence_timer);
	drop_events(r);
	drop_snapshot(r);
	if (r->room && r->room->ext == r)
		r->room->ext = NULL;
	r->detached = true;
	if (fo->busy) {
		r->next_free = fo->garbage;
		fo->garbage = r;
	} else {
		room_free(fo, r);
	}
}

static void free_garbage(struct srv_fanout *fo)
{
	struct srv_fanout_room *r;

	while ((r = fo->garbage) != NULL) {
		fo->garbage = r->next_free;
		room_free(fo, r);
	}
}

void srv_fanout_free(struct srv_fanout *fo, struct srv_room_registry *rooms)
{
	struct srv_room *room;
	size_t it = 0;

	if (rooms != NULL) {
		while ((room = srv_room_next(rooms, &it)) != NULL)
			if (room->ext)
				room_detach(fo, room->ext);
	}
	fo->busy = 0;
	free_garbage(fo);
	collab_buf_free(&fo->buf);
	if (fo->views)
		fo->a->free(fo->a->ctx, fo->views,
			    fo->views_cap * sizeof(*fo->views));
	fo->views = NULL;
	fo->views_cap = 0;
}

int srv_fanout_attach(struct srv_fanout *fo, struct srv_room *room)
{
	struct srv_fanout_room *r;

	if (room->ext != NULL)
		return 0;
	r = fo->a->alloc(fo->a->ctx, sizeof(*r));
	if (r == NULL)
		return COLLAB_ENOMEM;
	memset(r, 0, sizeof(*r));
	r->fo = fo;
	r->room = room;
	collab_loop_timer_init(&r->batch_timer, on_room_timer, r);
	collab_loop_timer_init(&r->presence_timer, on_room_timer, r);
	room->ext = r;
	return 0;
}

void srv_fanout_left(struct srv_fanout *fo, struct srv_room *room)
{
	struct srv_fanout_room *r = room->ext;

	if (r == NULL)
		return;
	if (room->n_subs == 0) {
		room_detach(fo, r);
		return;
	}
	r->presence_dirty = true;
	mark_dirty(fo, r);
}

void srv_fanout_joined(struct srv_fanout *fo, struct srv_room *room)
{
	struct srv_fanout_room *r = room->ext;

	if (r == NULL)
		return;
	r->presence_dirty = true;
	mark_dirty(fo, r);
}

/* ---- delivery ------------------------------------------------------------------ */

/* Every subscriber, last to first (see fanout.h on removals). */
static int deliver_all(void *ctx, struct collab_shbuf *frame)
{
	struct srv_fanout_room *r = ctx;
	struct srv_fanout *fo = r->fo;
	struct srv_room *room = r->room;
	size_t i = room->n_subs;

	fo->frames_sent++;
	while (i-- > 0) {
		if (r->detached)
			break;
		if (i >= room->n_subs)
			continue;
		if (fo->cfg.deliver(fo->cfg.ctx, room, room->subs[i].handle,
				    frame) > 0)
			fo->deliveries++;
	}
	return 0;
}

static int views_reserve(struct srv_fanout *fo, size_t n)
{
	struct collab_str *nv;
	size_t cap = fo->views_cap ? fo->views_cap : SRV_FANOUT_EVENTS_MIN_CAP;

	if (n <= fo->views_cap)
		return 0;
	while (cap < n) {
		if (cap > SIZE_MAX / 2 / sizeof(*nv))
			return COLLAB_ENOMEM;
		cap *= 2;
	}
	nv = fo->a->alloc(fo->a->ctx, cap * sizeof(*nv));
	if (nv == NULL)
		return COLLAB_ENOMEM;
	if (fo->views)
		fo->a->free(fo->a->ctx, fo->views,
			    fo->views_cap * sizeof(*fo->views));
	fo->views = nv;
	fo->views_cap = cap;
	return 0;
}

/* Sends the room's pending events and forgets them. */
static void send_events(struct srv_fanout *fo, struct srv_fanout_room *r,
			uint64_t now)
{
	size_t i, n = r->n_ev, cap = r->cap_ev;
	struct collab_shbuf **ev = r->ev;

	if (n == 0)
		return;
	collab_loop_timer_cancel(fo->loop, &r->batch_timer);
	/* The array leaves the block during delivery: a subscriber closed
	 * meanwhile may release the block. */
	r->ev = NULL;
	r->n_ev = 0;
	r->cap_ev = 0;
	if (views_reserve(fo, n) == 0) {
		for (i = 0; i < n; i++) {
			fo->views[i].p = (const char *)ev[i]->data;
			fo->views[i].len = ev[i]->len;
		}
		(void)srv_fanout_frames(&fo->proto, fo->a, fo->views, n,
					deliver_all, r);
	} else {
		/* No memory for the views: one bare frame per event. */
		for (i = 0; i < n && !r->detached; i++) {
			struct collab_shbuf *sb = srv_fanout_frame_text(
				fo->a, ev[i]->data, ev[i]->len);
			if (sb == NULL)
				break;
			(void)deliver_all(r, sb);
			collab_shbuf_unref(sb);
		}
	}
	for (i = 0; i < n; i++)
		collab_shbuf_unref(ev[i]);
	if (!r->detached && r->ev == NULL) {
		r->ev = ev;    /* kept for the next events */
		r->cap_ev = cap;
	} else {
		fo->a->free(fo->a->ctx, ev, cap * sizeof(struct collab_shbuf *));
	}
	if (!r->detached && fo->cfg.batch_delay_ms)
		srv_fanout_throttle_mark(&r->batch, now);
}

static void send_count(struct srv_fanout *fo, struct srv_fanout_room *r,
		       uint64_t count, uint64_t now)
{
	uint8_t msg[64];
	size_t len = 0, i;
	struct collab_shbuf *sb;
	struct srv_room *room = r->room;
	size_t delivered = 0;

	r->presence_dirty = false;
	collab_loop_timer_cancel(fo->loop, &r->presence_timer);
	if (collab_proto_encode_user_count(count, msg, sizeof(msg), &len) != 0)
		return;
	sb = srv_fanout_frame_text(fo->a, msg, len);
	if (sb == NULL) {
		/* Try again at the next flush. */
		r->presence_dirty = true;
		return;
	}
	r->last_count = count;
	i = room->n_subs;
	while (i-- > 0) {
		if (r->detached)
			break;
		if (i >= room->n_subs)
			continue;
		if (fo->cfg.deliver_count(fo->cfg.ctx, room,
					  room->subs[i].handle, count, sb) > 0)
			delivered++;
	}
	collab_shbuf_unref(sb);
	/* A change nobody had to hear of (the only subscriber learned it
	 * from its welcome) does not use up the interval. */
	if (delivered && !r->detached)
		srv_fanout_throttle_mark(&r->presence, now);
}

static void arm_or_now(struct srv_fanout *fo, struct collab_timer *t,
		       uint64_t deadline, bool *now_instead)
{
	*now_instead = false;
	if (collab_loop_timer_armed(t) && t->deadline <= deadline)
		return;
	if (collab_loop_timer_arm_at(fo->loop, t, deadline) != 0)
		*now_instead = true;
}

static void process(struct srv_fanout *fo, struct srv_fanout_room *r,
		    uint64_t now, bool force)
{
	uint64_t deadline = 0, count;
	bool now_instead;

	if (r->n_ev > 0) {
		if (force || srv_fanout_throttle_ready(&r->batch,
						       fo->cfg.batch_delay_ms,
						       now, &deadline)) {
			send_events(fo, r, now);
		} else {
			arm_or_now(fo, &r->batch_timer, deadline, &now_instead);
			if (now_instead)
				send_events(fo, r, now);
			else
				mark_waiting(fo, r);
		}
	}
	if (r->detached || !r->presence_dirty)
		return;
	count = srv_room_count(r->room);
	if (count == r->last_count) {
		r->presence_dirty = false;
		collab_loop_timer_cancel(fo->loop, &r->presence_timer);
		return;
	}
	if (force || srv_fanout_throttle_ready(&r->presence,
					       fo->cfg.presence_interval_ms,
					       now, &deadline)) {
		send_count(fo, r, count, now);
	} else {
		arm_or_now(fo, &r->presence_timer, deadline, &now_instead);
		if (now_instead)
			send_count(fo, r, count, now);
		else
			mark_waiting(fo, r);
	}
}

void srv_fanout_flush(struct srv_fanout *fo, bool force)
{
	struct srv_fanout_room *r;
	uint64_t now = collab_loop_now(fo->loop);

	fo->busy++;
	if (force)
		while ((r = fo->head[2]) != NULL)
			list_add(fo, r, 1);
	while ((r = fo->head[1]) != NULL) {
		list_unlink(fo, r);
		process(fo, r, now, force);
	}
	if (--fo->busy == 0)
		free_garbage(fo);
}

void srv_fanout_flush_room(struct srv_fanout *fo, struct srv_room *room)
{
	struct srv_fanout_room *r = room->ext;

	if (r == NULL || r->n_ev == 0)
		return;
	fo->busy++;
	send_events(fo, r, collab_loop_now(fo->loop));
	if (--fo->busy == 0)
		free_garbage(fo);
}

int srv_fanout_add_event(struct srv_fanout *fo, struct srv_room *room,
			 struct collab_shbuf *ev)
{
	struct srv_fanout_room *r = room->ext;
	struct collab_shbuf **ne;
	size_t cap;

	if (r == NULL)
		return 0;
	drop_snapshot(r);
	if (r->n_ev == r->cap_ev) {
		cap = r->cap_ev ? r->cap_ev * 2 : SRV_FANOUT_EVENTS_MIN_CAP;
		if (cap > SIZE_MAX / sizeof(struct collab_shbuf *))
			goto alone;
		ne = fo->a->alloc(fo->a->ctx, cap * sizeof(struct collab_shbuf *));
		if (ne == NULL)
			goto alone;
		if (r->n_ev)
			memcpy(ne, r->ev, r->n_ev * sizeof(struct collab_shbuf *));
		if (r->ev)
			fo->a->free(fo->a->ctx, r->ev, r->cap_ev * sizeof(struct collab_shbuf *));
		r->ev = ne;
		r->cap_ev = cap;
	}
	r->ev[r->n_ev++] = collab_shbuf_ref(ev);
	mark_dirty(fo, r);
	return 0;
alone:
	/* Keep the order: what is pending goes first, then this one. */
	{
		struct collab_shbuf *sb;

		srv_fanout_flush_room(fo, room);
		r = room->ext;
		if (r == NULL)
			return COLLAB_ENOMEM;
		sb = srv_fanout_frame_text(fo->a, ev->data, ev->len);
		if (sb == NULL)
			return COLLAB_ENOMEM;
		fo->busy++;
		(void)deliver_all(r, sb);
		if (--fo->busy == 0)
			free_garbage(fo);
		collab_shbuf_unref(sb);
		return COLLAB_ENOMEM;
	}
}

/* ---- the snapshot cache ------------------------------------------------------ */

static int snap_emit(void *ctx, const uint8_t *p, size_t len)
{
	struct srv_fanout_room *r = ctx;
	struct srv_fanout *fo = r->fo;
	struct collab_shbuf *sb, **ns;
	size_t cap;

	if (r->n_snap == r->cap_snap) {
		cap = r->cap_snap ? r->cap_snap * 2 : 4;
		if (cap > SIZE_MAX / sizeof(struct collab_shbuf *))
			return COLLAB_ENOMEM;
		ns = fo->a->alloc(fo->a->ctx, cap * sizeof(struct collab_shbuf *));
		if (ns == NULL)
			return COLLAB_ENOMEM;
		if (r->n_snap)
			memcpy(ns, r->snap, r->n_snap * sizeof(struct collab_shbuf *));
		if (r->snap)
			fo->a->free(fo->a->ctx, r->snap,
				    r->cap_snap * sizeof(struct collab_shbuf *));
		r->snap = ns;
		r->cap_snap = cap;
	}
	sb = srv_fanout_frame_text(fo->a, p, len);
	if (sb == NULL)
		return COLLAB_ENOMEM;
	r->snap[r->n_snap++] = sb;
	return 0;
}

int srv_fanout_snapshot(struct srv_fanout *fo, struct srv_room *room,
			struct collab_shbuf *const **frames, size_t *n)
{
	struct srv_fanout_room *r = room->ext;
	int rc;

	if (r == NULL)
		return COLLAB_EINVAL;
	if (!r->snap_ok || r->snap_seq != room->seq) {
		drop_snapshot(r);
		rc = srv_room_encode_state(room, &fo->proto, &fo->buf,
					   snap_emit, r);
		/* The encoding buffer can be large for a big room: keep it
		 * only while it is modest. */
		if (fo->buf.cap > 4 * fo->proto.max_snapshot)
			collab_buf_free(&fo->buf);
		if (rc != 0) {
			drop_snapshot(r);
			return rc;
		}
		r->snap_ok = true;
		r->snap_seq = room->seq;
	}
	*frames = r->snap;
	*n = r->n_snap;
	return 0;
}
