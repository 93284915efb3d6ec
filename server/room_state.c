/*
 * room_state.c - reading stored records (journaled events, snapshot
 * records) and a room's state as snapshot messages. See room.h.
 */
#include "room.h"

#include <stdio.h>
#include <string.h>

/* Nesting the reader accepts in stored records: an anchor may nest as deep
 * as the writer allows (COLLAB_JSON_WRITER_STACK) below the few levels of
 * a snapshot message around it. */
#define RECORD_MAX_DEPTH ((uint32_t)(2 * COLLAB_JSON_WRITER_STACK))

static int fail(char *msg, size_t msgcap, int rc, const char *what)
{
	if (msg != NULL && msgcap > 0)
		(void)snprintf(msg, msgcap, "%s", what);
	return rc;
}

/* ---- records ------------------------------------------------------------ */

int srv_room_parse_record(struct srv_room_registry *reg, const uint8_t *p,
			  size_t len, struct collab_json_doc *doc, char *msg,
			  size_t msgcap)
{
	struct collab_json_config cfg;
	size_t need;
	int rc;

	if (len > COLLAB_JSON_MAX_INPUT_CAP)
		return fail(msg, msgcap, COLLAB_ECORRUPT, "record too large");
	need = COLLAB_JSON_NODES_FOR(len);
	if (need > reg->nodes_cap) {
		struct collab_json_node *nn;
		if (need > SIZE_MAX / sizeof(*nn))
			return COLLAB_ENOMEM;
		nn = reg->a->alloc(reg->a->ctx, need * sizeof(*nn));
		if (nn == NULL)
			return COLLAB_ENOMEM;
		if (reg->nodes != NULL)
			reg->a->free(reg->a->ctx, reg->nodes,
				     reg->nodes_cap * sizeof(*nn));
		reg->nodes = nn;
		reg->nodes_cap = need;
	}
	collab_json_config_init(&cfg);
	cfg.max_input = len;
	cfg.max_depth = RECORD_MAX_DEPTH;
	rc = collab_json_parse(&cfg, p, len, reg->nodes, reg->nodes_cap, doc);
	if (rc != 0) {
		if (msg != NULL && msgcap > 0)
			(void)snprintf(msg, msgcap, "not JSON (%s at byte %zu)",
				 collab_strerror(rc), doc->err_off);
		return COLLAB_ECORRUPT;
	}
	if (collab_json_type(doc, collab_json_root(doc)) != COLLAB_JSON_OBJECT)
		return fail(msg, msgcap, COLLAB_ECORRUPT,
			    "record is not a JSON object");
	return 0;
}

int srv_room_event_head(const struct collab_json_doc *d,
			struct srv_room_event_head *h, char *msg,
			size_t msgcap)
{
	static const enum collab_proto_type types[] = {
		COLLAB_PROTO_TYPE_NEW_TEXT_CHAT,
		COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT,
		COLLAB_PROTO_TYPE_DELETED_TEXT_CHAT
	};
	uint32_t root = collab_json_root(d), n;
	struct collab_str raw;
	const char *name;

	/* PROTOCOL.md 5: type, seq, broadcastId, ts, userId */
	memset(h, 0, sizeof(*h));
	n = collab_json_obj_get(d, root, COLLAB_JSON_LIT("type"));
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		name = collab_proto_type_name(types[i]);
		if (collab_json_str_eq(d, n, name, strlen(name)))
			h->type = types[i];
	}
	if (h->type == COLLAB_PROTO_TYPE_NONE)
		return fail(msg, msgcap, COLLAB_ECORRUPT,
			    "event type missing or unknown");
	if (collab_json_get_u64(d, collab_json_obj_get(d, root,
			COLLAB_JSON_LIT("seq")), &h->seq) != 0 || h->seq == 0)
		return fail(msg, msgcap, COLLAB_ECORRUPT,
			    "event seq is not a positive integer");
	n = collab_json_obj_get(d, root, COLLAB_JSON_LIT("broadcastId"));
	raw = collab_json_raw(d, n);
	if (collab_json_type(d, n) != COLLAB_JSON_STRING ||
	    !srv_chat_id_ok(raw.p, raw.len))
		return fail(msg, msgcap, COLLAB_ECORRUPT,
			    "event broadcastId is not a canonical UUID");
	memcpy(h->broadcast_id, raw.p, SRV_CHAT_ID_LEN);
	if (collab_json_get_u64(d, collab_json_obj_get(d, root,
			COLLAB_JSON_LIT("ts")), &h->ts) != 0)
		return fail(msg, msgcap, COLLAB_ECORRUPT,
			    "event ts is not an integer");
	h->user_id = collab_json_obj_get(d, root, COLLAB_JSON_LIT("userId"));
	if (collab_json_type(d, h->user_id) != COLLAB_JSON_STRING ||
	    d->nodes[h->user_id].dlen == 0)
		return fail(msg, msgcap, COLLAB_ECORRUPT,
			    "event userId missing or empty");
	return 0;
}

/* ---- state ------------------------------------------------------------------ */

int srv_room_encode_state(const struct srv_room *room,
			  const struct collab_proto_config *cfg,
			  struct collab_buf *buf,
			  int (*emit)(void *ctx, const uint8_t *p, size_t len),
			  void *ctx)
{
	return srv_chat_store_snapshot(&room->chats, room->seq, cfg, buf, emit,
				       ctx);
}

/* Frees n chat blocks of a failed load, and the array. */
static void drop_chats(struct srv_room *room, struct srv_chat **v, size_t cap,
		       size_t n)
{
	for (size_t i = 0; i < n; i++)
		srv_chat_free(&room->chats, v[i]);
	if (v != NULL)
		room->reg->a->free(room->reg->a->ctx, v, cap * sizeof(struct srv_chat *));
}

int srv_room_load_state(struct srv_room *room, const uint8_t *p, size_t len,
			char *msg, size_t msgcap)
{
	const struct collab_alloc *a = room->reg->a;
	struct collab_json_doc d;
	struct srv_room_htab seen;
	struct srv_chat **v = NULL, *c;
	size_t n = 0, cap, comments = 0, it;
	uint32_t root, arr, e;
	uint64_t seq;
	bool reset, dup;
	int rc;

	rc = srv_room_parse_record(room->reg, p, len, &d, msg, msgcap);
	if (rc != 0)
		return rc;
	root = collab_json_root(&d);
	/* PROTOCOL.md 3: {"type":"snapshot","seq":..,"reset":..,"chats":[..]} */
	if (!collab_json_str_eq(&d, collab_json_obj_get(&d, root,
			COLLAB_JSON_LIT("type")), COLLAB_JSON_LIT("snapshot")) ||
	    collab_json_get_u64(&d, collab_json_obj_get(&d, root,
			COLLAB_JSON_LIT("seq")), &seq) != 0 ||
	    collab_json_get_bool(&d, collab_json_obj_get(&d, root,
			COLLAB_JSON_LIT("reset")), &reset) != 0)
		return fail(msg, msgcap, COLLAB_ECORRUPT,
			    "not a snapshot record");
	arr = collab_json_obj_get(&d, root, COLLAB_JSON_LIT("chats"));
	if (collab_json_type(&d, arr) != COLLAB_JSON_ARRAY)
		return fail(msg, msgcap, COLLAB_ECORRUPT,
			    "snapshot chats is not an array");
	if (reset && (room->chats.n_chats > 0 || room->ring_n > 0 ||
		      room->seq > seq))
		return fail(msg, msgcap, COLLAB_ECORRUPT,
			    "snapshot reset into a room that has state");
	if (!reset && seq != room->seq)
		return fail(msg, msgcap, COLLAB_ECORRUPT,
			    "snapshot continuation with another seq");
	/* Build every chat first, so a failure leaves the room as it was. */
	cap = collab_json_count(&d, arr);
	if (cap > 0) {
		v = a->alloc(a->ctx, cap * sizeof(struct srv_chat *));
		if (v == NULL)
			return COLLAB_ENOMEM;
	}
	srv_room_htab_init(&seen);
	rc = srv_room_htab_reserve(&seen, a, cap);
	for (e = collab_json_first(&d, arr);
	     rc == 0 && n < cap && e != COLLAB_JSON_NONE;
	     e = collab_json_next(&d, e)) {
		rc = srv_chat_from_json(&room->chats, &d, e, &c, msg, msgcap);
		if (rc != 0)
			break;
		v[n++] = c;
		comments += c->n_comments;
		dup = srv_chat_find(&room->chats, c->id) != NULL;
		it = SIZE_MAX;
		for (struct srv_chat *o; !dup &&
		     (o = srv_room_htab_probe(&seen, c->hash, &it)) != NULL;)
			dup = memcmp(o->id, c->id, SRV_CHAT_ID_LEN) == 0;
		if (dup)
			rc = fail(msg, msgcap, COLLAB_ECORRUPT,
				  "two chats with one id");
		else
			srv_room_htab_put(&seen, c->hash, c);
	}
	srv_room_htab_free(&seen, a);
	if (rc == 0)
		rc = srv_chat_store_reserve(&room->chats, n, comments);
	if (rc != 0) {
		drop_chats(room, v, cap, n);
		return rc;
	}
	for (size_t i = 0; i < n; i++)
		srv_chat_link(&room->chats, v[i], room->chats.tail);
	drop_chats(room, v, cap, 0);
	room->seq = seq;
	return 0;
}
