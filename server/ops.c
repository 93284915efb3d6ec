/*
 * ops.c - operations validated and applied to a room, the per-turn undo
 * log, and re-applying journaled events. See ops.h.
 *
 * Every change goes through one plan, whichever path made it (a live
 * operation or a journaled event): phase one builds the new blocks and the
 * event and reserves every table and array slot the change will need;
 * phase two (execute) links, unlinks or swaps and records the undo entry,
 * and cannot fail. So "a failed allocation changes nothing" and "rollback
 * restores exactly" are each proved in one place.
 */
#include "ops.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Fixed bytes of an encoded event beyond its variable strings: member
 * names, punctuation, up to four 36-byte ids, three 20-digit numbers;
 * generously rounded up. */
#define EVENT_FIXED ((size_t)1024)
/* Worst-case growth of a string when JSON-escaped (\u00XX). */
#define ESCAPE_FACTOR ((size_t)6)

enum undo_kind {
	U_CHAT_NEW = 1,
	U_COMMENT_ADD,
	U_COMMENT_EDIT,
	U_COMMENT_DELETE,
	U_RESOLVE,
	U_CHAT_DELETE
};

/* What one operation will do, with everything it needs already built. */
struct plan {
	enum undo_kind kind;
	struct srv_chat *chat;       /* target; for U_CHAT_NEW the new block */
	struct srv_comment *comment; /* target; for U_COMMENT_ADD the new one */
	char *text;                  /* U_COMMENT_EDIT: the new text block */
	size_t text_len;
	bool resolved;               /* U_RESOLVE */
	struct srv_room_event *ev;   /* the event, bytes included */
};

void srv_ops_limits_init(struct srv_ops_limits *lim)
{
	lim->max_chats_per_room = SRV_OPS_DEFAULT_MAX_CHATS_PER_ROOM;
	lim->max_comments_per_chat = SRV_OPS_DEFAULT_MAX_COMMENTS_PER_CHAT;
}

static void result_init(struct srv_ops_result *res)
{
	memset(res, 0, sizeof(*res));
	res->outcome = SRV_OPS_REJECTED;
	res->err = COLLAB_PROTO_ERR_NONE;
}

static void set_message(struct srv_ops_result *res, const char *m)
{
	int n = snprintf(res->message, sizeof(res->message), "%s", m);

	res->message_len = n < 0 ? 0 :
		((size_t)n < sizeof(res->message) ? (size_t)n :
		 sizeof(res->message) - 1);
}

/* A rejection (PROTOCOL.md 4): 0, since the op was handled. */
static int reject(struct srv_ops_result *res, enum collab_proto_err e,
		  const char *m)
{
	res->outcome = SRV_OPS_REJECTED;
	res->err = e;
	set_message(res, m);
	return 0;
}

/* The op could not be applied at all: the sender hears `unavailable`. */
static int failed(struct srv_ops_result *res, int rc)
{
	res->outcome = SRV_OPS_REJECTED;
	res->err = COLLAB_PROTO_ERR_UNAVAILABLE;
	set_message(res, rc == COLLAB_ENOMEM ?
		    "the server is out of memory" :
		    "the server could not apply the operation");
	return rc;
}

void srv_ops_result_release(struct srv_ops_result *res)
{
	if (res == NULL)
		return;
	collab_shbuf_unref(res->event);
	res->event = NULL;
}

/* ---- the turn ------------------------------------------------------------ */

void srv_ops_turn_init(struct srv_ops_turn *turn, const struct collab_alloc *a)
{
	turn->a = a ? a : collab_alloc_default();
	turn->log = NULL;
	turn->n = 0;
	turn->cap = 0;
}

size_t srv_ops_turn_size(const struct srv_ops_turn *turn)
{
	return turn->n;
}

static int turn_reserve(struct srv_ops_turn *turn)
{
	struct srv_ops_undo *nl;
	size_t cap;

	if (turn == NULL || turn->n < turn->cap)
		return 0;
	cap = turn->cap ? turn->cap : 8;
	if (cap > SIZE_MAX / 2 / sizeof(*nl))
		return COLLAB_ENOMEM;
	cap *= 2;
	nl = turn->a->alloc(turn->a->ctx, cap * sizeof(*nl));
	if (nl == NULL)
		return COLLAB_ENOMEM;
	if (turn->n)
		memcpy(nl, turn->log, turn->n * sizeof(*nl));
	if (turn->log != NULL)
		turn->a->free(turn->a->ctx, turn->log,
			      turn->cap * sizeof(*nl));
	turn->log = nl;
	turn->cap = cap;
	return 0;
}

/* The operation is durable: release what it replaced or removed. */
static void entry_commit(struct srv_ops_undo *u)
{
	struct srv_room *room = u->room;
	struct srv_chat_store *st = &room->chats;

	switch ((enum undo_kind)u->kind) {
	case U_COMMENT_EDIT:
		srv_chat_text_free(st, u->old_text, u->old_len);
		break;
	case U_COMMENT_DELETE:
		srv_chat_comment_free(st, u->comment);
		break;
	case U_CHAT_DELETE:
		srv_chat_free(st, u->chat);
		break;
	case U_CHAT_NEW:
	case U_COMMENT_ADD:
	case U_RESOLVE:
		break;
	}
	/* entries commit oldest first, so a pushed event evicted by a later
	 * entry of the turn is still allocated here */
	u->pushed->uncommitted = false;
	srv_room_event_free(room, u->evicted);
}

/* Exactly undoes one operation; the room is as just after the previous
 * one. Frees only what the operation had created. */
static void entry_undo(struct srv_ops_undo *u)
{
	struct srv_room *room = u->room;
	struct srv_chat_store *st = &room->chats;
	char *t;

	srv_room_ring_unpush(room, u->pushed, u->evicted);
	srv_room_event_free(room, u->pushed);
	room->seq = u->old_seq;
	switch ((enum undo_kind)u->kind) {
	case U_CHAT_NEW:
		srv_chat_unlink(st, u->chat);
		srv_chat_free(st, u->chat);
		break;
	case U_COMMENT_ADD:
		srv_chat_comment_remove(st, u->chat, u->pos);
		srv_chat_comment_free(st, u->comment);
		break;
	case U_COMMENT_EDIT:
		t = u->comment->text;
		srv_chat_text_free(st, t, u->comment->text_len);
		u->comment->text = u->old_text;
		u->comment->text_len = u->old_len;
		break;
	case U_COMMENT_DELETE:
		srv_chat_comment_insert(st, u->comment, u->pos);
		break;
	case U_RESOLVE:
		u->chat->resolved = u->old_resolved;
		break;
	case U_CHAT_DELETE:
		srv_chat_link(st, u->chat, u->prev);
		break;
	}
}

void srv_ops_turn_commit(struct srv_ops_turn *turn)
{
	for (size_t i = 0; i < turn->n; i++) {
		entry_commit(&turn->log[i]);
		turn->log[i].room->pins--;
	}
	for (size_t i = 0; i < turn->n; i++)
		srv_room_check_idle(turn->log[i].room);
	turn->n = 0;
}

void srv_ops_turn_rollback(struct srv_ops_turn *turn)
{
	for (size_t i = turn->n; i-- > 0;) {
		entry_undo(&turn->log[i]);
		turn->log[i].room->pins--;
	}
	for (size_t i = 0; i < turn->n; i++)
		srv_room_check_idle(turn->log[i].room);
	turn->n = 0;
}

void srv_ops_turn_free(struct srv_ops_turn *turn)
{
	if (turn->log != NULL)
		turn->a->free(turn->a->ctx, turn->log,
			      turn->cap * sizeof(*turn->log));
	turn->log = NULL;
	turn->n = 0;
	turn->cap = 0;
}

/* ---- plans ------------------------------------------------------------------ */

/* Frees what phase one built (targets that already live are not owned). */
static void plan_free(struct srv_room *room, struct plan *pl)
{
	struct srv_chat_store *st = &room->chats;

	switch (pl->kind) {
	case U_CHAT_NEW:
		srv_chat_free(st, pl->chat);
		break;
	case U_COMMENT_ADD:
		srv_chat_comment_free(st, pl->comment);
		break;
	case U_COMMENT_EDIT:
		srv_chat_text_free(st, pl->text, pl->text_len);
		break;
	case U_COMMENT_DELETE:
	case U_RESOLVE:
	case U_CHAT_DELETE:
		break;
	}
	srv_room_event_free(room, pl->ev);
	memset(pl, 0, sizeof(*pl));
}

/* Every slot phase two will fill. On failure the plan is freed. */
static int plan_reserve(struct srv_ops_turn *turn, struct srv_room *room,
			struct plan *pl)
{
	struct srv_chat_store *st = &room->chats;
	int rc = turn_reserve(turn);

	if (rc == 0 && pl->kind == U_CHAT_NEW)
		rc = srv_chat_store_reserve(st, 1, pl->chat->n_comments);
	if (rc == 0 && pl->kind == U_COMMENT_ADD) {
		rc = srv_chat_comment_reserve(st, pl->chat);
		if (rc == 0)
			rc = srv_chat_store_reserve(st, 0, 1);
	}
	if (rc == 0)
		rc = srv_room_ring_reserve(room);
	if (rc != 0)
		plan_free(room, pl);
	return rc;
}

/* Phase two: applies the plan, which now belongs to the room (and the
 * undo entry). Cannot fail. */
static void execute(struct srv_ops_turn *turn, struct srv_room *room,
		    struct plan *pl)
{
	struct srv_chat_store *st = &room->chats;
	struct srv_ops_undo u;

	memset(&u, 0, sizeof(u));
	u.kind = (uint8_t)pl->kind;
	u.room = room;
	u.chat = pl->chat;
	u.comment = pl->comment;
	u.old_seq = room->seq;
	switch (pl->kind) {
	case U_CHAT_NEW:
		srv_chat_link(st, pl->chat, st->tail);
		break;
	case U_COMMENT_ADD:
		u.pos = pl->chat->n_comments;
		srv_chat_comment_insert(st, pl->comment, u.pos);
		break;
	case U_COMMENT_EDIT:
		u.old_text = pl->comment->text;
		u.old_len = pl->comment->text_len;
		pl->comment->text = pl->text;
		pl->comment->text_len = pl->text_len;
		break;
	case U_COMMENT_DELETE:
		u.pos = srv_chat_comment_pos(pl->comment);
		srv_chat_comment_remove(st, pl->chat, u.pos);
		break;
	case U_RESOLVE:
		u.old_resolved = pl->chat->resolved;
		pl->chat->resolved = pl->resolved;
		break;
	case U_CHAT_DELETE:
		u.prev = srv_chat_unlink(st, pl->chat);
		break;
	}
	u.pushed = pl->ev;
	srv_room_ring_push(room, pl->ev, &u.evicted);
	room->seq = pl->ev->seq;
	if (turn != NULL) {
		pl->ev->uncommitted = true;
		room->pins++;
		turn->log[turn->n++] = u;
	} else {
		entry_commit(&u);
	}
	srv_room_check_idle(room);
	memset(pl, 0, sizeof(*pl));
}

/* ---- live operations (PROTOCOL.md 4) ----------------------------------- */

static bool same(struct collab_str a, struct collab_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* Saturating acc + factor * n. */
static size_t grow(size_t acc, size_t factor, size_t n)
{
	if (n > SIZE_MAX / factor || n * factor > SIZE_MAX - acc)
		return SIZE_MAX;
	return acc + n * factor;
}

/* Encodes the event once into the registry's scratch and makes the
 * plan's event block from it. */
static int build_event(struct srv_room *room, const struct collab_proto_event *pe,
		       size_t anchor_len, size_t text_len, struct plan *pl)
{
	struct collab_buf *b = &room->reg->scratch;
	size_t bound = EVENT_FIXED, len = 0;
	int rc;

	/* userId and userName appear twice in a new chat (chat, comment) */
	bound = grow(bound, 1, anchor_len);
	bound = grow(bound, 2 * ESCAPE_FACTOR, pe->user_id.len);
	bound = grow(bound, 2 * ESCAPE_FACTOR, pl->kind == U_CHAT_NEW ?
		     pl->chat->user_name_len :
		     (pl->comment != NULL ? pl->comment->user_name_len : 0));
	bound = grow(bound, ESCAPE_FACTOR, text_len);
	b->len = 0;
	if (b->cap < bound || b->p == NULL) {
		rc = collab_buf_reserve(b, bound);
		if (rc != 0)
			return COLLAB_ENOMEM;
	}
	rc = collab_proto_encode_event(pe, b->p, b->cap, &len);
	if (rc != 0)
		return rc;
	return srv_room_event_new(room, pe->seq, pe->broadcast_id.p,
				  pe->user_id, b->p, len, &pl->ev);
}

/* Builds the plan of a validated live op (phase one). */
static int build_live(struct srv_room *room, const struct srv_ops_user *user,
		      const struct collab_proto_op *op, uint64_t now_ms,
		      struct plan *pl)
{
	struct srv_chat_store *st = &room->chats;
	struct collab_proto_event pe;
	struct collab_proto_chat pc;
	struct collab_proto_comment pm;
	size_t anchor_len = 0, text_len = 0;
	int rc = 0;

	memset(&pe, 0, sizeof(pe));
	pe.type = op->type;
	pe.action = op->action;
	pe.seq = room->seq + 1;
	pe.broadcast_id = collab_proto_id_str(&op->broadcast_id);
	pe.ts = now_ms;
	pe.user_id = user->id;
	pe.chat_id = collab_proto_id_str(&op->chat_id);
	pe.comment_id = collab_proto_id_str(&op->comment_id);
	switch (pl->kind) {
	case U_CHAT_NEW:
		rc = srv_chat_new(st, op->chat_id.text, op->anchor, user->id,
				  user->name, now_ms, false, 1, &pl->chat);
		if (rc != 0)
			return rc;
		rc = srv_chat_comment_new(st, pl->chat, op->comment_id.text,
					  user->id, user->name, op->text,
					  now_ms, &pl->comment);
		if (rc != 0)
			break;
		pl->chat->comments[pl->chat->n_comments++] = pl->comment;
		pl->comment = NULL;
		srv_chat_proto(pl->chat, &pc);
		pe.chat = &pc;
		anchor_len = op->anchor.len;
		text_len = op->text.len;
		break;
	case U_COMMENT_ADD:
		rc = srv_chat_comment_new(st, pl->chat, op->comment_id.text,
					  user->id, user->name, op->text,
					  now_ms, &pl->comment);
		if (rc != 0)
			return rc;
		srv_chat_comment_proto(pl->comment, &pm);
		pe.comment = &pm;
		text_len = op->text.len;
		break;
	case U_COMMENT_EDIT:
		rc = srv_chat_text_dup(st, op->text, &pl->text);
		if (rc != 0)
			return rc;
		pl->text_len = op->text.len;
		pe.text = op->text;
		text_len = op->text.len;
		break;
	case U_RESOLVE:
		pl->resolved = op->resolved;
		pe.resolved = op->resolved;
		break;
	case U_COMMENT_DELETE:
	case U_CHAT_DELETE:
		break;
	}
	if (rc == 0)
		rc = build_event(room, &pe, anchor_len, text_len, pl);
	if (rc != 0)
		plan_free(room, pl);
	return rc;
}

/* A rejection inside check(). */
static bool no(struct srv_ops_result *res, enum collab_proto_err e,
	       const char *m)
{
	reject(res, e, m);
	return false;
}

/* Validates op against the room's state and the user's rights; on
 * success fills the plan's kind and targets. Returns true when valid. */
static bool check(struct srv_room *room, const struct srv_ops_limits *lim,
		  const struct srv_ops_user *user,
		  const struct collab_proto_op *op, struct plan *pl,
		  struct srv_ops_result *res)
{
	struct srv_chat_store *st = &room->chats;
	bool mod = user->moderator, author;

	if (op->type == COLLAB_PROTO_TYPE_NEW_TEXT_CHAT) {
		/* PROTOCOL.md 4: unique among live chats; at most
		 * maxChatsPerRoom live chats */
		if (srv_chat_find(st, op->chat_id.text) != NULL)
			return no(res, COLLAB_PROTO_ERR_CONFLICT,
				  "a chat with this id already exists");
		if ((uint64_t)st->n_chats >= lim->max_chats_per_room)
			return no(res, COLLAB_PROTO_ERR_TOO_LARGE,
				  "the room has reached its limit of chats");
		pl->kind = U_CHAT_NEW;
		return true;
	}
	pl->chat = srv_chat_find(st, op->chat_id.text);
	if (pl->chat == NULL)
		return no(res, COLLAB_PROTO_ERR_NOT_FOUND, "no such chat");
	author = same(user->id, srv_chat_user_id(pl->chat));
	if (op->type == COLLAB_PROTO_TYPE_DELETED_TEXT_CHAT) {
		if (!author && !mod)
			return no(res, COLLAB_PROTO_ERR_FORBIDDEN,
				  "only the author or a moderator may delete a chat");
		pl->kind = U_CHAT_DELETE;
		return true;
	}
	switch (op->action) {
	case COLLAB_PROTO_ACTION_ADD_COMMENT:
		/* unique among the chat's live comments; at most
		 * maxCommentsPerChat of them, the first included */
		if (srv_chat_comment_find(st, pl->chat, op->comment_id.text))
			return no(res, COLLAB_PROTO_ERR_CONFLICT,
				  "a comment with this id already exists");
		if ((uint64_t)pl->chat->n_comments >= lim->max_comments_per_chat)
			return no(res, COLLAB_PROTO_ERR_TOO_LARGE,
				  "the chat has reached its limit of comments");
		pl->kind = U_COMMENT_ADD;
		return true;
	case COLLAB_PROTO_ACTION_EDIT_COMMENT:
	case COLLAB_PROTO_ACTION_DELETE_COMMENT:
		pl->comment = srv_chat_comment_find(st, pl->chat,
						    op->comment_id.text);
		if (pl->comment == NULL)
			return no(res, COLLAB_PROTO_ERR_NOT_FOUND,
				  "no such comment");
		author = same(user->id, srv_chat_comment_user_id(pl->comment));
		/* a comment is edited only by its author; deleted by its
		 * author or a moderator */
		if (op->action == COLLAB_PROTO_ACTION_EDIT_COMMENT) {
			if (!author)
				return no(res, COLLAB_PROTO_ERR_FORBIDDEN,
				  "only the author may edit a comment");
			pl->kind = U_COMMENT_EDIT;
			return true;
		}
		if (!author && !mod)
			return no(res, COLLAB_PROTO_ERR_FORBIDDEN,
				  "only the author or a moderator may delete a comment");
		pl->kind = U_COMMENT_DELETE;
		return true;
	case COLLAB_PROTO_ACTION_RESOLVE:
		if (!author && !mod)
			return no(res, COLLAB_PROTO_ERR_FORBIDDEN,
				  "only the author or a moderator may resolve a chat");
		pl->kind = U_RESOLVE;
		return true;
	case COLLAB_PROTO_ACTION_NONE:
		break;
	}
	return false;
}

static bool op_ok(const struct collab_proto_op *op)
{
	if (op->err != COLLAB_PROTO_ERR_NONE)
		return false;
	switch (op->type) {
	case COLLAB_PROTO_TYPE_NEW_TEXT_CHAT:
	case COLLAB_PROTO_TYPE_DELETED_TEXT_CHAT:
		return op->action == COLLAB_PROTO_ACTION_NONE;
	case COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT:
		return op->action != COLLAB_PROTO_ACTION_NONE;
	case COLLAB_PROTO_TYPE_HELLO:
	case COLLAB_PROTO_TYPE_NONE:
		break;
	}
	return false;
}

int srv_ops_apply(struct srv_ops_turn *turn, struct srv_room *room,
		  const struct srv_ops_limits *lim,
		  const struct srv_ops_user *user,
		  const struct collab_proto_op *op, uint64_t now_ms,
		  struct srv_ops_result *res)
{
	const struct srv_room_event *ev;
	struct plan pl;
	int rc;

	if (res == NULL)
		return COLLAB_EINVAL;
	result_init(res);
	if (room == NULL || lim == NULL || user == NULL || op == NULL ||
	    !op_ok(op) || lim->max_chats_per_room == 0 ||
	    lim->max_comments_per_chat == 0)
		return failed(res, COLLAB_EINVAL);
	/* PROTOCOL.md 4: anonymous users cannot write */
	if (user->anonymous)
		return reject(res, COLLAB_PROTO_ERR_FORBIDDEN,
			      "anonymous users cannot write");
	/* PROTOCOL.md 4, retries: a retained broadcastId is answered with
	 * its original event when the same user sends it again */
	ev = srv_room_event_find(room, op->broadcast_id.text);
	if (ev != NULL) {
		struct collab_str uid = { ev->user_id, ev->user_id_len };
		if (!same(uid, user->id))
			return reject(res, COLLAB_PROTO_ERR_CONFLICT,
				      "this broadcastId was used by another user");
		res->outcome = SRV_OPS_DUPLICATE;
		res->event = collab_shbuf_ref(ev->msg);
		res->seq = ev->seq;
		res->pending = ev->uncommitted;
		return 0;
	}
	memset(&pl, 0, sizeof(pl));
	if (!check(room, lim, user, op, &pl, res))
		return res->err != COLLAB_PROTO_ERR_NONE ? 0 :
		       failed(res, COLLAB_EINVAL);
	rc = build_live(room, user, op, now_ms, &pl);
	if (rc == 0)
		rc = plan_reserve(turn, room, &pl);
	if (rc != 0)
		return failed(res, rc);
	res->outcome = SRV_OPS_APPLIED;
	res->err = COLLAB_PROTO_ERR_NONE;
	res->seq = pl.ev->seq;
	res->event = collab_shbuf_ref(pl.ev->msg);
	execute(turn, room, &pl);
	return 0;
}

/* ---- journaled events (PROTOCOL.md 8) ------------------------------------ */

static int corrupt(struct srv_ops_result *res, const char *m)
{
	res->outcome = SRV_OPS_REJECTED;
	set_message(res, m);
	return COLLAB_ECORRUPT;
}

/* A canonical id member's text (ids are hex and '-', so raw == value). */
static const char *id_of(const struct collab_json_doc *d, uint32_t obj,
			 const char *name, size_t nlen)
{
	uint32_t n = collab_json_obj_get(d, obj, name, nlen);
	struct collab_str raw = collab_json_raw(d, n);

	if (collab_json_type(d, n) != COLLAB_JSON_STRING ||
	    !srv_chat_id_ok(raw.p, raw.len))
		return NULL;
	return raw.p;
}

static enum collab_proto_action action_of(const struct collab_json_doc *d,
					  uint32_t root)
{
	static const enum collab_proto_action all[] = {
		COLLAB_PROTO_ACTION_ADD_COMMENT,
		COLLAB_PROTO_ACTION_EDIT_COMMENT,
		COLLAB_PROTO_ACTION_DELETE_COMMENT,
		COLLAB_PROTO_ACTION_RESOLVE
	};
	uint32_t n = collab_json_obj_get(d, root, COLLAB_JSON_LIT("action"));

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		const char *name = collab_proto_action_name(all[i]);
		if (collab_json_str_eq(d, n, name, strlen(name)))
			return all[i];
	}
	return COLLAB_PROTO_ACTION_NONE;
}

/* The plan of an updated-text-chat event on chat pl->chat. */
static int build_update(struct srv_room *room, const struct collab_json_doc *d,
			uint32_t root, struct plan *pl,
			struct srv_ops_result *res)
{
	struct srv_chat_store *st = &room->chats;
	char m[COLLAB_PROTO_MESSAGE_CAP] = "";
	const char *cid;
	uint32_t n;
	size_t got = 0;
	int rc;

	switch (action_of(d, root)) {
	case COLLAB_PROTO_ACTION_ADD_COMMENT:
		rc = srv_chat_comment_from_json(st, pl->chat, d,
			collab_json_obj_get(d, root, COLLAB_JSON_LIT("comment")),
			&pl->comment, m, sizeof(m));
		if (rc != 0)
			return rc == COLLAB_ECORRUPT ? corrupt(res, m) : rc;
		pl->kind = U_COMMENT_ADD;
		if (srv_chat_comment_find(st, pl->chat, pl->comment->id)) {
			plan_free(room, pl);
			return corrupt(res, "event adds a comment id already live");
		}
		return 0;
	case COLLAB_PROTO_ACTION_EDIT_COMMENT:
	case COLLAB_PROTO_ACTION_DELETE_COMMENT:
		cid = id_of(d, root, COLLAB_JSON_LIT("commentId"));
		pl->comment = cid ? srv_chat_comment_find(st, pl->chat, cid) :
			      NULL;
		if (pl->comment == NULL)
			return corrupt(res, "event names no live comment");
		if (action_of(d, root) == COLLAB_PROTO_ACTION_DELETE_COMMENT) {
			pl->kind = U_COMMENT_DELETE;
			return 0;
		}
		n = collab_json_obj_get(d, root, COLLAB_JSON_LIT("text"));
		if (collab_json_type(d, n) != COLLAB_JSON_STRING ||
		    d->nodes[n].dlen == 0)
			return corrupt(res, "event text missing or empty");
		pl->text_len = d->nodes[n].dlen;
		pl->text = st->a->alloc(st->a->ctx, pl->text_len);
		if (pl->text == NULL)
			return COLLAB_ENOMEM;
		collab_json_str(d, n, (uint8_t *)pl->text, pl->text_len, &got);
		pl->kind = U_COMMENT_EDIT;
		return 0;
	case COLLAB_PROTO_ACTION_RESOLVE:
		if (collab_json_get_bool(d, collab_json_obj_get(d, root,
				COLLAB_JSON_LIT("resolved")), &pl->resolved) != 0)
			return corrupt(res, "event resolved is not a boolean");
		pl->kind = U_RESOLVE;
		return 0;
	case COLLAB_PROTO_ACTION_NONE:
		break;
	}
	return corrupt(res, "event action missing or unknown");
}

int srv_ops_apply_event(struct srv_ops_turn *turn, struct srv_room *room,
			const uint8_t *p, size_t len,
			struct srv_ops_result *res)
{
	struct srv_chat_store *st;
	struct srv_room_event_head h;
	struct collab_json_doc d;
	struct plan pl;
	uint32_t root;
	const char *id;
	char m[COLLAB_PROTO_MESSAGE_CAP] = "";
	int rc;

	if (res == NULL)
		return COLLAB_EINVAL;
	result_init(res);
	if (room == NULL || (p == NULL && len > 0))
		return COLLAB_EINVAL;
	st = &room->chats;
	rc = srv_room_parse_record(room->reg, p, len, &d, m, sizeof(m));
	if (rc == 0)
		rc = srv_room_event_head(&d, &h, m, sizeof(m));
	if (rc != 0)
		return rc == COLLAB_ECORRUPT ? corrupt(res, m) : rc;
	/* PROTOCOL.md 5: seq rises by exactly one per event; a gap or a
	 * repeat in the journal is corruption, never skipped */
	if (h.seq != room->seq + 1) {
		(void)snprintf(m, sizeof(m), "event seq %" PRIu64
			 " does not follow room seq %" PRIu64, h.seq, room->seq);
		return corrupt(res, m);
	}
	root = collab_json_root(&d);
	memset(&pl, 0, sizeof(pl));
	if (h.type == COLLAB_PROTO_TYPE_NEW_TEXT_CHAT) {
		rc = srv_chat_from_json(st, &d, collab_json_obj_get(&d, root,
					COLLAB_JSON_LIT("chat")), &pl.chat,
					m, sizeof(m));
		if (rc != 0)
			return rc == COLLAB_ECORRUPT ? corrupt(res, m) : rc;
		pl.kind = U_CHAT_NEW;
		if (srv_chat_find(st, pl.chat->id) != NULL) {
			plan_free(room, &pl);
			return corrupt(res, "event creates a chat id already live");
		}
	} else {
		id = id_of(&d, root, COLLAB_JSON_LIT("chatId"));
		pl.chat = id ? srv_chat_find(st, id) : NULL;
		if (pl.chat == NULL)
			return corrupt(res, "event names no live chat");
		if (h.type == COLLAB_PROTO_TYPE_DELETED_TEXT_CHAT)
			pl.kind = U_CHAT_DELETE;
		else if ((rc = build_update(room, &d, root, &pl, res)) != 0)
			return rc;
	}
	rc = srv_room_event_from_doc(room, &d, &h, &pl.ev);
	if (rc != 0)
		plan_free(room, &pl);
	else
		rc = plan_reserve(turn, room, &pl);
	if (rc != 0)
		return rc;
	res->outcome = SRV_OPS_APPLIED;
	res->seq = h.seq;
	execute(turn, room, &pl);
	return 0;
}
