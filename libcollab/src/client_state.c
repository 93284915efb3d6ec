/*
 * client_state.c - the client's local copy of the room (cfg.keep_room):
 * chats in creation order (a list, plus a chained hash table by id), each
 * with its comments in creation order (a list; a chat holds at most
 * max_comments, so lookups by id walk it).
 *
 * Two layers share the nodes. The server's state, as of the last applied
 * seq, is in the plain fields. Pending operations are shown on top
 * (overlays): a chat or comment made here carries create_owner (the op's
 * id), an edited text sits in local_text with text_owner, a resolve in
 * local_resolved with resolve_owner, a deletion in del_owner. Server
 * events change the plain fields only (an event naming a chat or comment
 * made here turns it into the server's: its create_owner is cleared), so
 * remote updates are never lost under a pending overlay, and taking an
 * overlay back shows the server's value again.
 */
#include "client_int.h"

#include <string.h>

/* First size of the hash table; it doubles when it holds as many chats as
 * it has buckets. */
#define ROOM_MIN_BUCKETS 16u

/* ---- nodes ---------------------------------------------------------------------- */

static void comment_free(struct collab_client *c, struct collab_client_comment *cm)
{
	cl_str_free(c, &cm->id);
	cl_str_free(c, &cm->user_id);
	cl_str_free(c, &cm->user_name);
	cl_str_free(c, &cm->text);
	cl_str_free(c, &cm->local_text);
	cl_free(c, cm, sizeof(*cm));
}

static void comment_unlink(struct collab_client_chat *ch,
			   struct collab_client_comment *cm)
{
	if (cm->prev)
		cm->prev->next = cm->next;
	else
		ch->c_head = cm->next;
	if (cm->next)
		cm->next->prev = cm->prev;
	else
		ch->c_tail = cm->prev;
	ch->n_comments--;
}

/* Links cm after `after` (NULL: first). */
static void comment_link(struct collab_client_chat *ch, struct collab_client_comment *cm,
			 struct collab_client_comment *after)
{
	cm->prev = after;
	cm->next = after ? after->next : ch->c_head;
	if (cm->next)
		cm->next->prev = cm;
	else
		ch->c_tail = cm;
	if (after)
		after->next = cm;
	else
		ch->c_head = cm;
	ch->n_comments++;
}

/*
 * Comments (and chats) made here and not yet acknowledged are kept after
 * the server's ones: the server will order them after everything it
 * applied before them, so a remote one arriving meanwhile goes before
 * them, and an acknowledged one moves to the end of the server's ones.
 * This is the last of the server's comments (NULL: none).
 */
static struct collab_client_comment *comment_settled_tail(const struct collab_client_chat *ch)
{
	struct collab_client_comment *p = ch->c_tail;

	while (p && p->create_owner)
		p = p->prev;
	return p;
}

static void comment_remove(struct collab_client *c, struct collab_client_chat *ch,
			   struct collab_client_comment *cm)
{
	comment_unlink(ch, cm);
	comment_free(c, cm);
}

static struct collab_client_comment *comment_find(const struct collab_client_chat *ch,
						  const char *id, size_t len)
{
	struct collab_client_comment *cm;

	for (cm = ch->c_head; cm; cm = cm->next)
		if (cm->id.len == len && (len == 0 || memcmp(cm->id.p, id, len) == 0))
			return cm;
	return NULL;
}

/* A new comment linked after `after` (NULL: first). */
static int comment_add(struct collab_client *c, struct collab_client_chat *ch,
		       struct collab_client_comment *after,
		       const struct collab_proto_comment *v,
		       struct collab_client_comment **out)
{
	struct collab_client_comment *cm;
	int rc;

	if (ch->n_comments >= c->cfg.max_comments)
		return COLLAB_ELIMIT;
	cm = cl_alloc(c, sizeof(*cm));
	if (cm == NULL)
		return COLLAB_ENOMEM;
	memset(cm, 0, sizeof(*cm));
	rc = cl_str_set(c, &cm->id, v->id.p, v->id.len);
	if (rc == 0)
		rc = cl_str_set(c, &cm->user_id, v->user_id.p, v->user_id.len);
	if (rc == 0)
		rc = cl_str_set(c, &cm->user_name, v->user_name.p, v->user_name.len);
	if (rc == 0)
		rc = cl_str_set(c, &cm->text, v->text.p, v->text.len);
	if (rc != 0) {
		comment_free(c, cm);
		return rc;
	}
	cm->created_at = v->created_at;
	comment_link(ch, cm, after);
	if (out)
		*out = cm;
	return 0;
}

/* The server's values of a comment (an event or snapshot names it). */
static int comment_set(struct collab_client *c, struct collab_client_comment *cm,
		       const struct collab_proto_comment *v)
{
	int rc = cl_str_set(c, &cm->user_id, v->user_id.p, v->user_id.len);

	if (rc == 0)
		rc = cl_str_set(c, &cm->user_name, v->user_name.p, v->user_name.len);
	if (rc == 0)
		rc = cl_str_set(c, &cm->text, v->text.p, v->text.len);
	if (rc == 0) {
		cm->created_at = v->created_at;
		cm->create_owner = 0;
	}
	return rc;
}

static void chat_free(struct collab_client *c, struct collab_client_chat *ch)
{
	while (ch->c_head)
		comment_remove(c, ch, ch->c_head);
	cl_str_free(c, &ch->id);
	cl_str_free(c, &ch->anchor);
	cl_str_free(c, &ch->user_id);
	cl_str_free(c, &ch->user_name);
	cl_free(c, ch, sizeof(*ch));
}

static struct collab_client_chat *chat_find(const struct collab_client_room *r,
					    const char *id, size_t len)
{
	struct collab_client_chat *ch;
	uint64_t h;

	if (r->nbuckets == 0)
		return NULL;
	h = cl_hash(id, len);
	for (ch = r->buckets[h & (r->nbuckets - 1)]; ch; ch = ch->hnext)
		if (ch->hash == h && ch->id.len == len &&
		    (len == 0 || memcmp(ch->id.p, id, len) == 0))
			return ch;
	return NULL;
}

static int room_grow(struct collab_client *c, struct collab_client_room *r)
{
	struct collab_client_chat **nb, *ch;
	size_t n = r->nbuckets ? r->nbuckets * 2 : ROOM_MIN_BUCKETS, i;

	if (n > SIZE_MAX / sizeof(struct collab_client_chat *))
		return COLLAB_ENOMEM;
	nb = cl_alloc(c, n * sizeof(struct collab_client_chat *));
	if (nb == NULL)
		return COLLAB_ENOMEM;
	for (i = 0; i < n; i++)
		nb[i] = NULL;
	for (ch = r->head; ch; ch = ch->next) {
		size_t b = (size_t)(ch->hash & (n - 1));

		ch->hnext = nb[b];
		nb[b] = ch;
	}
	cl_free(c, r->buckets, r->nbuckets * sizeof(struct collab_client_chat *));
	r->buckets = nb;
	r->nbuckets = n;
	return 0;
}

/* The order list only (the hash and the count are the callers'). */
static void chat_unlink(struct collab_client_room *r, struct collab_client_chat *ch)
{
	if (ch->prev)
		ch->prev->next = ch->next;
	else
		r->head = ch->next;
	if (ch->next)
		ch->next->prev = ch->prev;
	else
		r->tail = ch->prev;
}

static void chat_link(struct collab_client_room *r, struct collab_client_chat *ch,
		      struct collab_client_chat *after)
{
	ch->prev = after;
	ch->next = after ? after->next : r->head;
	if (ch->next)
		ch->next->prev = ch;
	else
		r->tail = ch;
	if (after)
		after->next = ch;
	else
		r->head = ch;
}

/* The last of the server's chats (see comment_settled_tail). */
static struct collab_client_chat *chat_settled_tail(const struct collab_client_room *r)
{
	struct collab_client_chat *p = r->tail;

	while (p && p->create_owner)
		p = p->prev;
	return p;
}

static void chat_remove(struct collab_client *c, struct collab_client_room *r,
			struct collab_client_chat *ch)
{
	struct collab_client_chat **pp = &r->buckets[ch->hash & (r->nbuckets - 1)];

	while (*pp != ch)
		pp = &(*pp)->hnext;
	*pp = ch->hnext;
	chat_unlink(r, ch);
	r->n--;
	chat_free(c, ch);
}

/* A new chat (no comments): a pending one at the end, a server's one
 * after the server's others. */
static int chat_add(struct collab_client *c, struct collab_client_room *r,
		    struct collab_str id, struct collab_str anchor,
		    struct collab_str user_id, struct collab_str user_name,
		    uint64_t created_at, bool resolved, bool pending,
		    struct collab_client_chat **out)
{
	struct collab_client_chat *ch;
	size_t b;
	int rc;

	if (r->n >= c->cfg.max_chats)
		return COLLAB_ELIMIT;
	if (r->n >= r->nbuckets) {
		rc = room_grow(c, r);
		if (rc != 0)
			return rc;
	}
	ch = cl_alloc(c, sizeof(*ch));
	if (ch == NULL)
		return COLLAB_ENOMEM;
	memset(ch, 0, sizeof(*ch));
	rc = cl_str_set(c, &ch->id, id.p, id.len);
	if (rc == 0)
		rc = cl_str_set(c, &ch->anchor, anchor.p, anchor.len);
	if (rc == 0)
		rc = cl_str_set(c, &ch->user_id, user_id.p, user_id.len);
	if (rc == 0)
		rc = cl_str_set(c, &ch->user_name, user_name.p, user_name.len);
	if (rc != 0) {
		chat_free(c, ch);
		return rc;
	}
	ch->created_at = created_at;
	ch->resolved = resolved;
	ch->hash = cl_hash(id.p, id.len);
	b = (size_t)(ch->hash & (r->nbuckets - 1));
	ch->hnext = r->buckets[b];
	r->buckets[b] = ch;
	chat_link(r, ch, pending ? r->tail : chat_settled_tail(r));
	r->n++;
	*out = ch;
	return 0;
}

void cl_room_clear(struct collab_client *c, struct collab_client_room *r)
{
	while (r->head)
		chat_remove(c, r, r->head);
	cl_free(c, r->buckets, r->nbuckets * sizeof(struct collab_client_chat *));
	memset(r, 0, sizeof(*r));
}

void cl_room_fail(struct collab_client *c, int err)
{
	c->room_err = err;
	cl_room_clear(c, &c->room);
	if (c->hd.on_room_error)
		c->hd.on_room_error(c, err);
}

/* ---- the server's state ------------------------------------------------------ */

/*
 * The chat view's values and comments into r: a new chat, or (when the id
 * is there, e.g. a chat made here) its values replaced by the server's,
 * comments named by the view updated or inserted in the view's order, and
 * comments the view does not name kept (pending ones made here).
 */
static int put_chat(struct collab_client *c, struct collab_client_room *r,
		    const struct collab_proto_server_msg *m,
		    const struct collab_proto_chat_view *v)
{
	struct collab_client_chat *ch = chat_find(r, v->id.p, v->id.len);
	struct collab_client_comment *prev = NULL, *cm;
	struct collab_proto_comment cv;
	uint32_t it;
	int rc = 0;

	if (ch == NULL) {
		rc = chat_add(c, r, v->id, v->anchor, v->user_id, v->user_name,
			      v->created_at, v->resolved, false, &ch);
	} else {
		if (ch->create_owner) {
			/* Ours, now the server's: after the server's others. */
			ch->create_owner = 0;
			chat_unlink(r, ch);
			chat_link(r, ch, chat_settled_tail(r));
		}
		rc = cl_str_set(c, &ch->anchor, v->anchor.p, v->anchor.len);
		if (rc == 0)
			rc = cl_str_set(c, &ch->user_id, v->user_id.p, v->user_id.len);
		if (rc == 0)
			rc = cl_str_set(c, &ch->user_name, v->user_name.p,
					v->user_name.len);
		ch->created_at = v->created_at;
		ch->resolved = v->resolved;
	}
	for (it = v->first_comment; rc == 0 && it != COLLAB_PROTO_ITER_END;
	     it = collab_proto_msg_next(m, it)) {
		rc = collab_proto_msg_comment(m, it, &cv);
		if (rc != 0)
			break;
		cm = comment_find(ch, cv.id.p, cv.id.len);
		if (cm && cm == prev)
			continue; /* named twice: the server's bug, skipped */
		if (cm) {
			rc = comment_set(c, cm, &cv);
			if (rc == 0 && cm->prev != prev) {
				/* Into the server's order. */
				comment_unlink(ch, cm);
				comment_link(ch, cm, prev);
			}
		} else {
			rc = comment_add(c, ch, prev, &cv, &cm);
		}
		prev = cm;
	}
	return rc;
}

int cl_room_add_chat(struct collab_client *c, struct collab_client_room *r,
		     const struct collab_proto_server_msg *m,
		     const struct collab_proto_chat_view *ch)
{
	struct collab_client_chat *old = chat_find(r, ch->id.p, ch->id.len);

	/* A snapshot names each chat once; should one come twice, the
	 * later one wins whole. */
	if (old)
		chat_remove(c, r, old);
	return put_chat(c, r, m, ch);
}

int cl_room_apply_event(struct collab_client *c, struct collab_client_room *r,
			const struct collab_proto_server_msg *m,
			const struct collab_proto_event_view *ev)
{
	struct collab_client_chat *ch;
	struct collab_client_comment *cm;

	if (ev->type == COLLAB_PROTO_TYPE_NEW_TEXT_CHAT)
		return put_chat(c, r, m, &ev->chat);
	/* Events naming a chat or comment the copy does not hold change
	 * nothing: the server accepted them, so the copy is what lags, and
	 * the next snapshot puts it right. */
	ch = chat_find(r, ev->chat_id.p, ev->chat_id.len);
	if (ch == NULL)
		return 0;
	if (ev->type == COLLAB_PROTO_TYPE_DELETED_TEXT_CHAT) {
		chat_remove(c, r, ch);
		return 0;
	}
	switch (ev->action) {
	case COLLAB_PROTO_ACTION_ADD_COMMENT:
		cm = comment_find(ch, ev->comment.id.p, ev->comment.id.len);
		if (cm == NULL)
			return comment_add(c, ch, comment_settled_tail(ch),
					   &ev->comment, NULL);
		if (cm->create_owner) {
			/* Ours, now the server's: after the server's others. */
			comment_unlink(ch, cm);
			cm->create_owner = 0;
			comment_link(ch, cm, comment_settled_tail(ch));
		}
		return comment_set(c, cm, &ev->comment);
	case COLLAB_PROTO_ACTION_EDIT_COMMENT:
		cm = comment_find(ch, ev->comment_id.p, ev->comment_id.len);
		if (cm)
			return cl_str_set(c, &cm->text, ev->text.p, ev->text.len);
		return 0;
	case COLLAB_PROTO_ACTION_DELETE_COMMENT:
		cm = comment_find(ch, ev->comment_id.p, ev->comment_id.len);
		if (cm)
			comment_remove(c, ch, cm);
		return 0;
	case COLLAB_PROTO_ACTION_RESOLVE:
		ch->resolved = ev->resolved;
		return 0;
	default:
		return 0;
	}
}

/* ---- pending overlays ------------------------------------------------------------ */

static struct collab_str view(const char *p, size_t len)
{
	struct collab_str s = { p, len };
	return s;
}

int cl_room_overlay(struct collab_client *c, struct collab_client_room *r,
		    const struct collab_client_op *op)
{
	struct collab_client_chat *ch;
	struct collab_client_comment *cm = NULL;
	struct collab_proto_comment v;
	int rc;

	if (op->raw || !op->tracked)
		return 0;
	ch = chat_find(r, op->chat_id, COLLAB_UUID_STR_LEN);
	memset(&v, 0, sizeof(v));
	v.id = view(op->comment_id, COLLAB_UUID_STR_LEN);
	v.user_id = view(c->user_id, c->user_id_len);
	v.user_name = view(c->user_name, c->user_name_len);
	v.text = view(op->text, op->text_len);
	if (op->type == COLLAB_PROTO_TYPE_NEW_TEXT_CHAT) {
		if (ch)
			return 0; /* the server has it already */
		rc = chat_add(c, r, view(op->chat_id, COLLAB_UUID_STR_LEN),
			      view(op->anchor, op->anchor_len), v.user_id,
			      v.user_name, 0, false, true, &ch);
		if (rc != 0)
			return rc;
		ch->create_owner = op->id;
		rc = comment_add(c, ch, NULL, &v, &cm);
		if (rc == 0)
			cm->create_owner = op->id;
		return rc;
	}
	if (ch == NULL)
		return 0;
	if (op->type == COLLAB_PROTO_TYPE_DELETED_TEXT_CHAT) {
		ch->del_owner = op->id;
		return 0;
	}
	if (op->action == COLLAB_PROTO_ACTION_RESOLVE) {
		ch->local_resolved = op->resolved;
		ch->resolve_owner = op->id;
		return 0;
	}
	cm = comment_find(ch, op->comment_id, COLLAB_UUID_STR_LEN);
	switch (op->action) {
	case COLLAB_PROTO_ACTION_ADD_COMMENT:
		if (cm)
			return 0;
		rc = comment_add(c, ch, ch->c_tail, &v, &cm);
		if (rc == 0)
			cm->create_owner = op->id;
		return rc;
	case COLLAB_PROTO_ACTION_EDIT_COMMENT:
		if (cm == NULL)
			return 0;
		rc = cl_str_set(c, &cm->local_text, op->text, op->text_len);
		if (rc == 0)
			cm->text_owner = op->id;
		return rc;
	case COLLAB_PROTO_ACTION_DELETE_COMMENT:
		if (cm)
			cm->del_owner = op->id;
		return 0;
	default:
		return 0;
	}
}

void cl_room_unoverlay(struct collab_client *c, struct collab_client_room *r,
		       const struct collab_client_op *op)
{
	struct collab_client_chat *ch;
	struct collab_client_comment *cm;

	if (op->raw || !op->tracked)
		return;
	ch = chat_find(r, op->chat_id, COLLAB_UUID_STR_LEN);
	if (ch == NULL)
		return;
	if (ch->create_owner == op->id) {
		/* Still not the server's: the operation failed, or its
		 * answer was an old event whose chat is gone since. */
		chat_remove(c, r, ch);
		return;
	}
	if (ch->resolve_owner == op->id)
		ch->resolve_owner = 0;
	if (ch->del_owner == op->id)
		ch->del_owner = 0;
	cm = comment_find(ch, op->comment_id, COLLAB_UUID_STR_LEN);
	if (cm == NULL)
		return;
	if (cm->create_owner == op->id) {
		comment_remove(c, ch, cm);
		return;
	}
	if (cm->text_owner == op->id) {
		cm->text_owner = 0;
		cl_str_free(c, &cm->local_text);
	}
	if (cm->del_owner == op->id)
		cm->del_owner = 0;
}

int cl_room_reoverlay(struct collab_client *c, struct collab_client_room *r)
{
	struct collab_client_chat *ch, *nch;
	struct collab_client_comment *cm, *ncm;
	struct collab_client_op *op;
	int rc;

	for (ch = r->head; ch; ch = nch) {
		nch = ch->next;
		if (ch->create_owner) {
			chat_remove(c, r, ch);
			continue;
		}
		ch->resolve_owner = 0;
		ch->del_owner = 0;
		for (cm = ch->c_head; cm; cm = ncm) {
			ncm = cm->next;
			if (cm->create_owner) {
				comment_remove(c, ch, cm);
				continue;
			}
			cm->text_owner = 0;
			cm->del_owner = 0;
			cl_str_free(c, &cm->local_text);
		}
	}
	for (op = c->op_head; op; op = op->next) {
		rc = cl_room_overlay(c, r, op);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ---- accessors ------------------------------------------------------------------------ */

int collab_client_room_error(const struct collab_client *c)
{
	return c->room_err;
}

size_t collab_client_chat_count(const struct collab_client *c)
{
	return c->room.n;
}

const struct collab_client_chat *collab_client_chat_first(const struct collab_client *c)
{
	return c->room.head;
}

const struct collab_client_chat *collab_client_chat_next(const struct collab_client_chat *ch)
{
	return ch->next;
}

const struct collab_client_chat *collab_client_chat_find(const struct collab_client *c,
							  const char *id, size_t len)
{
	if (id == NULL && len)
		return NULL;
	return chat_find(&c->room, id, len);
}

void collab_client_chat_get(const struct collab_client_chat *ch,
			    struct collab_client_chat_info *out)
{
	out->id = view(ch->id.p, ch->id.len);
	out->anchor = view(ch->anchor.p, ch->anchor.len);
	out->user_id = view(ch->user_id.p, ch->user_id.len);
	out->user_name = view(ch->user_name.p, ch->user_name.len);
	out->created_at = ch->created_at;
	out->resolved = ch->resolve_owner ? ch->local_resolved : ch->resolved;
	out->n_comments = ch->n_comments;
	out->pending = (ch->create_owner ? COLLAB_CLIENT_PENDING_CREATE : 0u) |
		       (ch->resolve_owner ? COLLAB_CLIENT_PENDING_UPDATE : 0u) |
		       (ch->del_owner ? COLLAB_CLIENT_PENDING_DELETE : 0u);
}

const struct collab_client_comment *collab_client_comment_first(const struct collab_client_chat *ch)
{
	return ch->c_head;
}

const struct collab_client_comment *collab_client_comment_next(const struct collab_client_comment *cm)
{
	return cm->next;
}

const struct collab_client_comment *collab_client_comment_find(const struct collab_client_chat *ch,
								const char *id, size_t len)
{
	if (id == NULL && len)
		return NULL;
	return comment_find(ch, id, len);
}

void collab_client_comment_get(const struct collab_client_comment *cm,
			       struct collab_client_comment_info *out)
{
	out->id = view(cm->id.p, cm->id.len);
	out->user_id = view(cm->user_id.p, cm->user_id.len);
	out->user_name = view(cm->user_name.p, cm->user_name.len);
	if (cm->text_owner)
		out->text = view(cm->local_text.p, cm->local_text.len);
	else
		out->text = view(cm->text.p, cm->text.len);
	out->created_at = cm->created_at;
	out->pending = (cm->create_owner ? COLLAB_CLIENT_PENDING_CREATE : 0u) |
		       (cm->text_owner ? COLLAB_CLIENT_PENDING_UPDATE : 0u) |
		       (cm->del_owner ? COLLAB_CLIENT_PENDING_DELETE : 0u);
}
