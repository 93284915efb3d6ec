/*
 * client_msg.c - what the client does with each server message
 * (PROTOCOL.md 3 to 5): the session start (welcome, then a snapshot or
 * replayed events, then synced), live events with echo suppression and
 * acknowledgement, rejections, user counts.
 *
 * The resync rule (PROTOCOL.md 3): a client that applies every event whose
 * seq is greater than its last one never misses an update. So an event
 * with seq <= last is never applied (it is a retry's answer or a
 * duplicate; it may still acknowledge an operation of ours), one with seq
 * last + 1 is applied, and one past that is a gap: the connection is ended
 * and the next hello resumes from the last seq, so the server fills the
 * gap by replay or snapshot.
 */
#include "client_int.h"

#include <string.h>

static bool alive(const struct collab_client *c, uint64_t gen)
{
	return c->conn.gen != 0 && c->conn_gen == gen;
}

void cl_msg_reset_session(struct collab_client *c)
{
	c->welcomed = 0;
	c->snapshot_mode = 0;
	c->snapshot_begun = 0;
	c->staging_err = 0;
	cl_room_clear(c, &c->staging);
}

/* A malformed or out-of-order server message: close 1002 and resume. */
static void bad(struct collab_client *c, const char *why)
{
	cl_fail(c, COLLAB_WS_CLOSE_PROTOCOL_ERROR, COLLAB_EPROTO, why);
}

static int copy_str(struct collab_client *c, char **dst, size_t *dlen,
		    struct collab_str s)
{
	char *n = NULL;

	if (s.len) {
		n = cl_alloc(c, s.len);
		if (n == NULL)
			return COLLAB_ENOMEM;
		memcpy(n, s.p, s.len);
	}
	cl_free(c, *dst, *dlen);
	*dst = n;
	*dlen = s.len;
	return 0;
}

static void on_welcome(struct collab_client *c,
		       const struct collab_proto_server_msg *m, uint64_t gen)
{
	const struct collab_proto_welcome_view *w = &m->welcome;
	struct collab_str none = { NULL, 0 };
	int rc;

	if (c->welcomed) {
		bad(c, "a second welcome");
		return;
	}
	if (w->epoch.len > c->cfg.max_epoch) {
		bad(c, "epoch too long");
		return;
	}
	c->snapshot_mode = w->resync == COLLAB_PROTO_RESYNC_SNAPSHOT;
	if (!c->snapshot_mode &&
	    (!c->have_sync || c->want_snapshot || w->seq < c->seq ||
	     !collab_str_eq(w->epoch, c->epoch, c->epoch_len))) {
		/* PROTOCOL.md 3: replay only answers our own since/epoch. */
		bad(c, "replay that does not continue our seq");
		return;
	}
	if (w->epoch.len)
		memcpy(c->new_epoch, w->epoch.p, w->epoch.len);
	c->new_epoch_len = w->epoch.len;
	c->welcome_seq = w->seq;
	rc = copy_str(c, &c->user_id, &c->user_id_len,
		      w->has_user ? w->user.id : none);
	if (rc == 0)
		rc = copy_str(c, &c->user_name, &c->user_name_len,
			      w->has_user ? w->user.name : none);
	if (rc != 0) {
		cl_fail(c, COLLAB_WS_CLOSE_INTERNAL_ERROR, rc, "out of memory");
		return;
	}
	c->welcomed = 1;
	c->count = w->count;
	if (c->hd.on_welcome)
		c->hd.on_welcome(c, w);
	if (alive(c, gen) && c->hd.on_count)
		c->hd.on_count(c, w->count);
}

static void on_snapshot(struct collab_client *c,
			const struct collab_proto_server_msg *m)
{
	struct collab_proto_chat_view ch;
	uint32_t it;
	int rc = 0;

	if (!c->welcomed || !c->snapshot_mode ||
	    c->state == COLLAB_CLIENT_LIVE || m->seq != c->welcome_seq) {
		bad(c, "snapshot outside a snapshot resync");
		return;
	}
	if (m->reset) {
		/* PROTOCOL.md 3: the first message replaces, later ones add. */
		cl_room_clear(c, &c->staging);
		c->staging_err = 0;
		c->snapshot_begun = 1;
	} else if (!c->snapshot_begun) {
		bad(c, "snapshot without reset first");
		return;
	}
	if (c->cfg.keep_room && !c->staging_err) {
		for (it = m->first; it != COLLAB_PROTO_ITER_END && rc == 0;
		     it = collab_proto_msg_next(m, it)) {
			rc = collab_proto_msg_chat(m, it, &ch);
			if (rc == 0)
				rc = cl_room_add_chat(c, &c->staging, m, &ch);
		}
		if (rc != 0) {
			c->staging_err = rc;
			cl_room_clear(c, &c->staging);
		}
	}
	if (c->hd.on_snapshot)
		c->hd.on_snapshot(c, m);
}

/* The copy gathered from a snapshot becomes the local copy, with the
 * pending operations shown on top again. */
static void swap_in_snapshot(struct collab_client *c)
{
	struct collab_client_room old = c->room;
	int rc;

	if (c->staging_err) {
		cl_room_fail(c, c->staging_err);
		return;
	}
	c->room = c->staging;
	c->staging = old;
	cl_room_clear(c, &c->staging);
	c->room_err = 0;
	rc = cl_room_reoverlay(c, &c->room);
	if (rc != 0) {
		cl_room_fail(c, rc);
		return;
	}
	if (c->hd.on_reset)
		c->hd.on_reset(c);
}

static void on_synced(struct collab_client *c,
		      const struct collab_proto_server_msg *m, uint64_t gen)
{
	if (!c->welcomed || c->state == COLLAB_CLIENT_LIVE ||
	    m->seq != c->welcome_seq) {
		bad(c, "synced does not match welcome");
		return;
	}
	if (c->snapshot_mode) {
		if (!c->snapshot_begun) {
			bad(c, "snapshot resync without a snapshot");
			return;
		}
		if (c->new_epoch_len)
			memcpy(c->epoch, c->new_epoch, c->new_epoch_len);
		c->epoch_len = c->new_epoch_len;
		c->seq = m->seq;
		c->have_sync = 1;
		c->want_snapshot = 0;
		if (c->cfg.keep_room)
			swap_in_snapshot(c);
	} else if (c->seq != m->seq) {
		bad(c, "replay ended short of synced");
		return;
	}
	collab_loop_timer_cancel(c->loop, &c->sync_timer);
	if (!alive(c, gen))
		return;
	c->immediate_used = 0;
	/* stable_ms 0, or no memory for the timer: stable at once. */
	if (c->cfg.stable_ms == 0 ||
	    collab_loop_timer_arm(c->loop, &c->stable_timer, c->cfg.stable_ms) != 0)
		c->attempts = 0;
	cl_ops_restart(c);
	cl_set_state(c, COLLAB_CLIENT_LIVE, NULL);
	if (alive(c, gen) && c->hd.on_synced)
		c->hd.on_synced(c, m->seq);
	if (alive(c, gen))
		cl_ops_flush(c);
}

/* Our operation op is answered by the event ev (applied or not). */
static void ack(struct collab_client *c, struct collab_client_op *op,
		const struct collab_proto_event_view *ev)
{
	char bid[COLLAB_UUID_STR_LEN];
	struct collab_str b = { bid, sizeof(bid) };

	memcpy(bid, op->bid, sizeof(bid));
	if (c->cfg.keep_room && !c->room_err && !op->raw)
		cl_room_unoverlay(c, &c->room, op);
	cl_ops_remove(c, op);
	if (c->hd.on_ack)
		c->hd.on_ack(c, b, ev);
}

static void on_event(struct collab_client *c,
		     const struct collab_proto_server_msg *m,
		     const struct collab_proto_event_view *ev)
{
	struct collab_client_op *op;
	int rc;

	if (!c->welcomed) {
		bad(c, "event before welcome");
		return;
	}
	if (c->snapshot_mode && c->state != COLLAB_CLIENT_LIVE) {
		/* PROTOCOL.md 3: events come after synced in a snapshot
		 * resync; one before it would be lost with the old copy. */
		bad(c, "event before synced in a snapshot resync");
		return;
	}
	op = cl_ops_find(c, ev->broadcast_id.p, ev->broadcast_id.len);
	if (ev->seq <= c->seq) {
		/* Applied already: the answer to a retry (PROTOCOL.md 4) or a
		 * duplicate. It still acknowledges our operation. */
		if (op)
			ack(c, op, ev);
		return;
	}
	if (ev->seq != c->seq + 1) {
		bad(c, "seq gap");
		return;
	}
	c->seq = ev->seq;
	if (c->cfg.keep_room && !c->room_err) {
		rc = cl_room_apply_event(c, &c->room, m, ev);
		if (rc != 0)
			cl_room_fail(c, rc);
	}
	if (op)
		ack(c, op, ev);
	else if (!cl_own_has(c, ev->broadcast_id.p, ev->broadcast_id.len) &&
		 c->hd.on_event)
		c->hd.on_event(c, m, ev);
}

static void on_error(struct collab_client *c,
		     const struct collab_proto_server_msg *m)
{
	const struct collab_proto_error_view *e = &m->error;
	struct collab_client_op *op = NULL;
	char bid[COLLAB_UUID_STR_LEN];
	struct collab_str b = { bid, sizeof(bid) };
	bool raw;
	int rc;

	if (e->has_broadcast_id)
		op = cl_ops_find(c, e->broadcast_id.p, e->broadcast_id.len);
	if (op == NULL) {
		if (c->hd.on_error)
			c->hd.on_error(c, e);
		return;
	}
	memcpy(bid, op->bid, sizeof(bid));
	raw = op->raw;
	cl_ops_remove(c, op);
	if (c->cfg.keep_room && !c->room_err && !raw) {
		/* Taken back: the others are shown again on the server's
		 * state, so two pending edits of one comment stay right. */
		rc = cl_room_reoverlay(c, &c->room);
		if (rc != 0)
			cl_room_fail(c, rc);
	}
	if (c->hd.on_reject)
		c->hd.on_reject(c, b, e->code, e->message);
}

static void dispatch(struct collab_client *c,
		     const struct collab_proto_server_msg *m, uint64_t gen)
{
	struct collab_proto_event_view ev;
	uint32_t it;

	switch (m->type) {
	case COLLAB_PROTO_MSG_WELCOME:
		on_welcome(c, m, gen);
		break;
	case COLLAB_PROTO_MSG_SNAPSHOT:
		on_snapshot(c, m);
		break;
	case COLLAB_PROTO_MSG_SYNCED:
		on_synced(c, m, gen);
		break;
	case COLLAB_PROTO_MSG_EVENT:
		on_event(c, m, &m->event);
		break;
	case COLLAB_PROTO_MSG_BATCH:
		for (it = m->first; it != COLLAB_PROTO_ITER_END && alive(c, gen);
		     it = collab_proto_msg_next(m, it)) {
			if (collab_proto_msg_event(m, it, &ev) != 0) {
				bad(c, "bad batch");
				break;
			}
			on_event(c, m, &ev);
		}
		break;
	case COLLAB_PROTO_MSG_USER_COUNT:
		c->count = m->count;
		if (c->hd.on_count)
			c->hd.on_count(c, m->count);
		break;
	case COLLAB_PROTO_MSG_ERROR:
		on_error(c, m);
		break;
	default:
		/* A type this version does not know: skipped, so a newer
		 * server may add messages. */
		break;
	}
}

void cl_msg_handle(struct collab_client *c, const uint8_t *p, size_t len)
{
	struct collab_proto_server_msg m;
	struct collab_proto_mem mem;
	uint64_t gen = c->conn_gen;
	size_t nn, sc;
	int rc;

	if (c->hd.on_raw) {
		c->hd.on_raw(c, p, len);
		if (!alive(c, gen))
			return;
	}
	nn = COLLAB_JSON_NODES_FOR(len);
	sc = collab_proto_client_scratch_size(len);
	if (sc == SIZE_MAX || nn > SIZE_MAX / sizeof(struct collab_json_node)) {
		bad(c, "message too large");
		return;
	}
	mem.max_nodes = nn;
	mem.scratch_cap = sc ? sc : 1;
	mem.nodes = cl_alloc(c, nn * sizeof(struct collab_json_node));
	mem.scratch = cl_alloc(c, mem.scratch_cap);
	if (mem.nodes == NULL || mem.scratch == NULL) {
		cl_free(c, mem.nodes, nn * sizeof(struct collab_json_node));
		cl_free(c, mem.scratch, mem.scratch_cap);
		cl_fail(c, COLLAB_WS_CLOSE_INTERNAL_ERROR, COLLAB_ENOMEM,
			"out of memory");
		return;
	}
	rc = collab_proto_parse_server(&c->cfg.proto, &mem, p, len, &m);
	if (rc == 0)
		dispatch(c, &m, gen);
	else
		bad(c, rc == COLLAB_EPROTO ? m.message : collab_strerror(rc));
	cl_free(c, mem.nodes, nn * sizeof(struct collab_json_node));
	cl_free(c, mem.scratch, mem.scratch_cap);
}
