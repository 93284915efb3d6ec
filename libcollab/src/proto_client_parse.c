/*
 * proto_client_parse.c - the client side of PROTOCOL.md, inbound half:
 * server messages (sections 3, 4 and 5) parsed and checked into views.
 *
 * The message is read once with the strict JSON reader; every member is
 * then looked up by name (so member order and unknown members do not
 * matter, see proto.h) and checked for presence and type. A parse checks
 * the whole message, every chat, comment and batched event included, so
 * that a client never applies half of a message and then finds the rest
 * malformed; the iteration functions then read elements again with the
 * same code, which cannot fail on what the parse accepted.
 *
 * Where decoded bytes go. A string with escapes is decoded, and an anchor
 * re-encoded, at scratch + 2 * (its byte offset in the message), bounded
 * by 2 * (its raw length). Distinct strings and anchors have disjoint raw
 * ranges, so their places are disjoint too, and every value can be
 * decoded again, in any order, without moving another: views stay valid
 * for the life of the parse. Twice, because canonical re-encoding at most
 * doubles an anchor (a raw U+2028 or U+2029, three bytes, is written as
 * a six-byte escape; every other construct keeps or shrinks its length),
 * while a decoded string is never longer than its raw text.
 */
#include "collab/proto.h"

#include <stdio.h>
#include <string.h>

#include "collab/json.h"

#define NAME(lit) (lit), (sizeof(lit) - 1)
#define NONE COLLAB_JSON_NONE

void collab_proto_client_config_init(struct collab_proto_client_config *cfg)
{
	collab_json_config_init(&cfg->json);
	cfg->json.max_input = COLLAB_PROTO_CLIENT_DEFAULT_MAX_MESSAGE;
	cfg->json.max_depth = COLLAB_PROTO_CLIENT_DEFAULT_MAX_DEPTH;
}

size_t collab_proto_client_scratch_size(size_t len)
{
	return len > SIZE_MAX / 2 ? SIZE_MAX : 2 * len;
}

/* One parse, or one iteration call. */
struct rd {
	const struct collab_json_doc *d;
	uint8_t *scratch;       /* at least 2 * d->in_len bytes */
	const char *outer;      /* where in the message: "", "chats[].", ... */
	char *msg;              /* NULL: no message wanted (iteration) */
	size_t *msg_len;
};

/* Rejects the message, naming the field as "<what><outer><pre><field>". */
static int reject(struct rd *c, const char *what, const char *pre,
		  const char *field)
{
	int n;

	if (c->msg == NULL)
		return COLLAB_EPROTO;
	n = snprintf(c->msg, COLLAB_PROTO_MESSAGE_CAP, "%s%s%s%s", what,
		     c->outer, pre, field);
	if (n < 0)
		n = 0;
	*c->msg_len = (size_t)n < COLLAB_PROTO_MESSAGE_CAP ?
		(size_t)n : COLLAB_PROTO_MESSAGE_CAP - 1;
	return COLLAB_EPROTO;
}

/* The member name of obj, present with type t (COLLAB_JSON_TRUE stands
 * for either boolean). */
static int member(struct rd *c, uint32_t obj, const char *name, size_t nlen,
		  enum collab_json_type t, const char *pre, uint32_t *out)
{
	static const char *const expect[] = {
		[COLLAB_JSON_STRING] = "field must be a string: ",
		[COLLAB_JSON_OBJECT] = "field must be an object: ",
		[COLLAB_JSON_ARRAY] = "field must be an array: ",
		[COLLAB_JSON_TRUE] = "field must be a boolean: ",
	};
	uint32_t v = collab_json_obj_get(c->d, obj, name, nlen);
	enum collab_json_type have = collab_json_type(c->d, v);

	if (v == NONE)
		return reject(c, "missing field: ", pre, name);
	if (have == t || (t == COLLAB_JSON_TRUE && have == COLLAB_JSON_FALSE)) {
		*out = v;
		return 0;
	}
	return reject(c, expect[t], pre, name);
}

/* String node v's decoded value: zero-copy when it has no escapes, else
 * decoded at its own place in the scratch (see the top of the file). */
static int str_at(struct rd *c, uint32_t v, struct collab_str *out)
{
	const struct collab_json_node *nd = &c->d->nodes[v];

	if (collab_json_str_view(c->d, v, c->scratch + 2 * (size_t)nd->off,
				 nd->dlen, out) != 0)
		return reject(c, "bad string: ", "", "");
	return 0;
}

static int get_str(struct rd *c, uint32_t obj, const char *name, size_t nlen,
		   const char *pre, struct collab_str *out)
{
	uint32_t v = NONE;
	int rc = member(c, obj, name, nlen, COLLAB_JSON_STRING, pre, &v);

	return rc != 0 ? rc : str_at(c, v, out);
}

/* PROTOCOL.md 3 and 5: seq, ts, createdAt and counts are integers from 0;
 * the integer grammar only (57.0 is not one), up to 2^64 - 1. */
static int get_u64(struct rd *c, uint32_t obj, const char *name, size_t nlen,
		   const char *pre, uint64_t *out)
{
	uint32_t v = collab_json_obj_get(c->d, obj, name, nlen);

	if (v == NONE)
		return reject(c, "missing field: ", pre, name);
	if (collab_json_get_u64(c->d, v, out) != 0)
		return reject(c, "field must be a non-negative integer: ", pre,
			      name);
	return 0;
}

static int get_bool(struct rd *c, uint32_t obj, const char *name, size_t nlen,
		    const char *pre, bool *out)
{
	uint32_t v = NONE;
	int rc = member(c, obj, name, nlen, COLLAB_JSON_TRUE, pre, &v);

	if (rc == 0)
		*out = collab_json_type(c->d, v) == COLLAB_JSON_TRUE;
	return rc;
}

/* The array member name of obj: its length and first element. */
static int get_list(struct rd *c, uint32_t obj, const char *name,
		    size_t nlen, const char *pre, size_t *n, uint32_t *first)
{
	uint32_t v = NONE;
	int rc = member(c, obj, name, nlen, COLLAB_JSON_ARRAY, pre, &v);

	if (rc != 0)
		return rc;
	*n = collab_json_count(c->d, v);
	*first = collab_json_first(c->d, v);
	return 0;
}

/* PROTOCOL.md 4 and 5: the anchor is a JSON object; handed to the client
 * re-encoded canonically, at its place in the scratch. */
static int get_anchor(struct rd *c, uint32_t chat, const char *pre,
		      struct collab_str *out)
{
	const struct collab_json_node *nd;
	struct collab_json_writer w;
	uint32_t v = NONE;
	uint8_t *slot;
	size_t n = 0;
	int rc = member(c, chat, NAME("anchor"), COLLAB_JSON_OBJECT, pre, &v);

	if (rc != 0)
		return rc;
	nd = &c->d->nodes[v];
	slot = c->scratch + 2 * (size_t)nd->off;
	collab_json_writer_init(&w, slot, 2 * (size_t)nd->len);
	w.max_depth = COLLAB_JSON_WRITER_STACK;
	collab_json_write_node(&w, c->d, v);
	/* the place always suffices, so the writer fails only on depth */
	if (collab_json_writer_finish(&w, &n) != 0)
		return reject(c, "anchor nested too deeply: ", pre, "anchor");
	out->p = (const char *)slot;
	out->len = n;
	return 0;
}

/* PROTOCOL.md 5: {"id","userId","userName","text","createdAt"}. */
static int read_comment(struct rd *c, uint32_t node, const char *pre,
			struct collab_proto_comment *cm)
{
	int rc;

	memset(cm, 0, sizeof *cm);
	if (collab_json_type(c->d, node) != COLLAB_JSON_OBJECT)
		return reject(c, "comment must be an object: ", pre, "");
	rc = get_str(c, node, NAME("id"), pre, &cm->id);
	if (rc == 0)
		rc = get_str(c, node, NAME("userId"), pre, &cm->user_id);
	if (rc == 0)
		rc = get_str(c, node, NAME("userName"), pre, &cm->user_name);
	if (rc == 0)
		rc = get_str(c, node, NAME("text"), pre, &cm->text);
	if (rc == 0)
		rc = get_u64(c, node, NAME("createdAt"), pre, &cm->created_at);
	return rc;
}

/*
 * PROTOCOL.md 5: the chat of new-text-chat, also each chat of a snapshot
 * (section 3). deep: check every comment too (the parse); the iteration
 * functions read comments one by one instead.
 */
static int read_chat(struct rd *c, uint32_t node, const char *pre,
		     const char *cpre, bool deep,
		     struct collab_proto_chat_view *ch)
{
	struct collab_proto_comment cm;
	int rc;

	memset(ch, 0, sizeof *ch);
	ch->first_comment = NONE;
	if (collab_json_type(c->d, node) != COLLAB_JSON_OBJECT)
		return reject(c, "chat must be an object: ", pre, "");
	rc = get_str(c, node, NAME("id"), pre, &ch->id);
	if (rc == 0)
		rc = get_anchor(c, node, pre, &ch->anchor);
	if (rc == 0)
		rc = get_str(c, node, NAME("userId"), pre, &ch->user_id);
	if (rc == 0)
		rc = get_str(c, node, NAME("userName"), pre, &ch->user_name);
	if (rc == 0)
		rc = get_u64(c, node, NAME("createdAt"), pre, &ch->created_at);
	if (rc == 0)
		rc = get_bool(c, node, NAME("resolved"), pre, &ch->resolved);
	if (rc == 0)
		rc = get_list(c, node, NAME("comments"), pre, &ch->n_comments,
			      &ch->first_comment);
	for (uint32_t it = ch->first_comment; deep && rc == 0 && it != NONE;
	     it = collab_json_next(c->d, it))
		rc = read_comment(c, it, cpre, &cm);
	return rc;
}

/* Every `type` a server message may have, and what it is. */
static const struct {
	const char *name;
	size_t len;
	enum collab_proto_msg_type msg;
	enum collab_proto_type event;
} kinds[] = {
	{ NAME("welcome"), COLLAB_PROTO_MSG_WELCOME, COLLAB_PROTO_TYPE_NONE },
	{ NAME("snapshot"), COLLAB_PROTO_MSG_SNAPSHOT, COLLAB_PROTO_TYPE_NONE },
	{ NAME("synced"), COLLAB_PROTO_MSG_SYNCED, COLLAB_PROTO_TYPE_NONE },
	{ NAME("new-text-chat"), COLLAB_PROTO_MSG_EVENT,
	  COLLAB_PROTO_TYPE_NEW_TEXT_CHAT },
	{ NAME("updated-text-chat"), COLLAB_PROTO_MSG_EVENT,
	  COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT },
	{ NAME("deleted-text-chat"), COLLAB_PROTO_MSG_EVENT,
	  COLLAB_PROTO_TYPE_DELETED_TEXT_CHAT },
	{ NAME("user-count"), COLLAB_PROTO_MSG_USER_COUNT,
	  COLLAB_PROTO_TYPE_NONE },
	{ NAME("error"), COLLAB_PROTO_MSG_ERROR, COLLAB_PROTO_TYPE_NONE },
	{ NAME("batch"), COLLAB_PROTO_MSG_BATCH, COLLAB_PROTO_TYPE_NONE },
	/* a client message: known, and never one the server sends */
	{ NAME("hello"), COLLAB_PROTO_MSG_NONE, COLLAB_PROTO_TYPE_HELLO },
};
#define N_KINDS (sizeof kinds / sizeof kinds[0])

/* The `type` of object node: *k its index in kinds, or N_KINDS for a
 * string this version does not know (then *tv is its view). */
static int read_kind(struct rd *c, uint32_t node, size_t *k,
		     struct collab_str *tv)
{
	uint32_t v = NONE;
	int rc = member(c, node, NAME("type"), COLLAB_JSON_STRING, "", &v);

	if (rc != 0)
		return rc;
	for (*k = 0; *k < N_KINDS; ++*k)
		if (collab_json_str_eq(c->d, v, kinds[*k].name, kinds[*k].len))
			return 0;
	return str_at(c, v, tv);
}

static const struct {
	const char *name;
	size_t len;
	enum collab_proto_action action;
} actions[] = {
	{ NAME("add-comment"), COLLAB_PROTO_ACTION_ADD_COMMENT },
	{ NAME("edit-comment"), COLLAB_PROTO_ACTION_EDIT_COMMENT },
	{ NAME("delete-comment"), COLLAB_PROTO_ACTION_DELETE_COMMENT },
	{ NAME("resolve"), COLLAB_PROTO_ACTION_RESOLVE },
};

/* PROTOCOL.md 5: updated-text-chat's action and what it carries. */
static int read_update(struct rd *c, uint32_t node,
		       struct collab_proto_event_view *ev)
{
	uint32_t v = NONE;
	int rc = member(c, node, NAME("action"), COLLAB_JSON_STRING, "", &v);

	if (rc != 0)
		return rc;
	for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
		if (collab_json_str_eq(c->d, v, actions[i].name, actions[i].len))
			ev->action = actions[i].action;
	switch (ev->action) {
	case COLLAB_PROTO_ACTION_ADD_COMMENT:
		rc = member(c, node, NAME("comment"), COLLAB_JSON_OBJECT, "", &v);
		if (rc == 0)
			rc = read_comment(c, v, "comment.", &ev->comment);
		ev->comment_id = ev->comment.id;
		return rc;
	case COLLAB_PROTO_ACTION_EDIT_COMMENT:
		rc = get_str(c, node, NAME("commentId"), "", &ev->comment_id);
		return rc != 0 ? rc :
		       get_str(c, node, NAME("text"), "", &ev->text);
	case COLLAB_PROTO_ACTION_DELETE_COMMENT:
		return get_str(c, node, NAME("commentId"), "", &ev->comment_id);
	case COLLAB_PROTO_ACTION_RESOLVE:
		return get_bool(c, node, NAME("resolved"), "", &ev->resolved);
	case COLLAB_PROTO_ACTION_NONE:
		break;
	}
	return reject(c, "unknown action: ", "", "action");
}

/* PROTOCOL.md 5: an event of type t at object node. */
static int read_event(struct rd *c, uint32_t node, enum collab_proto_type t,
		      bool deep, struct collab_proto_event_view *ev)
{
	uint32_t v = NONE;
	int rc;

	memset(ev, 0, sizeof *ev);
	ev->chat.first_comment = NONE;
	ev->type = t;
	/* the members every event starts with */
	rc = get_u64(c, node, NAME("seq"), "", &ev->seq);
	if (rc == 0)
		rc = get_str(c, node, NAME("broadcastId"), "", &ev->broadcast_id);
	if (rc == 0)
		rc = get_u64(c, node, NAME("ts"), "", &ev->ts);
	if (rc == 0)
		rc = get_str(c, node, NAME("userId"), "", &ev->user_id);
	if (rc != 0)
		return rc;
	switch (t) {
	case COLLAB_PROTO_TYPE_NEW_TEXT_CHAT:
		rc = member(c, node, NAME("chat"), COLLAB_JSON_OBJECT, "", &v);
		if (rc == 0)
			rc = read_chat(c, v, "chat.", "chat.comments[].", deep,
				       &ev->chat);
		ev->chat_id = ev->chat.id;
		return rc;
	case COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT:
		rc = get_str(c, node, NAME("chatId"), "", &ev->chat_id);
		return rc != 0 ? rc : read_update(c, node, ev);
	case COLLAB_PROTO_TYPE_DELETED_TEXT_CHAT:
		return get_str(c, node, NAME("chatId"), "", &ev->chat_id);
	case COLLAB_PROTO_TYPE_HELLO:
	case COLLAB_PROTO_TYPE_NONE:
		break;
	}
	return reject(c, "not an event: ", "", "type");
}

/*
 * An element of a batch: an event, and only that. PROTOCOL.md 5: batch
 * never nests, and user-count is always a message of its own.
 */
static int read_batched(struct rd *c, uint32_t node, bool deep,
			struct collab_proto_event_view *ev)
{
	struct collab_str tv;
	size_t k = N_KINDS;
	int rc;

	if (collab_json_type(c->d, node) != COLLAB_JSON_OBJECT)
		return reject(c, "event must be an object: ", "", "");
	rc = read_kind(c, node, &k, &tv);
	if (rc != 0)
		return rc;
	if (k < N_KINDS && kinds[k].msg == COLLAB_PROTO_MSG_EVENT)
		return read_event(c, node, kinds[k].event, deep, ev);
	if (k < N_KINDS && kinds[k].msg == COLLAB_PROTO_MSG_BATCH)
		return reject(c, "a batch inside a batch: ", "", "type");
	if (k < N_KINDS && kinds[k].msg == COLLAB_PROTO_MSG_USER_COUNT)
		return reject(c, "a user-count inside a batch: ", "", "type");
	return reject(c, "not an event: ", "", "type");
}

/* PROTOCOL.md 3, answer 1. */
static int read_welcome(struct rd *c, uint32_t root,
			struct collab_proto_welcome_view *w)
{
	uint32_t v = NONE;
	int rc = get_str(c, root, NAME("connectionId"), "", &w->connection_id);

	if (rc != 0)
		return rc;
	/* an object, or null for an anonymous connection */
	v = collab_json_obj_get(c->d, root, NAME("user"));
	switch (collab_json_type(c->d, v)) {
	case COLLAB_JSON_ABSENT:
		return reject(c, "missing field: ", "", "user");
	case COLLAB_JSON_NULL:
		break;
	case COLLAB_JSON_OBJECT:
		w->has_user = true;
		rc = get_str(c, v, NAME("id"), "user.", &w->user.id);
		if (rc == 0)
			rc = get_str(c, v, NAME("name"), "user.", &w->user.name);
		if (rc == 0)
			rc = get_bool(c, v, NAME("moderator"), "user.",
				      &w->user.moderator);
		if (rc != 0)
			return rc;
		break;
	default:
		return reject(c, "field must be an object or null: ", "", "user");
	}
	rc = get_str(c, root, NAME("epoch"), "", &w->epoch);
	if (rc == 0)
		rc = get_u64(c, root, NAME("seq"), "", &w->seq);
	if (rc == 0)
		rc = get_u64(c, root, NAME("count"), "", &w->count);
	if (rc == 0)
		rc = member(c, root, NAME("resync"), COLLAB_JSON_STRING, "", &v);
	if (rc != 0)
		return rc;
	if (collab_json_str_eq(c->d, v, NAME("replay")))
		w->resync = COLLAB_PROTO_RESYNC_REPLAY;
	else if (collab_json_str_eq(c->d, v, NAME("snapshot")))
		w->resync = COLLAB_PROTO_RESYNC_SNAPSHOT;
	else
		return reject(c, "unknown resync: ", "", "resync");
	return 0;
}

/* PROTOCOL.md 4: the rejection of an operation. */
static int read_error(struct rd *c, uint32_t root,
		      struct collab_proto_error_view *e)
{
	uint32_t v = collab_json_obj_get(c->d, root, NAME("broadcastId"));
	int rc;

	/* a string, or null when the operation had no valid one */
	switch (collab_json_type(c->d, v)) {
	case COLLAB_JSON_ABSENT:
		return reject(c, "missing field: ", "", "broadcastId");
	case COLLAB_JSON_NULL:
		break;
	case COLLAB_JSON_STRING:
		e->has_broadcast_id = true;
		rc = str_at(c, v, &e->broadcast_id);
		if (rc != 0)
			return rc;
		break;
	default:
		return reject(c, "field must be a string or null: ", "",
			      "broadcastId");
	}
	rc = member(c, root, NAME("code"), COLLAB_JSON_STRING, "", &v);
	if (rc != 0)
		return rc;
	/* PROTOCOL.md 4 lists every code */
	for (int i = COLLAB_PROTO_ERR_INVALID; i <= COLLAB_PROTO_ERR_UNAVAILABLE;
	     i++) {
		const char *name = collab_proto_err_name((enum collab_proto_err)i);
		if (collab_json_str_eq(c->d, v, name, strlen(name)))
			e->code = (enum collab_proto_err)i;
	}
	if (e->code == COLLAB_PROTO_ERR_NONE)
		return reject(c, "unknown error code: ", "", "code");
	return get_str(c, root, NAME("message"), "", &e->message);
}

static int read_snapshot(struct rd *c, uint32_t root,
			 struct collab_proto_server_msg *m)
{
	struct collab_proto_chat_view ch;
	int rc = get_u64(c, root, NAME("seq"), "", &m->seq);

	if (rc == 0)
		rc = get_bool(c, root, NAME("reset"), "", &m->reset);
	if (rc == 0)
		rc = get_list(c, root, NAME("chats"), "", &m->n_items,
			      &m->first);
	c->outer = "chats[].";
	for (uint32_t it = m->first; rc == 0 && it != NONE;
	     it = collab_json_next(c->d, it))
		rc = read_chat(c, it, "", "comments[].", true, &ch);
	return rc;
}

static int read_batch(struct rd *c, uint32_t root,
		      struct collab_proto_server_msg *m)
{
	struct collab_proto_event_view ev;
	int rc = get_list(c, root, NAME("events"), "", &m->n_items, &m->first);

	c->outer = "events[].";
	for (uint32_t it = m->first; rc == 0 && it != NONE;
	     it = collab_json_next(c->d, it))
		rc = read_batched(c, it, true, &ev);
	return rc;
}

static int read_msg(struct rd *c, struct collab_proto_server_msg *m)
{
	uint32_t root = collab_json_root(c->d);
	size_t k = N_KINDS;
	int rc;

	/* PROTOCOL.md 2: every message is one JSON object */
	if (collab_json_type(c->d, root) != COLLAB_JSON_OBJECT)
		return reject(c, "message is not a JSON object", "", "");
	rc = read_kind(c, root, &k, &m->type_name);
	if (rc != 0)
		return rc;
	if (k == N_KINDS) {
		/* a newer server's message: the client skips it */
		m->type = COLLAB_PROTO_MSG_UNKNOWN;
		return 0;
	}
	m->type = kinds[k].msg;
	switch (kinds[k].msg) {
	case COLLAB_PROTO_MSG_WELCOME:
		return read_welcome(c, root, &m->welcome);
	case COLLAB_PROTO_MSG_SNAPSHOT:
		return read_snapshot(c, root, m);
	case COLLAB_PROTO_MSG_SYNCED:
		return get_u64(c, root, NAME("seq"), "", &m->seq);
	case COLLAB_PROTO_MSG_EVENT:
		return read_event(c, root, kinds[k].event, true, &m->event);
	case COLLAB_PROTO_MSG_USER_COUNT:
		return get_u64(c, root, NAME("count"), "", &m->count);
	case COLLAB_PROTO_MSG_ERROR:
		return read_error(c, root, &m->error);
	case COLLAB_PROTO_MSG_BATCH:
		return read_batch(c, root, m);
	case COLLAB_PROTO_MSG_NONE:
	case COLLAB_PROTO_MSG_UNKNOWN:
		break;
	}
	return reject(c, "not a server message: ", "", kinds[k].name);
}

/* Zero, with every position at the end. */
static void clear_msg(struct collab_proto_server_msg *m)
{
	memset(m, 0, sizeof *m);
	m->first = NONE;
	m->event.chat.first_comment = NONE;
}

int collab_proto_parse_server(const struct collab_proto_client_config *cfg,
			      const struct collab_proto_mem *mem,
			      const uint8_t *p, size_t len,
			      struct collab_proto_server_msg *m)
{
	struct collab_proto_client_config def;
	char msg[COLLAB_PROTO_MESSAGE_CAP];
	size_t msg_len = 0;
	struct rd c;
	int rc;

	if (m == NULL)
		return COLLAB_EINVAL;
	clear_msg(m);
	if (cfg == NULL) {
		collab_proto_client_config_init(&def);
		cfg = &def;
	}
	if (mem == NULL || (p == NULL && len != 0) ||
	    (mem->nodes == NULL && mem->max_nodes != 0) ||
	    (mem->scratch == NULL && mem->scratch_cap != 0) ||
	    cfg->json.max_input > COLLAB_JSON_MAX_INPUT_CAP)
		return COLLAB_EINVAL;
	/* With less memory a valid message could fail for want of it, and
	 * that must never look like the server's fault. */
	if (mem->max_nodes < COLLAB_JSON_NODES_FOR(len) ||
	    mem->scratch_cap < collab_proto_client_scratch_size(len))
		return COLLAB_ESPACE;
	c.d = &m->doc;
	c.scratch = mem->scratch;
	c.outer = "";
	c.msg = m->message;
	c.msg_len = &m->message_len;
	rc = collab_json_parse(&cfg->json, p, len, mem->nodes, mem->max_nodes,
			       &m->doc);
	if (rc == COLLAB_EINVAL)
		return rc;
	if (rc == COLLAB_ELIMIT)
		rc = reject(&c, "message over the reader's limits (size, depth)",
			    "", "");
	else if (rc != 0)
		rc = reject(&c, "message is not valid JSON", "", "");
	else
		rc = read_msg(&c, m);
	if (rc != 0) {
		/* a rejected message shows only why (proto.h) */
		memcpy(msg, m->message, sizeof msg);
		msg_len = m->message_len;
		clear_msg(m);
		memcpy(m->message, msg, sizeof msg);
		m->message_len = msg_len;
		return rc;
	}
	m->scratch = mem->scratch;
	m->scratch_cap = mem->scratch_cap;
	return 0;
}

/* ---- iteration ---------------------------------------------------------- */

uint32_t collab_proto_msg_next(const struct collab_proto_server_msg *m,
			       uint32_t it)
{
	return m == NULL ? NONE : collab_json_next(&m->doc, it);
}

/* The reader for an iteration call: no message, the parse's scratch. */
static bool iter_rd(const struct collab_proto_server_msg *m, struct rd *c)
{
	if (m == NULL || m->scratch == NULL ||
	    m->scratch_cap < collab_proto_client_scratch_size(m->doc.in_len))
		return false;
	c->d = &m->doc;
	c->scratch = m->scratch;
	c->outer = "";
	c->msg = NULL;
	c->msg_len = NULL;
	return true;
}

int collab_proto_msg_chat(const struct collab_proto_server_msg *m,
			  uint32_t it, struct collab_proto_chat_view *chat)
{
	struct rd c;

	if (chat == NULL)
		return COLLAB_EINVAL;
	if (iter_rd(m, &c) && read_chat(&c, it, "", "", false, chat) == 0)
		return 0;
	memset(chat, 0, sizeof *chat);
	chat->first_comment = NONE;
	return COLLAB_EINVAL;
}

int collab_proto_msg_event(const struct collab_proto_server_msg *m,
			   uint32_t it, struct collab_proto_event_view *ev)
{
	struct rd c;

	if (ev == NULL)
		return COLLAB_EINVAL;
	if (iter_rd(m, &c) && read_batched(&c, it, false, ev) == 0)
		return 0;
	memset(ev, 0, sizeof *ev);
	ev->chat.first_comment = NONE;
	return COLLAB_EINVAL;
}

int collab_proto_msg_comment(const struct collab_proto_server_msg *m,
			     uint32_t it, struct collab_proto_comment *c)
{
	struct rd r;

	if (c == NULL)
		return COLLAB_EINVAL;
	if (iter_rd(m, &r) && read_comment(&r, it, "", c) == 0)
		return 0;
	memset(c, 0, sizeof *c);
	return COLLAB_EINVAL;
}
