/*
 * fuzz_proto_client.c - the client side of PROTOCOL.md from arbitrary
 * bytes.
 *
 * 1. The input through collab_proto_parse_server(), with exactly the
 *    memory proto.h names (so ASan sees any write past it): accepted or
 *    EPROTO, never anything else. An accepted message's views lie in the
 *    input or the scratch, its lists iterate to their counts, and it is
 *    re-encoded with the server encoders; that re-encoding must parse to
 *    the same values, and re-encode to the same bytes (a fixed point).
 * 2. The input as the text of an edit-comment and the token of a hello,
 *    through the client encoders and back through the server's parsers:
 *    the same bytes come back (or the encoder refuses invalid UTF-8).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collab/json.h"
#include "collab/proto.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)
#define END COLLAB_PROTO_ITER_END

struct parsed {
	struct collab_json_node *nodes;
	uint8_t *scratch;
	struct collab_proto_mem mem;
	struct collab_proto_server_msg m;
	const uint8_t *in;
	size_t len;
	int rc;
};

static void parse(struct parsed *r, const uint8_t *p, size_t len)
{
	size_t nn = COLLAB_JSON_NODES_FOR(len);
	size_t sn = collab_proto_client_scratch_size(len);

	r->nodes = malloc(nn * sizeof *r->nodes);
	r->scratch = malloc(sn ? sn : 1);
	CHECK(r->nodes != NULL && r->scratch != NULL);
	r->mem.nodes = r->nodes;
	r->mem.max_nodes = nn;
	r->mem.scratch = r->scratch;
	r->mem.scratch_cap = sn;
	r->in = p;
	r->len = len;
	r->rc = collab_proto_parse_server(NULL, &r->mem, p, len, &r->m);
}

static void parsed_free(struct parsed *r)
{
	free(r->nodes);
	free(r->scratch);
}

static int inside(struct collab_str v, const void *base, size_t n)
{
	const uint8_t *p = (const uint8_t *)v.p, *b = base;
	return v.len == 0 || (p >= b && p <= b + n && v.len <= (size_t)(b + n - p));
}

/* a view of the message: in the input or in the scratch */
static void view_ok(const struct parsed *r, struct collab_str v)
{
	CHECK(inside(v, r->in, r->len) ||
	      inside(v, r->scratch, r->mem.scratch_cap));
}

static int same(struct collab_str a, struct collab_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* ---- the parsed message, walked and re-encoded ------------------------ */

static struct collab_proto_comment *comments_of(const struct parsed *r,
						 const struct collab_proto_chat_view *ch)
{
	struct collab_proto_comment *cm = calloc(ch->n_comments + 1, sizeof *cm);
	size_t i = 0;

	CHECK(cm != NULL);
	for (uint32_t it = ch->first_comment; it != END;
	     it = collab_proto_msg_next(&r->m, it), i++) {
		CHECK(i < ch->n_comments);
		CHECK(collab_proto_msg_comment(&r->m, it, &cm[i]) == 0);
		view_ok(r, cm[i].id);
		view_ok(r, cm[i].user_id);
		view_ok(r, cm[i].user_name);
		view_ok(r, cm[i].text);
	}
	CHECK(i == ch->n_comments);
	return cm;
}

static void chat_of(const struct parsed *r, const struct collab_proto_chat_view *v,
		    const struct collab_proto_comment *cm,
		    struct collab_proto_chat *chat)
{
	view_ok(r, v->id);
	view_ok(r, v->anchor);
	view_ok(r, v->user_id);
	view_ok(r, v->user_name);
	CHECK(v->anchor.len >= 2 && v->anchor.p[0] == '{');
	memset(chat, 0, sizeof *chat);
	chat->id = v->id;
	chat->anchor = v->anchor;
	chat->user_id = v->user_id;
	chat->user_name = v->user_name;
	chat->created_at = v->created_at;
	chat->resolved = v->resolved;
	chat->comments = cm;
	chat->n_comments = v->n_comments;
}

static size_t encode_event(const struct parsed *r,
			   const struct collab_proto_event_view *v,
			   uint8_t *out, size_t cap)
{
	struct collab_proto_comment *cm = NULL;
	struct collab_proto_chat chat;
	struct collab_proto_event ev = {
		.type = v->type, .action = v->action, .seq = v->seq,
		.broadcast_id = v->broadcast_id, .ts = v->ts,
		.user_id = v->user_id, .chat_id = v->chat_id,
		.comment = &v->comment, .comment_id = v->comment_id,
		.text = v->text, .resolved = v->resolved,
	};
	size_t len = 0;

	view_ok(r, v->broadcast_id);
	view_ok(r, v->user_id);
	view_ok(r, v->chat_id);
	view_ok(r, v->comment_id);
	view_ok(r, v->text);
	if (v->type == COLLAB_PROTO_TYPE_NEW_TEXT_CHAT) {
		cm = comments_of(r, &v->chat);
		chat_of(r, &v->chat, cm, &chat);
		ev.chat = &chat;
	}
	CHECK(collab_proto_encode_event(&ev, out, cap, &len) == 0);
	free(cm);
	return len;
}

static uint8_t *reencode(const struct parsed *r, size_t *len)
{
	const struct collab_proto_server_msg *m = &r->m;
	size_t cap = 4 * r->len + 4096;
	uint8_t *out = malloc(cap);
	const struct collab_proto_welcome_view *wv = &m->welcome;
	struct collab_proto_welcome w = {
		wv->connection_id, wv->has_user ? &wv->user : NULL, wv->epoch,
		wv->seq, wv->count, wv->resync
	};

	CHECK(out != NULL);
	*len = 0;
	switch (m->type) {
	case COLLAB_PROTO_MSG_WELCOME:
		view_ok(r, wv->connection_id);
		view_ok(r, wv->epoch);
		view_ok(r, wv->user.id);
		view_ok(r, wv->user.name);
		CHECK(collab_proto_encode_welcome(&w, out, cap, len) == 0);
		break;
	case COLLAB_PROTO_MSG_SYNCED:
		CHECK(collab_proto_encode_synced(m->seq, out, cap, len) == 0);
		break;
	case COLLAB_PROTO_MSG_USER_COUNT:
		CHECK(collab_proto_encode_user_count(m->count, out, cap, len) == 0);
		break;
	case COLLAB_PROTO_MSG_ERROR:
		view_ok(r, m->error.broadcast_id);
		view_ok(r, m->error.message);
		CHECK(collab_proto_encode_error(
			m->error.has_broadcast_id ? &m->error.broadcast_id : NULL,
			m->error.code, m->error.message, out, cap, len) == 0);
		break;
	case COLLAB_PROTO_MSG_EVENT:
		*len = encode_event(r, &m->event, out, cap);
		break;
	case COLLAB_PROTO_MSG_SNAPSHOT: {
		struct collab_proto_config cfg;
		struct collab_proto_snapshot s;
		size_t n = 0;
		collab_proto_config_init(&cfg);
		cfg.max_snapshot = SIZE_MAX;
		CHECK(collab_proto_snapshot_begin(&s, &cfg, m->seq, m->reset, out,
						  cap) == 0);
		for (uint32_t it = m->first; it != END;
		     it = collab_proto_msg_next(m, it), n++) {
			struct collab_proto_chat_view v;
			struct collab_proto_chat chat;
			struct collab_proto_comment *cm;
			CHECK(collab_proto_msg_chat(m, it, &v) == 0);
			cm = comments_of(r, &v);
			chat_of(r, &v, cm, &chat);
			CHECK(collab_proto_snapshot_add(&s, &chat) == 0);
			free(cm);
		}
		CHECK(n == m->n_items);
		CHECK(collab_proto_snapshot_finish(&s, len) == 0);
		break;
	}
	case COLLAB_PROTO_MSG_BATCH: {
		/* the batch envelope, with each event re-encoded in it */
		struct collab_json_writer jw;
		uint8_t *buf = malloc(cap);
		size_t n = 0;
		CHECK(buf != NULL);
		collab_json_writer_init(&jw, out, cap);
		collab_json_write_obj_begin(&jw);
		collab_json_write_key(&jw, COLLAB_JSON_LIT("type"));
		collab_json_write_str(&jw, COLLAB_JSON_LIT("batch"));
		collab_json_write_key(&jw, COLLAB_JSON_LIT("events"));
		collab_json_write_arr_begin(&jw);
		for (uint32_t it = m->first; it != END;
		     it = collab_proto_msg_next(m, it), n++) {
			struct collab_proto_event_view v;
			size_t l;
			CHECK(collab_proto_msg_event(m, it, &v) == 0);
			l = encode_event(r, &v, buf, cap);
			collab_json_write_raw(&jw, (const char *)buf, l);
		}
		CHECK(n == m->n_items);
		collab_json_write_arr_end(&jw);
		collab_json_write_obj_end(&jw);
		CHECK(collab_json_writer_finish(&jw, len) == 0);
		free(buf);
		break;
	}
	case COLLAB_PROTO_MSG_NONE:
	case COLLAB_PROTO_MSG_UNKNOWN:
		CHECK(0);
	}
	return out;
}

/* ---- two parses hold the same values ---------------------------------- */

static void same_comment(const struct collab_proto_comment *a,
			 const struct collab_proto_comment *b)
{
	CHECK(same(a->id, b->id) && same(a->user_id, b->user_id) &&
	      same(a->user_name, b->user_name) && same(a->text, b->text) &&
	      a->created_at == b->created_at);
}

static void same_chat(const struct parsed *ra, const struct collab_proto_chat_view *a,
		      const struct parsed *rb, const struct collab_proto_chat_view *b)
{
	uint32_t x = a->first_comment, y = b->first_comment;

	CHECK(same(a->id, b->id) && same(a->anchor, b->anchor) &&
	      same(a->user_id, b->user_id) && same(a->user_name, b->user_name) &&
	      a->created_at == b->created_at && a->resolved == b->resolved &&
	      a->n_comments == b->n_comments);
	while (x != END && y != END) {
		struct collab_proto_comment ca, cb;
		CHECK(collab_proto_msg_comment(&ra->m, x, &ca) == 0);
		CHECK(collab_proto_msg_comment(&rb->m, y, &cb) == 0);
		same_comment(&ca, &cb);
		x = collab_proto_msg_next(&ra->m, x);
		y = collab_proto_msg_next(&rb->m, y);
	}
	CHECK(x == END && y == END);
}

static void same_event(const struct parsed *ra, const struct collab_proto_event_view *a,
		       const struct parsed *rb, const struct collab_proto_event_view *b)
{
	CHECK(a->type == b->type && a->action == b->action && a->seq == b->seq &&
	      same(a->broadcast_id, b->broadcast_id) && a->ts == b->ts &&
	      same(a->user_id, b->user_id) && same(a->chat_id, b->chat_id) &&
	      same(a->comment_id, b->comment_id) && same(a->text, b->text) &&
	      a->resolved == b->resolved);
	same_comment(&a->comment, &b->comment);
	same_chat(ra, &a->chat, rb, &b->chat);
}

static void same_msg(const struct parsed *ra, const struct parsed *rb)
{
	const struct collab_proto_server_msg *a = &ra->m, *b = &rb->m;
	const struct collab_proto_welcome_view *wa = &a->welcome, *wb = &b->welcome;
	uint32_t x = a->first, y = b->first;

	CHECK(a->type == b->type && a->seq == b->seq && a->reset == b->reset &&
	      a->count == b->count && a->n_items == b->n_items);
	CHECK(same(wa->connection_id, wb->connection_id) &&
	      wa->has_user == wb->has_user && same(wa->user.id, wb->user.id) &&
	      same(wa->user.name, wb->user.name) &&
	      wa->user.moderator == wb->user.moderator &&
	      same(wa->epoch, wb->epoch) && wa->seq == wb->seq &&
	      wa->count == wb->count && wa->resync == wb->resync);
	CHECK(a->error.has_broadcast_id == b->error.has_broadcast_id &&
	      same(a->error.broadcast_id, b->error.broadcast_id) &&
	      a->error.code == b->error.code &&
	      same(a->error.message, b->error.message));
	same_event(ra, &a->event, rb, &b->event);
	while (x != END && y != END) {
		if (a->type == COLLAB_PROTO_MSG_SNAPSHOT) {
			struct collab_proto_chat_view ca, cb;
			CHECK(collab_proto_msg_chat(a, x, &ca) == 0);
			CHECK(collab_proto_msg_chat(b, y, &cb) == 0);
			same_chat(ra, &ca, rb, &cb);
		} else {
			struct collab_proto_event_view ea, eb;
			CHECK(collab_proto_msg_event(a, x, &ea) == 0);
			CHECK(collab_proto_msg_event(b, y, &eb) == 0);
			same_event(ra, &ea, rb, &eb);
		}
		x = collab_proto_msg_next(a, x);
		y = collab_proto_msg_next(b, y);
	}
	CHECK(x == END && y == END);
}

static void check_server(const uint8_t *data, size_t size)
{
	struct parsed r, r2;
	uint8_t *out, *out2;
	size_t len = 0, len2 = 0;

	parse(&r, data, size);
	CHECK(r.rc == 0 || r.rc == COLLAB_EPROTO);
	CHECK(r.m.message_len < COLLAB_PROTO_MESSAGE_CAP);
	CHECK(strlen(r.m.message) == r.m.message_len);
	if (r.rc != 0) {
		CHECK(r.m.type == COLLAB_PROTO_MSG_NONE && r.m.message_len > 0);
		CHECK(r.m.first == END);
		goto out;
	}
	CHECK(r.m.message_len == 0);
	if (r.m.type == COLLAB_PROTO_MSG_UNKNOWN) {
		view_ok(&r, r.m.type_name);
		goto out;
	}
	CHECK(r.m.type >= COLLAB_PROTO_MSG_WELCOME &&
	      r.m.type <= COLLAB_PROTO_MSG_BATCH);
	out = reencode(&r, &len);
	parse(&r2, out, len);
	CHECK(r2.rc == 0);
	same_msg(&r, &r2);
	out2 = reencode(&r2, &len2);
	CHECK(len2 == len && memcmp(out, out2, len) == 0);
	free(out2);
	parsed_free(&r2);
	free(out);
out:
	parsed_free(&r);
}

/* ---- client encoders, read back by the server ------------------------- */

/* The memory the server's parsers need for a len-byte message. */
static void server_mem(const struct collab_proto_config *cfg, size_t len,
		       struct collab_proto_mem *mem)
{
	mem->max_nodes = COLLAB_JSON_NODES_FOR(len);
	mem->scratch_cap = collab_proto_scratch_size(cfg, len);
	mem->nodes = malloc(mem->max_nodes * sizeof *mem->nodes);
	mem->scratch = malloc(mem->scratch_cap);
	CHECK(mem->nodes != NULL && mem->scratch != NULL);
}

static void server_mem_free(struct collab_proto_mem *mem)
{
	free(mem->nodes);
	free(mem->scratch);
}

static void check_client(const uint8_t *data, size_t size)
{
	struct collab_proto_config cfg;
	struct collab_proto_client_op op = {
		.type = COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT,
		.action = COLLAB_PROTO_ACTION_EDIT_COMMENT,
		.broadcast_id = COLLAB_STR("0f8fad5b-d9cb-469f-a165-70867728950e"),
		.chat_id = COLLAB_STR("7c9e6679-7425-40de-944b-e07fc1f90ae7"),
		.comment_id = COLLAB_STR("550e8400-e29b-41d4-a716-446655440000"),
		.text = { (const char *)data, size },
	};
	struct collab_proto_hello h = {
		.has_token = true, .token = { (const char *)data, size },
		.has_since = true, .since = size, .epoch = COLLAB_STR("e"),
	};
	size_t cap = 6 * size + 256, len = 0;
	uint8_t *out = malloc(cap);
	struct collab_proto_mem mem;
	struct collab_proto_op pop;
	struct collab_proto_hello ph;
	int rc;

	CHECK(out != NULL);
	collab_proto_config_init(&cfg);
	cfg.max_text = size + 1;
	cfg.json.max_input = cap;
	rc = collab_proto_encode_op(&op, out, cap, &len);
	if (size == 0) {
		CHECK(rc == COLLAB_EINVAL);   /* empty text */
		goto out;
	}
	if (rc != 0) {
		CHECK(rc == COLLAB_EUTF8);
		CHECK(collab_proto_encode_hello(&h, out, cap, &len) == COLLAB_EUTF8);
		goto out;
	}
	server_mem(&cfg, len, &mem);
	CHECK(collab_proto_parse_op(&cfg, &mem, out, len, &pop) == 0);
	CHECK(pop.text.len == size && memcmp(pop.text.p, data, size) == 0);
	server_mem_free(&mem);

	CHECK(collab_proto_encode_hello(&h, out, cap, &len) == 0);
	server_mem(&cfg, len, &mem);
	CHECK(collab_proto_parse_hello(&cfg, &mem, out, len, &ph) == 0);
	CHECK(ph.has_token && ph.token.len == size &&
	      memcmp(ph.token.p, data, size) == 0);
	CHECK(ph.has_since && ph.since == size && ph.epoch.len == 1);
	server_mem_free(&mem);
out:
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_server(data, size);
	check_client(data, size);
	return 0;
}
