/*
 * proto_parse.c - client messages of PROTOCOL.md (hello, section 3; the
 * operations, section 4) parsed and validated into caller-owned structs.
 *
 * The message is read once with the strict JSON reader; every field is
 * then looked up by name (so member order and unknown members do not
 * matter) and checked for presence, type and range. A rejection names the
 * field in a short message for the `error` reply or the server's log.
 * Size faults (`too-large`) are recorded and the walk goes on, so that a
 * message that is also malformed is reported `invalid` (see proto.h).
 */
#include "collab/proto.h"

#include <stdio.h>
#include <string.h>

#include "collab/json.h"
#include "collab/uuid.h"

/* A literal name and its length, for the JSON lookups. */
#define NAME(lit) (lit), (sizeof(lit) - 1)

void collab_proto_config_init(struct collab_proto_config *cfg)
{
	cfg->max_text = COLLAB_PROTO_DEFAULT_MAX_TEXT;
	cfg->max_anchor = COLLAB_PROTO_DEFAULT_MAX_ANCHOR;
	cfg->max_batch = COLLAB_PROTO_DEFAULT_MAX_BATCH;
	cfg->max_snapshot = COLLAB_PROTO_DEFAULT_MAX_SNAPSHOT;
	collab_json_config_init(&cfg->json);
}

const char *collab_proto_err_name(enum collab_proto_err e)
{
	/* PROTOCOL.md 4: the codes, spelled as on the wire */
	switch (e) {
	case COLLAB_PROTO_ERR_INVALID: return "invalid";
	case COLLAB_PROTO_ERR_FORBIDDEN: return "forbidden";
	case COLLAB_PROTO_ERR_NOT_FOUND: return "not-found";
	case COLLAB_PROTO_ERR_CONFLICT: return "conflict";
	case COLLAB_PROTO_ERR_TOO_LARGE: return "too-large";
	case COLLAB_PROTO_ERR_RATE_LIMITED: return "rate-limited";
	case COLLAB_PROTO_ERR_UNAVAILABLE: return "unavailable";
	case COLLAB_PROTO_ERR_NONE: break;
	}
	return NULL;
}

const char *collab_proto_type_name(enum collab_proto_type t)
{
	switch (t) {
	case COLLAB_PROTO_TYPE_HELLO: return "hello";
	case COLLAB_PROTO_TYPE_NEW_TEXT_CHAT: return "new-text-chat";
	case COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT: return "updated-text-chat";
	case COLLAB_PROTO_TYPE_DELETED_TEXT_CHAT: return "deleted-text-chat";
	case COLLAB_PROTO_TYPE_NONE: break;
	}
	return NULL;
}

const char *collab_proto_action_name(enum collab_proto_action a)
{
	switch (a) {
	case COLLAB_PROTO_ACTION_ADD_COMMENT: return "add-comment";
	case COLLAB_PROTO_ACTION_EDIT_COMMENT: return "edit-comment";
	case COLLAB_PROTO_ACTION_DELETE_COMMENT: return "delete-comment";
	case COLLAB_PROTO_ACTION_RESOLVE: return "resolve";
	case COLLAB_PROTO_ACTION_NONE: break;
	}
	return NULL;
}

/* Limits that make the layout of the scratch impossible are caller bugs. */
static int check_config(const struct collab_proto_config *cfg)
{
	if (cfg->max_text < 1 || cfg->max_anchor < 2 ||
	    cfg->max_text > SIZE_MAX - cfg->max_anchor)
		return COLLAB_EINVAL;
	if (cfg->json.max_input > COLLAB_JSON_MAX_INPUT_CAP)
		return COLLAB_EINVAL;
	return 0;
}

size_t collab_proto_scratch_size(const struct collab_proto_config *cfg,
				 size_t len)
{
	struct collab_proto_config def;
	size_t ops;

	if (cfg == NULL) {
		collab_proto_config_init(&def);
		cfg = &def;
	}
	if (cfg->max_text > SIZE_MAX - cfg->max_anchor)
		return SIZE_MAX;
	ops = cfg->max_text + cfg->max_anchor;
	return len > ops ? len : ops;
}

/* Checks the arguments every parse shares and runs the JSON reader.
 * Returns 0 (doc holds the reader's verdict, which may be an error of the
 * input), or a caller bug. */
static int read_json(const struct collab_proto_config *cfg,
		     const struct collab_proto_mem *mem,
		     const uint8_t *p, size_t len, struct collab_json_doc *doc)
{
	int rc;

	memset(doc, 0, sizeof *doc);
	if (mem == NULL || (p == NULL && len != 0))
		return COLLAB_EINVAL;
	if ((mem->nodes == NULL && mem->max_nodes != 0) ||
	    (mem->scratch == NULL && mem->scratch_cap != 0))
		return COLLAB_EINVAL;
	rc = check_config(cfg);
	if (rc != 0)
		return rc;
	/* With fewer nodes a valid message could fail for want of them,
	 * and that must never look like the client's fault. */
	if (mem->max_nodes < COLLAB_JSON_NODES_FOR(len) ||
	    mem->scratch_cap < collab_proto_scratch_size(cfg, len))
		return COLLAB_ESPACE;
	rc = collab_json_parse(&cfg->json, p, len, mem->nodes, mem->max_nodes,
			       doc);
	return rc == COLLAB_EINVAL ? rc : 0;
}

/* Writes "<what><path><tail>" into a message buffer, cut to fit. */
static void set_message3(char *buf, size_t *blen, const char *what,
			 const char *path, const char *tail)
{
	int n = snprintf(buf, COLLAB_PROTO_MESSAGE_CAP, "%s%s%s", what, path,
			 tail);

	if (n < 0)
		n = 0;
	*blen = (size_t)n < COLLAB_PROTO_MESSAGE_CAP ?
		(size_t)n : COLLAB_PROTO_MESSAGE_CAP - 1;
}

static void set_message(char *buf, size_t *blen, const char *what,
			const char *path)
{
	set_message3(buf, blen, what, path, "");
}

/* ---- hello ------------------------------------------------------------ */

static int bad_hello(struct collab_proto_hello *h, const char *what,
		     const char *path)
{
	set_message(h->message, &h->message_len, what, path);
	return COLLAB_EPROTO;
}

/* An optional string member of the hello: absent, or a string decoded
 * into *view (scratch used from *used on when it has escapes). */
static int hello_str(const struct collab_json_doc *d, uint32_t root,
		     const char *name, size_t nlen,
		     const struct collab_proto_mem *mem, size_t *used,
		     bool *present, struct collab_str *view)
{
	uint32_t v = collab_json_obj_get(d, root, name, nlen);
	int rc;

	*present = false;
	if (v == COLLAB_JSON_NONE)
		return 0;
	if (collab_json_type(d, v) != COLLAB_JSON_STRING)
		return COLLAB_ETYPE;
	/* the decoded strings of one message total at most its length,
	 * which the scratch holds (collab_proto_scratch_size) */
	rc = collab_json_str_view(d, v, mem->scratch + *used,
				  mem->scratch_cap - *used, view);
	if (rc != 0)
		return rc;
	if ((const uint8_t *)view->p == mem->scratch + *used)
		*used += view->len;
	*present = true;
	return 0;
}

int collab_proto_parse_hello(const struct collab_proto_config *cfg,
			     const struct collab_proto_mem *mem,
			     const uint8_t *p, size_t len,
			     struct collab_proto_hello *h)
{
	struct collab_proto_config def;
	struct collab_json_doc d;
	uint32_t root, v;
	bool has_epoch = false;
	size_t used = 0;
	int64_t since;
	int rc;

	if (h == NULL)
		return COLLAB_EINVAL;
	memset(h, 0, sizeof *h);
	if (cfg == NULL) {
		collab_proto_config_init(&def);
		cfg = &def;
	}
	rc = read_json(cfg, mem, p, len, &d);
	if (rc != 0)
		return rc;
	if (d.err != 0)
		return bad_hello(h, "message is not valid JSON", "");
	root = collab_json_root(&d);
	/* PROTOCOL.md 3: the first message is a well-formed hello object */
	if (collab_json_type(&d, root) != COLLAB_JSON_OBJECT)
		return bad_hello(h, "message is not a JSON object", "");
	v = collab_json_obj_get(&d, root, NAME("type"));
	if (v == COLLAB_JSON_NONE)
		return bad_hello(h, "missing field: ", "type");
	if (!collab_json_str_eq(&d, v, NAME("hello")))
		return bad_hello(h, "first message is not a hello", "");

	/* PROTOCOL.md 3: a field of the wrong type, null included, is
	 * malformed; absent optional fields are fine */
	rc = hello_str(&d, root, NAME("token"), mem, &used, &h->has_token,
		       &h->token);
	if (rc != 0)
		return bad_hello(h, "field must be a string: ", "token");
	rc = hello_str(&d, root, NAME("epoch"), mem, &used, &has_epoch,
		       &h->epoch);
	if (rc != 0)
		return bad_hello(h, "field must be a string: ", "epoch");

	v = collab_json_obj_get(&d, root, NAME("since"));
	if (v != COLLAB_JSON_NONE) {
		/* integer grammar only, and never negative */
		rc = collab_json_get_i64(&d, v, &since);
		if (rc != 0 || since < 0)
			return bad_hello(h, "field must be a non-negative integer: ",
					 "since");
		h->since = (uint64_t)since;
		h->has_since = true;
	}
	/* PROTOCOL.md 3: since and epoch, both present or both absent */
	if (h->has_since != has_epoch)
		return bad_hello(h, "since and epoch must come together", "");
	if (!has_epoch)
		h->epoch = (struct collab_str){ NULL, 0 };
	return 0;
}

/* ---- operations -------------------------------------------------------- */

struct opctx {
	const struct collab_proto_config *cfg;
	const struct collab_proto_mem *mem;
	struct collab_json_doc d;
	struct collab_proto_op *op;
};

/* Rejects the op as `invalid`; this outranks a `too-large` seen earlier. */
static int invalid3(struct opctx *c, const char *what, const char *path,
		    const char *tail)
{
	c->op->err = COLLAB_PROTO_ERR_INVALID;
	set_message3(c->op->message, &c->op->message_len, what, path, tail);
	return COLLAB_EPROTO;
}

static int invalid(struct opctx *c, const char *what, const char *path)
{
	return invalid3(c, what, path, "");
}

/* Records a `too-large` and lets the walk go on (returns 0), so that an
 * `invalid` later in the message still wins. */
static int too_large(struct opctx *c, const char *what, const char *path)
{
	if (c->op->err == COLLAB_PROTO_ERR_NONE) {
		c->op->err = COLLAB_PROTO_ERR_TOO_LARGE;
		set_message(c->op->message, &c->op->message_len, what, path);
	}
	return 0;
}

/* The member name of obj, which must be present with type t. */
static int member(struct opctx *c, uint32_t obj, const char *name, size_t nlen,
		  enum collab_json_type t, const char *path, uint32_t *out)
{
	static const char *const expect[] = {
		[COLLAB_JSON_STRING] = "field must be a string: ",
		[COLLAB_JSON_OBJECT] = "field must be an object: ",
		[COLLAB_JSON_TRUE] = "field must be a boolean: ",
	};
	uint32_t v = collab_json_obj_get(&c->d, obj, name, nlen);
	enum collab_json_type have = collab_json_type(&c->d, v);

	if (v == COLLAB_JSON_NONE)
		return invalid(c, "missing field: ", path);
	if (have == t || (t == COLLAB_JSON_TRUE && have == COLLAB_JSON_FALSE)) {
		*out = v;
		return 0;
	}
	return invalid(c, expect[t], path);
}

/*
 * A string node holding a canonical lowercase UUID (see UUID SPELLING in
 * proto.h). The decoded value counts, so "\u0061..." spells 'a'. Returns
 * 0, or COLLAB_ETYPE / COLLAB_ESYNTAX.
 */
static int uuid_node(const struct collab_json_doc *d, uint32_t v,
		     struct collab_proto_id *id)
{
	char text[COLLAB_UUID_STR_LEN];
	size_t n = 0;

	if (collab_json_type(d, v) != COLLAB_JSON_STRING)
		return COLLAB_ETYPE;
	if (d->nodes[v].dlen != COLLAB_UUID_STR_LEN ||
	    collab_json_str(d, v, (uint8_t *)text, sizeof text, &n) != 0)
		return COLLAB_ESYNTAX;
	for (size_t i = 0; i < n; i++)
		if (text[i] >= 'A' && text[i] <= 'F')
			return COLLAB_ESYNTAX;
	/* RFC 9562 section 4: 8-4-4-4-12 hex digits */
	if (collab_uuid_parse(text, n, &id->uuid) != 0)
		return COLLAB_ESYNTAX;
	memcpy(id->text, text, n);
	id->text[n] = '\0';
	return 0;
}

static int get_uuid(struct opctx *c, uint32_t obj, const char *name,
		    size_t nlen, const char *path, struct collab_proto_id *id)
{
	uint32_t v = collab_json_obj_get(&c->d, obj, name, nlen);
	int rc;

	if (v == COLLAB_JSON_NONE)
		return invalid(c, "missing field: ", path);
	rc = uuid_node(&c->d, v, id);
	if (rc == COLLAB_ETYPE)
		return invalid(c, "field must be a UUID string: ", path);
	if (rc != 0)
		return invalid3(c, "bad UUID: ", path,
				" (want lowercase 8-4-4-4-12 hex)");
	return 0;
}

/* PROTOCOL.md 4: text is 1 to max_text bytes of UTF-8 (the reader has
 * checked the UTF-8); decoded into the scratch's first max_text bytes
 * when it has escapes. */
static int get_text(struct opctx *c, uint32_t obj, const char *path)
{
	uint32_t v;
	size_t dlen;
	int rc = member(c, obj, NAME("text"), COLLAB_JSON_STRING, path, &v);

	if (rc != 0)
		return rc;
	dlen = c->d.nodes[v].dlen;
	if (dlen == 0)
		return invalid(c, "empty text: ", path);
	if (dlen > c->cfg->max_text)
		return too_large(c, "text too long: ", path);
	rc = collab_json_str_view(&c->d, v, c->mem->scratch, c->cfg->max_text,
				  &c->op->text);
	return rc == 0 ? 0 : invalid(c, "bad string: ", path);
}

/* PROTOCOL.md 4: the anchor is any JSON object, at most max_anchor bytes
 * once re-encoded compactly; the re-encoding (after the text's part of
 * the scratch) is what the server stores and relays. */
static int get_anchor(struct opctx *c, uint32_t chat)
{
	struct collab_json_writer w;
	uint32_t v;
	size_t n = 0;
	int rc = member(c, chat, NAME("anchor"), COLLAB_JSON_OBJECT,
			"chat.anchor", &v);

	if (rc != 0)
		return rc;
	collab_json_writer_init(&w, c->mem->scratch + c->cfg->max_text,
				c->cfg->max_anchor);
	w.max_depth = COLLAB_JSON_WRITER_STACK;
	collab_json_write_node(&w, &c->d, v);
	rc = collab_json_writer_finish(&w, &n);
	if (rc == COLLAB_ESPACE)
		return too_large(c, "anchor too large: ", "chat.anchor");
	if (rc != 0)
		return invalid(c, "anchor nested too deeply: ", "chat.anchor");
	c->op->anchor.p = (const char *)w.out;
	c->op->anchor.len = n;
	return 0;
}

/* {"id":<uuid>,"text":..} of new-text-chat and add-comment. */
static int get_comment(struct opctx *c, uint32_t obj, const char *path,
		       const char *id_path, const char *text_path)
{
	uint32_t cm;
	int rc = member(c, obj, NAME("comment"), COLLAB_JSON_OBJECT, path, &cm);

	if (rc == 0)
		rc = get_uuid(c, cm, NAME("id"), id_path, &c->op->comment_id);
	if (rc == 0)
		rc = get_text(c, cm, text_path);
	return rc;
}

static int parse_new(struct opctx *c, uint32_t root)
{
	uint32_t chat;
	int rc = member(c, root, NAME("chat"), COLLAB_JSON_OBJECT, "chat", &chat);

	if (rc == 0)
		rc = get_uuid(c, chat, NAME("id"), "chat.id", &c->op->chat_id);
	if (rc == 0)
		rc = get_anchor(c, chat);
	if (rc == 0)
		rc = get_comment(c, chat, "chat.comment", "chat.comment.id",
				 "chat.comment.text");
	return rc;
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

static int parse_updated(struct opctx *c, uint32_t root)
{
	struct collab_proto_op *op = c->op;
	uint32_t v;
	int rc = get_uuid(c, root, NAME("chatId"), "chatId", &op->chat_id);

	if (rc == 0)
		rc = member(c, root, NAME("action"), COLLAB_JSON_STRING, "action",
			    &v);
	if (rc != 0)
		return rc;
	for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
		if (collab_json_str_eq(&c->d, v, actions[i].name, actions[i].len))
			op->action = actions[i].action;
	switch (op->action) {
	case COLLAB_PROTO_ACTION_ADD_COMMENT:
		return get_comment(c, root, "comment", "comment.id",
				   "comment.text");
	case COLLAB_PROTO_ACTION_EDIT_COMMENT:
		rc = get_uuid(c, root, NAME("commentId"), "commentId",
			      &op->comment_id);
		return rc == 0 ? get_text(c, root, "text") : rc;
	case COLLAB_PROTO_ACTION_DELETE_COMMENT:
		return get_uuid(c, root, NAME("commentId"), "commentId",
				&op->comment_id);
	case COLLAB_PROTO_ACTION_RESOLVE:
		rc = member(c, root, NAME("resolved"), COLLAB_JSON_TRUE,
			    "resolved", &v);
		if (rc == 0)
			op->resolved = collab_json_type(&c->d, v) == COLLAB_JSON_TRUE;
		return rc;
	case COLLAB_PROTO_ACTION_NONE:
		break;
	}
	return invalid(c, "unknown action", "");
}

static const struct {
	const char *name;
	size_t len;
	enum collab_proto_type type;
} types[] = {
	{ NAME("hello"), COLLAB_PROTO_TYPE_HELLO },
	{ NAME("new-text-chat"), COLLAB_PROTO_TYPE_NEW_TEXT_CHAT },
	{ NAME("updated-text-chat"), COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT },
	{ NAME("deleted-text-chat"), COLLAB_PROTO_TYPE_DELETED_TEXT_CHAT },
};

static int parse_op(struct opctx *c)
{
	struct collab_proto_op *op = c->op;
	uint32_t root = collab_json_root(&c->d), v;
	int rc;

	/* PROTOCOL.md 4: not JSON, or not an object, is `invalid` */
	if (c->d.err != 0)
		return invalid(c, "message is not valid JSON", "");
	if (collab_json_type(&c->d, root) != COLLAB_JSON_OBJECT)
		return invalid(c, "message is not a JSON object", "");

	/* The error reply echoes a valid broadcastId, whatever else is
	 * wrong with the message, so look for it first. */
	v = collab_json_obj_get(&c->d, root, NAME("broadcastId"));
	if (uuid_node(&c->d, v, &op->broadcast_id) == 0)
		op->has_broadcast_id = true;

	rc = member(c, root, NAME("type"), COLLAB_JSON_STRING, "type", &v);
	if (rc != 0)
		return rc;
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (collab_json_str_eq(&c->d, v, types[i].name, types[i].len))
			op->type = types[i].type;
	if (op->type == COLLAB_PROTO_TYPE_NONE)
		return invalid(c, "unknown type", "");
	/* PROTOCOL.md 3: hello is the first message and only that */
	if (op->type == COLLAB_PROTO_TYPE_HELLO)
		return invalid(c, "unexpected hello: the session has already started",
			       "");

	/* PROTOCOL.md 4: every operation carries a broadcastId */
	rc = get_uuid(c, root, NAME("broadcastId"), "broadcastId",
		      &op->broadcast_id);
	if (rc != 0)
		return rc;
	switch (op->type) {
	case COLLAB_PROTO_TYPE_NEW_TEXT_CHAT:
		return parse_new(c, root);
	case COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT:
		return parse_updated(c, root);
	case COLLAB_PROTO_TYPE_DELETED_TEXT_CHAT:
		return get_uuid(c, root, NAME("chatId"), "chatId", &op->chat_id);
	case COLLAB_PROTO_TYPE_HELLO:
	case COLLAB_PROTO_TYPE_NONE:
		break;
	}
	return invalid(c, "unknown type", "");
}

int collab_proto_parse_op(const struct collab_proto_config *cfg,
			  const struct collab_proto_mem *mem,
			  const uint8_t *p, size_t len,
			  struct collab_proto_op *op)
{
	struct collab_proto_config def;
	struct opctx c;
	int rc;

	if (op == NULL)
		return COLLAB_EINVAL;
	memset(op, 0, sizeof *op);
	if (cfg == NULL) {
		collab_proto_config_init(&def);
		cfg = &def;
	}
	c.cfg = cfg;
	c.mem = mem;
	c.op = op;
	rc = read_json(cfg, mem, p, len, &c.d);
	if (rc != 0)
		return rc;
	rc = parse_op(&c);
	if (rc == 0 && op->err != COLLAB_PROTO_ERR_NONE)
		rc = COLLAB_EPROTO;  /* a recorded too-large */
	if (rc == 0)
		return 0;
	/* a rejected op shows only what proto.h promises */
	op->action = COLLAB_PROTO_ACTION_NONE;
	op->text = (struct collab_str){ NULL, 0 };
	op->anchor = (struct collab_str){ NULL, 0 };
	op->resolved = false;
	return rc;
}
