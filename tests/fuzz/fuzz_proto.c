/*
 * fuzz_proto.c - the client-message parsers and the server-message
 * encoders, from arbitrary bytes.
 *
 * 1. The input through collab_proto_parse_hello(): accepted or EPROTO,
 *    never anything else; an accepted hello obeys its rules (since and
 *    epoch together, since not negative, views inside the input or the
 *    scratch).
 * 2. The input through collab_proto_parse_op(). An accepted op obeys its
 *    limits and is re-encoded as the event the server would broadcast,
 *    which must parse as JSON with the op's ids, text and anchor bytes
 *    unchanged; a rejected op's error reply must parse as JSON too and
 *    echo a broadcastId only when it is a canonical UUID.
 * 3. The event and the error reply, batched and put in a snapshot, parse
 *    as JSON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collab/json.h"
#include "collab/proto.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

struct mem {
	struct collab_json_node *nodes;
	uint8_t *scratch;
	struct collab_proto_mem m;
};

static void mem_init(struct mem *m, size_t len)
{
	size_t nn = COLLAB_JSON_NODES_FOR(len);
	size_t sn = collab_proto_scratch_size(NULL, len);

	m->nodes = malloc(nn * sizeof *m->nodes);
	m->scratch = malloc(sn);
	CHECK(m->nodes != NULL && m->scratch != NULL);
	m->m.nodes = m->nodes;
	m->m.max_nodes = nn;
	m->m.scratch = m->scratch;
	m->m.scratch_cap = sn;
}

static void mem_free(struct mem *m)
{
	free(m->nodes);
	free(m->scratch);
}

/* v lies within [base, base + n) */
static int inside(struct collab_str v, const void *base, size_t n)
{
	const uint8_t *p = (const uint8_t *)v.p, *b = base;
	return v.len == 0 || (p >= b && p + v.len <= b + n);
}

/* Parses out[0..len) as JSON, returns the document in fresh nodes (the
 * caller frees doc->nodes). */
static void must_parse(const uint8_t *out, size_t len, struct collab_json_doc *doc)
{
	struct collab_json_config cfg;
	size_t nn = COLLAB_JSON_NODES_FOR(len);
	struct collab_json_node *nodes = malloc(nn * sizeof *nodes);

	CHECK(nodes != NULL);
	collab_json_config_init(&cfg);
	cfg.max_input = len;
	CHECK(collab_json_parse(&cfg, out, len, nodes, nn, doc) == 0);
	CHECK(collab_json_type(doc, 0) == COLLAB_JSON_OBJECT);
}

static void check_hello(const uint8_t *data, size_t size)
{
	struct mem m;
	struct collab_proto_hello h;
	int rc;

	mem_init(&m, size);
	rc = collab_proto_parse_hello(NULL, &m.m, data, size, &h);
	CHECK(rc == 0 || rc == COLLAB_EPROTO);
	CHECK(h.message_len < COLLAB_PROTO_MESSAGE_CAP);
	CHECK(strlen(h.message) == h.message_len);
	if (rc == 0) {
		CHECK(h.message_len == 0);
		CHECK(h.since <= (uint64_t)INT64_MAX);
		CHECK(h.has_since || h.since == 0);
		CHECK(h.has_since || h.epoch.p == NULL);
		CHECK(h.has_token || h.token.len == 0);
		CHECK(inside(h.token, data, size) ||
		      inside(h.token, m.scratch, m.m.scratch_cap));
		CHECK(inside(h.epoch, data, size) ||
		      inside(h.epoch, m.scratch, m.m.scratch_cap));
	} else {
		CHECK(h.message_len > 0);
	}
	mem_free(&m);
}

static int is_canonical(const char *t)
{
	for (size_t i = 0; i < COLLAB_UUID_STR_LEN; i++) {
		char c = t[i];
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return 0;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
			return 0;
		}
	}
	return t[COLLAB_UUID_STR_LEN] == '\0';
}

/* The event for an accepted op, as the server would broadcast it. */
static size_t encode_event(const struct collab_proto_op *op, uint8_t *out,
			   size_t cap)
{
	struct collab_proto_comment cm = {
		collab_proto_id_str(&op->comment_id), COLLAB_STR("u1"),
		COLLAB_STR("Ann"), op->text, 1764151200000ull
	};
	struct collab_proto_chat chat = {
		.id = collab_proto_id_str(&op->chat_id), .anchor = op->anchor,
		.user_id = COLLAB_STR("u1"), .user_name = COLLAB_STR("Ann"),
		.created_at = 1, .comments = &cm, .n_comments = 1,
	};
	struct collab_proto_event ev = {
		.type = op->type, .action = op->action, .seq = 58,
		.broadcast_id = collab_proto_id_str(&op->broadcast_id),
		.ts = 2, .user_id = COLLAB_STR("u1"), .chat = &chat,
		.chat_id = collab_proto_id_str(&op->chat_id), .comment = &cm,
		.comment_id = collab_proto_id_str(&op->comment_id),
		.text = op->text, .resolved = op->resolved,
	};
	size_t len = 0;

	CHECK(collab_proto_encode_event(&ev, out, cap, &len) == 0);
	return len;
}

static void check_event(const struct collab_proto_op *op, const uint8_t *out,
			size_t len)
{
	struct collab_json_doc d;
	uint32_t root = 0, v;
	const char *tn = collab_proto_type_name(op->type);

	must_parse(out, len, &d);
	CHECK(collab_json_str_eq(&d, collab_json_obj_get(&d, root, "type", 4),
				 tn, strlen(tn)));
	CHECK(collab_json_str_eq(&d, collab_json_obj_get(&d, root, "broadcastId", 11),
				 op->broadcast_id.text, COLLAB_UUID_STR_LEN));
	if (op->type == COLLAB_PROTO_TYPE_NEW_TEXT_CHAT) {
		uint32_t ch = collab_json_obj_get(&d, root, "chat", 4);
		struct collab_str raw;
		v = collab_json_obj_get(&d, ch, "anchor", 6);
		raw = collab_json_raw(&d, v);
		/* relayed byte for byte */
		CHECK(raw.len == op->anchor.len &&
		      memcmp(raw.p, op->anchor.p, raw.len) == 0);
		v = collab_json_first(&d, collab_json_obj_get(&d, ch, "comments", 8));
		CHECK(collab_json_str_eq(&d, collab_json_obj_get(&d, v, "text", 4),
					 op->text.p, op->text.len));
	} else {
		CHECK(collab_json_str_eq(&d, collab_json_obj_get(&d, root, "chatId", 6),
					 op->chat_id.text, COLLAB_UUID_STR_LEN));
	}
	if (op->action == COLLAB_PROTO_ACTION_EDIT_COMMENT)
		CHECK(collab_json_str_eq(&d, collab_json_obj_get(&d, root, "text", 4),
					 op->text.p, op->text.len));
	free((void *)d.nodes);
}

static void check_op(const uint8_t *data, size_t size)
{
	struct mem m;
	struct collab_proto_op op;
	size_t cap = 4 * size + 8192, elen = 0, rlen = 0, blen = 0, slen = 0;
	uint8_t *ev = malloc(cap), *reply = malloc(1024), *batch, *snap;
	struct collab_json_doc d;
	struct collab_str parts[2];
	struct collab_proto_snapshot s;
	int rc;

	CHECK(ev != NULL && reply != NULL);
	mem_init(&m, size);
	rc = collab_proto_parse_op(NULL, &m.m, data, size, &op);
	CHECK(rc == 0 || rc == COLLAB_EPROTO);
	CHECK(op.message_len < COLLAB_PROTO_MESSAGE_CAP);
	CHECK(strlen(op.message) == op.message_len);
	if (op.has_broadcast_id)
		CHECK(is_canonical(op.broadcast_id.text));
	if (rc != 0) {
		CHECK(op.err == COLLAB_PROTO_ERR_INVALID ||
		      op.err == COLLAB_PROTO_ERR_TOO_LARGE);
		CHECK(op.message_len > 0);
		CHECK(collab_proto_encode_op_error(&op, reply, 1024, &rlen) == 0);
		must_parse(reply, rlen, &d);
		free((void *)d.nodes);
		goto out;
	}
	CHECK(op.err == COLLAB_PROTO_ERR_NONE && op.has_broadcast_id);
	CHECK(op.type >= COLLAB_PROTO_TYPE_NEW_TEXT_CHAT &&
	      op.type <= COLLAB_PROTO_TYPE_DELETED_TEXT_CHAT);
	CHECK(is_canonical(op.chat_id.text));
	CHECK(op.text.len <= COLLAB_PROTO_DEFAULT_MAX_TEXT);
	CHECK(op.anchor.len <= COLLAB_PROTO_DEFAULT_MAX_ANCHOR);
	CHECK(inside(op.text, data, size) ||
	      inside(op.text, m.scratch, COLLAB_PROTO_DEFAULT_MAX_TEXT));
	if (op.type == COLLAB_PROTO_TYPE_NEW_TEXT_CHAT) {
		CHECK(op.anchor.len >= 2 && op.anchor.p[0] == '{');
		CHECK(op.text.len >= 1);
	}
	elen = encode_event(&op, ev, cap);
	check_event(&op, ev, elen);

	/* the event in a batch and in a snapshot-sized message */
	CHECK(collab_proto_encode_user_count(3, reply, 1024, &rlen) == 0);
	parts[0].p = (const char *)ev;
	parts[0].len = elen;
	parts[1].p = (const char *)ev;
	parts[1].len = elen;
	blen = 2 * elen + 64;
	batch = malloc(blen);
	CHECK(batch != NULL);
	CHECK(collab_proto_encode_batch(parts, 2, batch, blen, &blen) == 0);
	must_parse(batch, blen, &d);
	free((void *)d.nodes);
	free(batch);
	if (op.type == COLLAB_PROTO_TYPE_NEW_TEXT_CHAT) {
		struct collab_proto_chat chat = {
			.id = collab_proto_id_str(&op.chat_id), .anchor = op.anchor,
			.user_id = COLLAB_STR("u"), .user_name = COLLAB_STR("U"),
		};
		slen = elen + 128;
		snap = malloc(slen);
		CHECK(snap != NULL);
		CHECK(collab_proto_snapshot_begin(&s, NULL, 1, true, snap, slen) == 0);
		CHECK(collab_proto_snapshot_add(&s, &chat) == 0);
		CHECK(collab_proto_snapshot_finish(&s, &slen) == 0);
		must_parse(snap, slen, &d);
		free((void *)d.nodes);
		free(snap);
	}
out:
	mem_free(&m);
	free(ev);
	free(reply);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_hello(data, size);
	check_op(data, size);
	return 0;
}
