/*
 * chat.c - a room's live chats and comments: blocks, indexes, order,
 * snapshot encoding and decoding of stored chats. See chat.h.
 */
#include "chat.h"

#include <stdio.h>
#include <string.h>

/* Bytes of a snapshot message around its chats: {"type":"snapshot",
 * "seq":<20 digits>,"reset":false,"chats":[ and ]}, rounded up. */
#define SNAPSHOT_ENVELOPE ((size_t)128)
/* Worst-case growth of a string when JSON-escaped (\u00XX for 1 byte). */
#define ESCAPE_FACTOR ((size_t)6)
/* Fixed bytes of an encoded chat or comment beyond its strings: names,
 * punctuation, two 36-byte ids, a 20-digit number, "false"; rounded up. */
#define CHAT_FIXED ((size_t)192)
#define COMMENT_FIXED ((size_t)160)

struct collab_str srv_chat_anchor(const struct srv_chat *c)
{
	struct collab_str s = { c->strs, c->anchor_len };
	return s;
}

struct collab_str srv_chat_user_id(const struct srv_chat *c)
{
	struct collab_str s = { c->strs + c->anchor_len, c->user_id_len };
	return s;
}

struct collab_str srv_chat_user_name(const struct srv_chat *c)
{
	struct collab_str s = { c->strs + c->anchor_len + c->user_id_len,
				c->user_name_len };
	return s;
}

struct collab_str srv_chat_comment_user_id(const struct srv_comment *m)
{
	struct collab_str s = { m->strs, m->user_id_len };
	return s;
}

struct collab_str srv_chat_comment_user_name(const struct srv_comment *m)
{
	struct collab_str s = { m->strs + m->user_id_len, m->user_name_len };
	return s;
}

/* Byte sizes of the blocks, as allocated (sums checked at allocation). */
static size_t chat_size(const struct srv_chat *c)
{
	return sizeof(*c) + c->anchor_len + c->user_id_len + c->user_name_len;
}

static size_t comment_size(const struct srv_comment *m)
{
	return sizeof(*m) + m->user_id_len + m->user_name_len;
}

/* a + b + c + d, or SIZE_MAX when the sum overflows. */
static size_t add4(size_t a, size_t b, size_t c, size_t d)
{
	if (b > SIZE_MAX - a)
		return SIZE_MAX;
	a += b;
	if (c > SIZE_MAX - a)
		return SIZE_MAX;
	a += c;
	if (d > SIZE_MAX - a)
		return SIZE_MAX;
	return a + d;
}

static uint64_t comment_hash(const struct srv_chat_store *st,
			     const char *chat_id, const char *id)
{
	struct srv_room_siphash s;

	srv_room_siphash_init(&s, st->key);
	srv_room_siphash_update(&s, chat_id, SRV_CHAT_ID_LEN);
	srv_room_siphash_update(&s, id, SRV_CHAT_ID_LEN);
	return srv_room_siphash_final(&s);
}

void srv_chat_store_init(struct srv_chat_store *st,
			 const struct collab_alloc *a,
			 const struct srv_room_sipkey *key)
{
	st->a = a;
	st->key = key;
	st->head = NULL;
	st->tail = NULL;
	st->n_chats = 0;
	srv_room_htab_init(&st->chats);
	srv_room_htab_init(&st->comments);
}

void srv_chat_store_free(struct srv_chat_store *st)
{
	struct srv_chat *c = st->head, *next;

	for (; c != NULL; c = next) {
		next = c->next;
		srv_chat_free(st, c);
	}
	st->head = NULL;
	st->tail = NULL;
	st->n_chats = 0;
	srv_room_htab_free(&st->chats, st->a);
	srv_room_htab_free(&st->comments, st->a);
}

struct srv_chat *srv_chat_find(const struct srv_chat_store *st, const char *id)
{
	uint64_t h = srv_room_siphash(st->key, id, SRV_CHAT_ID_LEN);
	size_t it = SIZE_MAX;
	struct srv_chat *c;

	while ((c = srv_room_htab_probe(&st->chats, h, &it)) != NULL)
		if (memcmp(c->id, id, SRV_CHAT_ID_LEN) == 0)
			return c;
	return NULL;
}

struct srv_comment *srv_chat_comment_find(const struct srv_chat_store *st,
					  const struct srv_chat *chat,
					  const char *id)
{
	uint64_t h = comment_hash(st, chat->id, id);
	size_t it = SIZE_MAX;
	struct srv_comment *m;

	while ((m = srv_room_htab_probe(&st->comments, h, &it)) != NULL)
		if (m->chat == chat && memcmp(m->id, id, SRV_CHAT_ID_LEN) == 0)
			return m;
	return NULL;
}

size_t srv_chat_comment_pos(const struct srv_comment *m)
{
	const struct srv_chat *c = m->chat;
	size_t i = 0;

	while (i < c->n_comments && c->comments[i] != m)
		i++;
	return i;
}

bool srv_chat_id_ok(const char *p, size_t len)
{
	/* RFC 9562 section 4 layout, lowercase only (proto.h UUID SPELLING) */
	if (p == NULL || len != SRV_CHAT_ID_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = p[i];
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (ch != '-')
				return false;
		} else if (!((ch >= '0' && ch <= '9') ||
			     (ch >= 'a' && ch <= 'f'))) {
			return false;
		}
	}
	return true;
}

/* ---- blocks ----------------------------------------------------------- */

/* A chat block with room for its strings (left for the caller to fill)
 * and cap_comments comment pointers. */
static int chat_block(const struct srv_chat_store *st, const char *id,
		      size_t anchor_len, size_t user_id_len,
		      size_t user_name_len, size_t cap_comments,
		      struct srv_chat **out)
{
	size_t size = add4(sizeof(struct srv_chat), anchor_len, user_id_len,
			   user_name_len);
	struct srv_chat *c;

	if (size == SIZE_MAX ||
	    cap_comments > SIZE_MAX / sizeof(struct srv_comment *))
		return COLLAB_ENOMEM;
	c = st->a->alloc(st->a->ctx, size);
	if (c == NULL)
		return COLLAB_ENOMEM;
	memset(c, 0, sizeof(*c));
	if (cap_comments > 0) {
		c->comments = st->a->alloc(st->a->ctx,
					   cap_comments * sizeof(struct srv_comment *));
		if (c->comments == NULL) {
			st->a->free(st->a->ctx, c, size);
			return COLLAB_ENOMEM;
		}
		c->cap_comments = cap_comments;
	}
	memcpy(c->id, id, SRV_CHAT_ID_LEN);
	c->hash = srv_room_siphash(st->key, id, SRV_CHAT_ID_LEN);
	c->anchor_len = anchor_len;
	c->user_id_len = user_id_len;
	c->user_name_len = user_name_len;
	*out = c;
	return 0;
}

/* A comment block with room for its strings and a text block of text_len
 * (> 0) bytes, both left for the caller to fill. */
static int comment_block(const struct srv_chat_store *st,
			 struct srv_chat *chat, const char *id,
			 size_t user_id_len, size_t user_name_len,
			 size_t text_len, struct srv_comment **out)
{
	size_t size = add4(sizeof(struct srv_comment), user_id_len,
			   user_name_len, 0);
	struct srv_comment *m;
	char *t;

	if (size == SIZE_MAX)
		return COLLAB_ENOMEM;
	if (text_len == 0)
		return COLLAB_EINVAL;
	t = st->a->alloc(st->a->ctx, text_len);
	if (t == NULL)
		return COLLAB_ENOMEM;
	m = st->a->alloc(st->a->ctx, size);
	if (m == NULL) {
		st->a->free(st->a->ctx, t, text_len);
		return COLLAB_ENOMEM;
	}
	memset(m, 0, sizeof(*m));
	m->chat = chat;
	memcpy(m->id, id, SRV_CHAT_ID_LEN);
	m->hash = comment_hash(st, chat->id, id);
	m->text = t;
	m->text_len = text_len;
	m->user_id_len = user_id_len;
	m->user_name_len = user_name_len;
	*out = m;
	return 0;
}

static void put(char *dst, struct collab_str s)
{
	if (s.len > 0)
		memcpy(dst, s.p, s.len);
}

int srv_chat_new(const struct srv_chat_store *st, const char *id,
		 struct collab_str anchor, struct collab_str user_id,
		 struct collab_str user_name, uint64_t created_at,
		 bool resolved, size_t cap_comments, struct srv_chat **out)
{
	struct srv_chat *c;
	int rc = chat_block(st, id, anchor.len, user_id.len, user_name.len,
			    cap_comments, &c);

	if (rc != 0)
		return rc;
	c->created_at = created_at;
	c->resolved = resolved;
	put(c->strs, anchor);
	put(c->strs + anchor.len, user_id);
	put(c->strs + anchor.len + user_id.len, user_name);
	*out = c;
	return 0;
}

int srv_chat_text_dup(const struct srv_chat_store *st, struct collab_str text,
		      char **out)
{
	char *p;

	if (text.len == 0)
		return COLLAB_EINVAL;
	p = st->a->alloc(st->a->ctx, text.len);
	if (p == NULL)
		return COLLAB_ENOMEM;
	memcpy(p, text.p, text.len);
	*out = p;
	return 0;
}

void srv_chat_text_free(const struct srv_chat_store *st, char *p, size_t len)
{
	if (p != NULL)
		st->a->free(st->a->ctx, p, len);
}

int srv_chat_comment_new(const struct srv_chat_store *st,
			 struct srv_chat *chat, const char *id,
			 struct collab_str user_id, struct collab_str user_name,
			 struct collab_str text, uint64_t created_at,
			 struct srv_comment **out)
{
	struct srv_comment *m;
	int rc = comment_block(st, chat, id, user_id.len, user_name.len,
			       text.len, &m);

	if (rc != 0)
		return rc;
	m->created_at = created_at;
	put(m->text, text);
	put(m->strs, user_id);
	put(m->strs + user_id.len, user_name);
	*out = m;
	return 0;
}

void srv_chat_comment_free(const struct srv_chat_store *st,
			   struct srv_comment *m)
{
	if (m == NULL)
		return;
	srv_chat_text_free(st, m->text, m->text_len);
	st->a->free(st->a->ctx, m, comment_size(m));
}

void srv_chat_free(const struct srv_chat_store *st, struct srv_chat *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n_comments; i++)
		srv_chat_comment_free(st, c->comments[i]);
	if (c->comments != NULL)
		st->a->free(st->a->ctx, c->comments,
			    c->cap_comments * sizeof(struct srv_comment *));
	st->a->free(st->a->ctx, c, chat_size(c));
}

int srv_chat_store_reserve(struct srv_chat_store *st, size_t chats,
			   size_t comments)
{
	int rc = srv_room_htab_reserve(&st->chats, st->a, chats);

	if (rc == 0)
		rc = srv_room_htab_reserve(&st->comments, st->a, comments);
	return rc;
}

int srv_chat_comment_reserve(const struct srv_chat_store *st,
			     struct srv_chat *chat)
{
	struct srv_comment **na;
	size_t cap;

	if (chat->n_comments < chat->cap_comments)
		return 0;
	cap = chat->cap_comments ? chat->cap_comments : 2;
	if (cap > SIZE_MAX / 2 / sizeof(struct srv_comment *))
		return COLLAB_ENOMEM;
	cap *= 2;
	na = st->a->alloc(st->a->ctx, cap * sizeof(struct srv_comment *));
	if (na == NULL)
		return COLLAB_ENOMEM;
	if (chat->n_comments)
		memcpy(na, chat->comments, chat->n_comments * sizeof(struct srv_comment *));
	if (chat->comments != NULL)
		st->a->free(st->a->ctx, chat->comments,
			    chat->cap_comments * sizeof(struct srv_comment *));
	chat->comments = na;
	chat->cap_comments = cap;
	return 0;
}

/* ---- link and unlink -------------------------------------------------- */

void srv_chat_link(struct srv_chat_store *st, struct srv_chat *c,
		   struct srv_chat *prev)
{
	c->prev = prev;
	c->next = prev ? prev->next : st->head;
	if (c->next != NULL)
		c->next->prev = c;
	else
		st->tail = c;
	if (prev != NULL)
		prev->next = c;
	else
		st->head = c;
	st->n_chats++;
	srv_room_htab_put(&st->chats, c->hash, c);
	for (size_t i = 0; i < c->n_comments; i++)
		srv_room_htab_put(&st->comments, c->comments[i]->hash,
				  c->comments[i]);
}

struct srv_chat *srv_chat_unlink(struct srv_chat_store *st, struct srv_chat *c)
{
	struct srv_chat *prev = c->prev;

	if (prev != NULL)
		prev->next = c->next;
	else
		st->head = c->next;
	if (c->next != NULL)
		c->next->prev = prev;
	else
		st->tail = prev;
	c->prev = NULL;
	c->next = NULL;
	st->n_chats--;
	srv_room_htab_del(&st->chats, c->hash, c);
	for (size_t i = 0; i < c->n_comments; i++)
		srv_room_htab_del(&st->comments, c->comments[i]->hash,
				  c->comments[i]);
	return prev;
}

void srv_chat_comment_insert(struct srv_chat_store *st, struct srv_comment *m,
			     size_t pos)
{
	struct srv_chat *c = m->chat;

	memmove(c->comments + pos + 1, c->comments + pos,
		(c->n_comments - pos) * sizeof(struct srv_comment *));
	c->comments[pos] = m;
	c->n_comments++;
	srv_room_htab_put(&st->comments, m->hash, m);
}

struct srv_comment *srv_chat_comment_remove(struct srv_chat_store *st,
					    struct srv_chat *chat, size_t pos)
{
	struct srv_comment *m = chat->comments[pos];

	memmove(chat->comments + pos, chat->comments + pos + 1,
		(chat->n_comments - pos - 1) * sizeof(struct srv_comment *));
	chat->n_comments--;
	srv_room_htab_del(&st->comments, m->hash, m);
	return m;
}

/* ---- encoding --------------------------------------------------------- */

void srv_chat_comment_proto(const struct srv_comment *m,
			    struct collab_proto_comment *pc)
{
	pc->id.p = m->id;
	pc->id.len = SRV_CHAT_ID_LEN;
	pc->user_id = srv_chat_comment_user_id(m);
	pc->user_name = srv_chat_comment_user_name(m);
	pc->text.p = m->text;
	pc->text.len = m->text_len;
	pc->created_at = m->created_at;
}

static void get_comment(const void *ctx, size_t i,
			struct collab_proto_comment *pc)
{
	const struct srv_chat *c = ctx;

	srv_chat_comment_proto(c->comments[i], pc);
}

void srv_chat_proto(const struct srv_chat *c, struct collab_proto_chat *pc)
{
	memset(pc, 0, sizeof(*pc));
	pc->id.p = c->id;
	pc->id.len = SRV_CHAT_ID_LEN;
	pc->anchor = srv_chat_anchor(c);
	pc->user_id = srv_chat_user_id(c);
	pc->user_name = srv_chat_user_name(c);
	pc->created_at = c->created_at;
	pc->resolved = c->resolved;
	pc->comments = NULL;
	pc->n_comments = c->n_comments;
	pc->get_comment = get_comment;
	pc->get_comment_ctx = c;
}

/* Saturating a*b + c. */
static size_t bound_add(size_t acc, size_t factor, size_t n)
{
	if (n > SIZE_MAX / factor || n * factor > SIZE_MAX - acc)
		return SIZE_MAX;
	return acc + n * factor;
}

size_t srv_chat_encoded_bound(const struct srv_chat *c)
{
	size_t b = CHAT_FIXED;

	b = bound_add(b, 1, c->anchor_len);
	b = bound_add(b, ESCAPE_FACTOR, c->user_id_len);
	b = bound_add(b, ESCAPE_FACTOR, c->user_name_len);
	for (size_t i = 0; i < c->n_comments; i++) {
		const struct srv_comment *m = c->comments[i];
		b = bound_add(b, 1, COMMENT_FIXED);
		b = bound_add(b, ESCAPE_FACTOR, m->user_id_len);
		b = bound_add(b, ESCAPE_FACTOR, m->user_name_len);
		b = bound_add(b, ESCAPE_FACTOR, m->text_len);
	}
	return b;
}

/* Reserves cap bytes in buf (from len 0). */
static int buf_room(struct collab_buf *buf, size_t cap)
{
	buf->len = 0;
	if (buf->cap >= cap && buf->p != NULL)
		return 0;
	return collab_buf_reserve(buf, cap);
}

int srv_chat_store_snapshot(const struct srv_chat_store *st, uint64_t seq,
			    const struct collab_proto_config *cfg,
			    struct collab_buf *buf,
			    int (*emit)(void *ctx, const uint8_t *p, size_t len),
			    void *ctx)
{
	struct collab_proto_config def;
	struct collab_proto_snapshot s;
	struct collab_proto_chat pc;
	bool reset = true, grown;
	size_t len = 0;
	int rc;

	if (cfg == NULL) {
		collab_proto_config_init(&def);
		cfg = &def;
	}
	if (emit == NULL || buf == NULL)
		return COLLAB_EINVAL;
	rc = buf_room(buf, bound_add(SNAPSHOT_ENVELOPE, 1, cfg->max_snapshot));
	if (rc == 0)
		rc = collab_proto_snapshot_begin(&s, cfg, seq, reset, buf->p,
						 buf->cap);
	/* PROTOCOL.md 3: every live chat, in creation order, split at the
	 * limit; a chat too large for one message goes alone in one. */
	for (const struct srv_chat *c = st->head; rc == 0 && c != NULL;
	     c = c->next) {
		srv_chat_proto(c, &pc);
		grown = false;
		while ((rc = collab_proto_snapshot_add(&s, &pc)) != 0) {
			if ((rc == COLLAB_ELIMIT || rc == COLLAB_ESPACE) &&
			    s.n_chats > 0) {
				rc = collab_proto_snapshot_finish(&s, &len);
				if (rc == 0)
					rc = emit(ctx, buf->p, len);
				reset = false;
			} else if (rc == COLLAB_ESPACE && !grown) {
				grown = true;
				rc = buf_room(buf, bound_add(SNAPSHOT_ENVELOPE,
					1, srv_chat_encoded_bound(c)));
			} else {
				break;
			}
			if (rc == 0)
				rc = collab_proto_snapshot_begin(&s, cfg, seq,
								 reset, buf->p,
								 buf->cap);
			if (rc != 0)
				break;
		}
	}
	if (rc == 0)
		rc = collab_proto_snapshot_finish(&s, &len);
	if (rc == 0)
		rc = emit(ctx, buf->p, len);
	return rc;
}

/* ---- decoding --------------------------------------------------------- */

static int corrupt(char *msg, size_t msgcap, const char *what)
{
	if (msg != NULL && msgcap > 0)
		(void)snprintf(msg, msgcap, "%s", what);
	return COLLAB_ECORRUPT;
}

/* A member that MUST be a string: its decoded length in *len. */
static int str_member(const struct collab_json_doc *d, uint32_t obj,
		      const char *name, uint32_t *node, size_t *len)
{
	*node = collab_json_obj_get(d, obj, name, strlen(name));
	if (collab_json_type(d, *node) != COLLAB_JSON_STRING)
		return -1;
	*len = d->nodes[*node].dlen;
	return 0;
}

/* Decodes a string node whose dlen was read into exactly dst[0..len). */
static void str_into(const struct collab_json_doc *d, uint32_t node,
		     char *dst, size_t len)
{
	size_t got = 0;

	if (len > 0)
		collab_json_str(d, node, (uint8_t *)dst, len, &got);
}

/* A canonical id member, copied into id. */
static int id_member(const struct collab_json_doc *d, uint32_t obj,
		     const char *name, char *id)
{
	struct collab_str raw;
	uint32_t n;
	size_t len;

	if (str_member(d, obj, name, &n, &len) != 0)
		return -1;
	raw = collab_json_raw(d, n);
	/* an id is hex and '-' only, so its raw text is its value */
	if (!srv_chat_id_ok(raw.p, raw.len))
		return -1;
	memcpy(id, raw.p, SRV_CHAT_ID_LEN);
	return 0;
}

int srv_chat_comment_from_json(const struct srv_chat_store *st,
			       struct srv_chat *chat,
			       const struct collab_json_doc *d, uint32_t node,
			       struct srv_comment **out, char *msg,
			       size_t msgcap)
{
	char id[SRV_CHAT_ID_LEN];
	uint32_t nu, nn, nt;
	size_t lu, ln, lt;
	uint64_t created;
	struct srv_comment *m;
	int rc;

	/* The shape collab_proto_encode_chat() gives a comment (PROTOCOL.md
	 * 5); userId is a token's sub, 1 byte at least (PROTOCOL.md 7). */
	if (collab_json_type(d, node) != COLLAB_JSON_OBJECT)
		return corrupt(msg, msgcap, "comment is not an object");
	if (id_member(d, node, "id", id) != 0)
		return corrupt(msg, msgcap, "comment id is not a canonical UUID");
	if (str_member(d, node, "userId", &nu, &lu) != 0 || lu == 0)
		return corrupt(msg, msgcap, "comment userId missing or empty");
	if (str_member(d, node, "userName", &nn, &ln) != 0)
		return corrupt(msg, msgcap, "comment userName missing");
	if (str_member(d, node, "text", &nt, &lt) != 0 || lt == 0)
		return corrupt(msg, msgcap, "comment text missing or empty");
	if (collab_json_get_u64(d, collab_json_obj_get(d, node,
			COLLAB_JSON_LIT("createdAt")), &created) != 0)
		return corrupt(msg, msgcap, "comment createdAt is not an integer");
	rc = comment_block(st, chat, id, lu, ln, lt, &m);
	if (rc != 0)
		return rc;
	m->created_at = created;
	str_into(d, nt, m->text, lt);
	str_into(d, nu, m->strs, lu);
	str_into(d, nn, m->strs + lu, ln);
	*out = m;
	return 0;
}

/* The anchor object re-encoded compactly into dst[0..len): it MUST come
 * out as exactly its stored bytes, as the server only ever stores compact
 * anchors (PROTOCOL.md 4) and the encoder copies them unchanged. */
static bool anchor_into(const struct collab_json_doc *d, uint32_t node,
			char *dst, size_t len)
{
	struct collab_json_writer w;
	struct collab_str raw = collab_json_raw(d, node);
	size_t got = 0;

	collab_json_writer_init(&w, (uint8_t *)dst, len);
	w.max_depth = COLLAB_JSON_WRITER_STACK;
	if (collab_json_write_node(&w, d, node) != 0 ||
	    collab_json_writer_finish(&w, &got) != 0)
		return false;
	return got == raw.len && memcmp(dst, raw.p, got) == 0;
}

/* Whether chat c already holds a comment with m's id (tab indexes the
 * comments added so far). */
static bool dup_comment(const struct srv_room_htab *tab,
			const struct srv_comment *m)
{
	size_t it = SIZE_MAX;
	const struct srv_comment *o;

	while ((o = srv_room_htab_probe(tab, m->hash, &it)) != NULL)
		if (memcmp(o->id, m->id, SRV_CHAT_ID_LEN) == 0)
			return true;
	return false;
}

int srv_chat_from_json(const struct srv_chat_store *st,
		       const struct collab_json_doc *d, uint32_t node,
		       struct srv_chat **out, char *msg, size_t msgcap)
{
	char id[SRV_CHAT_ID_LEN];
	uint32_t na, nu, nn, ncs, e;
	size_t lu, ln, n;
	uint64_t created;
	bool resolved;
	struct collab_str raw;
	struct srv_room_htab seen;
	struct srv_chat *c;
	struct srv_comment *m;
	int rc;

	/* PROTOCOL.md 5: the chat of new-text-chat, as snapshots show it */
	if (collab_json_type(d, node) != COLLAB_JSON_OBJECT)
		return corrupt(msg, msgcap, "chat is not an object");
	if (id_member(d, node, "id", id) != 0)
		return corrupt(msg, msgcap, "chat id is not a canonical UUID");
	na = collab_json_obj_get(d, node, COLLAB_JSON_LIT("anchor"));
	if (collab_json_type(d, na) != COLLAB_JSON_OBJECT)
		return corrupt(msg, msgcap, "chat anchor is not an object");
	raw = collab_json_raw(d, na);
	if (str_member(d, node, "userId", &nu, &lu) != 0 || lu == 0)
		return corrupt(msg, msgcap, "chat userId missing or empty");
	if (str_member(d, node, "userName", &nn, &ln) != 0)
		return corrupt(msg, msgcap, "chat userName missing");
	if (collab_json_get_u64(d, collab_json_obj_get(d, node,
			COLLAB_JSON_LIT("createdAt")), &created) != 0)
		return corrupt(msg, msgcap, "chat createdAt is not an integer");
	if (collab_json_get_bool(d, collab_json_obj_get(d, node,
			COLLAB_JSON_LIT("resolved")), &resolved) != 0)
		return corrupt(msg, msgcap, "chat resolved is not a boolean");
	ncs = collab_json_obj_get(d, node, COLLAB_JSON_LIT("comments"));
	if (collab_json_type(d, ncs) != COLLAB_JSON_ARRAY)
		return corrupt(msg, msgcap, "chat comments is not an array");
	n = collab_json_count(d, ncs);
	rc = chat_block(st, id, raw.len, lu, ln, n, &c);
	if (rc != 0)
		return rc;
	c->created_at = created;
	c->resolved = resolved;
	str_into(d, nu, c->strs + raw.len, lu);
	str_into(d, nn, c->strs + raw.len + lu, ln);
	if (!anchor_into(d, na, c->strs, raw.len)) {
		srv_chat_free(st, c);
		return corrupt(msg, msgcap, "chat anchor is not compact JSON");
	}
	srv_room_htab_init(&seen);
	rc = srv_room_htab_reserve(&seen, st->a, n);
	for (e = collab_json_first(d, ncs); rc == 0 && e != COLLAB_JSON_NONE;
	     e = collab_json_next(d, e)) {
		rc = srv_chat_comment_from_json(st, c, d, e, &m, msg, msgcap);
		if (rc != 0)
			break;
		c->comments[c->n_comments++] = m;
		if (dup_comment(&seen, m))
			rc = corrupt(msg, msgcap, "two comments with one id");
		else
			srv_room_htab_put(&seen, m->hash, m);
	}
	srv_room_htab_free(&seen, st->a);
	if (rc != 0) {
		srv_chat_free(st, c);
		return rc;
	}
	*out = c;
	return 0;
}
