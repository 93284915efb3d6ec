/*
 * proto_encode.c - server messages of PROTOCOL.md (sections 3 and 5)
 * encoded to their exact bytes, members in the order of its examples.
 *
 * Everything goes through the JSON writer, so the output is valid JSON
 * with every string escaped, except bytes that were encoded earlier and
 * are embedded unchanged: an anchor (a chat's second member, written with
 * collab_json_write_raw()), pre-encoded chats in a snapshot and events in
 * a batch. A snapshot or batch envelope is written by the writer with an
 * empty array and the elements are copied between its brackets, because
 * their builders size each message before writing it.
 */
#include "collab/proto.h"

#include <string.h>

#include "collab/json.h"

#include "proto_write.h"

/* {"type":"batch","events":[ ... ]} around the events of a batch. */
static const char batch_head[] = "{\"type\":\"batch\",\"events\":[";
#define BATCH_HEAD_LEN (sizeof batch_head - 1)
#define BATCH_TAIL_LEN 2 /* "]}" */

/* An object's encoded bytes: at least "{...}". Only the outer shape is
 * checked: the bytes MUST come from this module (see proto.h). */
static bool is_object(const char *p, size_t len)
{
	return p != NULL && len >= 2 && p[0] == '{' && p[len - 1] == '}';
}

static bool args_ok(const void *m, const uint8_t *out, size_t cap,
		    const size_t *len)
{
	return m != NULL && len != NULL && (out != NULL || cap == 0);
}

/* ---- small messages --------------------------------------------------- */

int collab_proto_encode_welcome(const struct collab_proto_welcome *m,
				uint8_t *out, size_t cap, size_t *len)
{
	struct collab_json_writer w;

	if (!args_ok(m, out, cap, len) ||
	    (m->resync != COLLAB_PROTO_RESYNC_REPLAY &&
	     m->resync != COLLAB_PROTO_RESYNC_SNAPSHOT))
		return COLLAB_EINVAL;
	collab_json_writer_init(&w, out, cap);
	/* PROTOCOL.md 3, answer 1 */
	put_type(&w, "welcome");
	put_str(&w, NAME("connectionId"), m->connection_id);
	collab_json_write_key(&w, NAME("user"));
	if (m->user == NULL) {
		collab_json_write_null(&w);
	} else {
		collab_json_write_obj_begin(&w);
		put_str(&w, NAME("id"), m->user->id);
		put_str(&w, NAME("name"), m->user->name);
		put_bool(&w, NAME("moderator"), m->user->moderator);
		collab_json_write_obj_end(&w);
	}
	put_str(&w, NAME("epoch"), m->epoch);
	put_u64(&w, NAME("seq"), m->seq);
	put_u64(&w, NAME("count"), m->count);
	collab_json_write_key(&w, NAME("resync"));
	if (m->resync == COLLAB_PROTO_RESYNC_REPLAY)
		collab_json_write_str(&w, NAME("replay"));
	else
		collab_json_write_str(&w, NAME("snapshot"));
	collab_json_write_obj_end(&w);
	return put_finish(&w, len);
}

int collab_proto_encode_synced(uint64_t seq, uint8_t *out, size_t cap,
			       size_t *len)
{
	struct collab_json_writer w;

	if (!args_ok(&w, out, cap, len))
		return COLLAB_EINVAL;
	collab_json_writer_init(&w, out, cap);
	/* PROTOCOL.md 3, answer 3 */
	put_type(&w, "synced");
	put_u64(&w, NAME("seq"), seq);
	collab_json_write_obj_end(&w);
	return put_finish(&w, len);
}

int collab_proto_encode_user_count(uint64_t count, uint8_t *out, size_t cap,
				   size_t *len)
{
	struct collab_json_writer w;

	if (!args_ok(&w, out, cap, len))
		return COLLAB_EINVAL;
	collab_json_writer_init(&w, out, cap);
	/* PROTOCOL.md 5 */
	put_type(&w, "user-count");
	put_u64(&w, NAME("count"), count);
	collab_json_write_obj_end(&w);
	return put_finish(&w, len);
}

int collab_proto_encode_error(const struct collab_str *broadcast_id,
			      enum collab_proto_err code,
			      struct collab_str message,
			      uint8_t *out, size_t cap, size_t *len)
{
	const char *name = collab_proto_err_name(code);
	struct collab_json_writer w;

	if (name == NULL || !args_ok(name, out, cap, len))
		return COLLAB_EINVAL;
	collab_json_writer_init(&w, out, cap);
	/* PROTOCOL.md 4: the rejection, broadcastId or null */
	put_type(&w, "error");
	collab_json_write_key(&w, NAME("broadcastId"));
	if (broadcast_id == NULL)
		collab_json_write_null(&w);
	else
		collab_json_write_str(&w, broadcast_id->p, broadcast_id->len);
	collab_json_write_key(&w, NAME("code"));
	collab_json_write_str(&w, name, strlen(name));
	put_str(&w, NAME("message"), message);
	collab_json_write_obj_end(&w);
	return put_finish(&w, len);
}

int collab_proto_encode_op_error(const struct collab_proto_op *op,
				 uint8_t *out, size_t cap, size_t *len)
{
	struct collab_str bid, msg;

	if (op == NULL)
		return COLLAB_EINVAL;
	bid = collab_proto_id_str(&op->broadcast_id);
	msg.p = op->message;
	msg.len = op->message_len < COLLAB_PROTO_MESSAGE_CAP ?
		op->message_len : 0;
	return collab_proto_encode_error(op->has_broadcast_id ? &bid : NULL,
					 op->err, msg, out, cap, len);
}

/* ---- chats and events ------------------------------------------------- */

/* PROTOCOL.md 5: a comment as a chat's comments and add-comment show it. */
static void put_comment(struct collab_json_writer *w,
			const struct collab_proto_comment *c)
{
	collab_json_write_obj_begin(w);
	put_str(w, NAME("id"), c->id);
	put_str(w, NAME("userId"), c->user_id);
	put_str(w, NAME("userName"), c->user_name);
	put_str(w, NAME("text"), c->text);
	put_u64(w, NAME("createdAt"), c->created_at);
	collab_json_write_obj_end(w);
}

static bool chat_ok(const struct collab_proto_chat *c)
{
	return c != NULL && is_object(c->anchor.p, c->anchor.len) &&
	       (c->n_comments == 0 || c->comments != NULL ||
		c->get_comment != NULL);
}

/* PROTOCOL.md 5: the chat of new-text-chat (and of a snapshot). The
 * anchor's bytes are copied as they are: chat_ok() has checked they are
 * an object, and proto.h makes them parse_op()'s canonical output. */
static void put_chat(struct collab_json_writer *w,
		     const struct collab_proto_chat *c)
{
	collab_json_write_obj_begin(w);
	put_str(w, NAME("id"), c->id);
	collab_json_write_key(w, NAME("anchor"));
	collab_json_write_raw(w, c->anchor.p, c->anchor.len);
	put_str(w, NAME("userId"), c->user_id);
	put_str(w, NAME("userName"), c->user_name);
	put_u64(w, NAME("createdAt"), c->created_at);
	put_bool(w, NAME("resolved"), c->resolved);
	collab_json_write_key(w, NAME("comments"));
	collab_json_write_arr_begin(w);
	for (size_t i = 0; i < c->n_comments && w->err == 0; i++) {
		struct collab_proto_comment cm;
		if (c->comments != NULL) {
			put_comment(w, &c->comments[i]);
			continue;
		}
		memset(&cm, 0, sizeof cm);
		c->get_comment(c->get_comment_ctx, i, &cm);
		put_comment(w, &cm);
	}
	collab_json_write_arr_end(w);
	collab_json_write_obj_end(w);
}

int collab_proto_encode_chat(const struct collab_proto_chat *chat,
			     uint8_t *out, size_t cap, size_t *len)
{
	struct collab_json_writer w;

	if (!args_ok(chat, out, cap, len) || !chat_ok(chat))
		return COLLAB_EINVAL;
	collab_json_writer_init(&w, out, cap);
	put_chat(&w, chat);
	return put_finish(&w, len);
}

/* The parts each (type, action) needs, as proto.h lists them. */
static bool event_ok(const struct collab_proto_event *ev)
{
	switch (ev->type) {
	case COLLAB_PROTO_TYPE_NEW_TEXT_CHAT:
		return ev->action == COLLAB_PROTO_ACTION_NONE && chat_ok(ev->chat);
	case COLLAB_PROTO_TYPE_DELETED_TEXT_CHAT:
		return ev->action == COLLAB_PROTO_ACTION_NONE;
	case COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT:
		switch (ev->action) {
		case COLLAB_PROTO_ACTION_ADD_COMMENT:
			return ev->comment != NULL;
		case COLLAB_PROTO_ACTION_EDIT_COMMENT:
		case COLLAB_PROTO_ACTION_DELETE_COMMENT:
		case COLLAB_PROTO_ACTION_RESOLVE:
			return true;
		case COLLAB_PROTO_ACTION_NONE:
			break;
		}
		return false;
	case COLLAB_PROTO_TYPE_HELLO:
	case COLLAB_PROTO_TYPE_NONE:
		break;
	}
	return false;
}

int collab_proto_encode_event(const struct collab_proto_event *ev,
			      uint8_t *out, size_t cap, size_t *len)
{
	struct collab_json_writer w;
	const char *action;

	if (!args_ok(ev, out, cap, len) || !event_ok(ev))
		return COLLAB_EINVAL;
	collab_json_writer_init(&w, out, cap);
	/* PROTOCOL.md 5: the members every event starts with */
	put_type(&w, collab_proto_type_name(ev->type));
	put_u64(&w, NAME("seq"), ev->seq);
	put_str(&w, NAME("broadcastId"), ev->broadcast_id);
	put_u64(&w, NAME("ts"), ev->ts);
	put_str(&w, NAME("userId"), ev->user_id);
	if (ev->type == COLLAB_PROTO_TYPE_NEW_TEXT_CHAT) {
		collab_json_write_key(&w, NAME("chat"));
		put_chat(&w, ev->chat);
		collab_json_write_obj_end(&w);
		return put_finish(&w, len);
	}
	put_str(&w, NAME("chatId"), ev->chat_id);
	if (ev->type == COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT) {
		action = collab_proto_action_name(ev->action);
		collab_json_write_key(&w, NAME("action"));
		collab_json_write_str(&w, action, strlen(action));
		switch (ev->action) {
		case COLLAB_PROTO_ACTION_ADD_COMMENT:
			collab_json_write_key(&w, NAME("comment"));
			put_comment(&w, ev->comment);
			break;
		case COLLAB_PROTO_ACTION_EDIT_COMMENT:
			put_str(&w, NAME("commentId"), ev->comment_id);
			put_str(&w, NAME("text"), ev->text);
			break;
		case COLLAB_PROTO_ACTION_DELETE_COMMENT:
			put_str(&w, NAME("commentId"), ev->comment_id);
			break;
		case COLLAB_PROTO_ACTION_RESOLVE:
		case COLLAB_PROTO_ACTION_NONE:
			put_bool(&w, NAME("resolved"), ev->resolved);
			break;
		}
	}
	collab_json_write_obj_end(&w);
	return put_finish(&w, len);
}

/* ---- batch ------------------------------------------------------------ */

size_t collab_proto_batch_next(const struct collab_proto_config *cfg,
			       const struct collab_str *ev, size_t n,
			       size_t *msg_len)
{
	struct collab_proto_config def;
	size_t k = 1, total = 0;

	if (msg_len != NULL)
		*msg_len = 0;
	if (n == 0 || ev == NULL)
		return 0;
	if (cfg == NULL) {
		collab_proto_config_init(&def);
		cfg = &def;
	}
	/* PROTOCOL.md 5: a batch holds as many events as keep it within
	 * max_batch bytes of payload; checks written so none overflows */
	if (ev[0].len <= cfg->max_batch &&
	    BATCH_HEAD_LEN + BATCH_TAIL_LEN <= cfg->max_batch - ev[0].len) {
		total = BATCH_HEAD_LEN + ev[0].len + BATCH_TAIL_LEN;
		while (k < n && total < cfg->max_batch &&
		       ev[k].len <= cfg->max_batch - total - 1) {
			total += 1 + ev[k].len;  /* a comma and the event */
			k++;
		}
	}
	/* a single event goes out bare */
	if (msg_len != NULL)
		*msg_len = k == 1 ? ev[0].len : total;
	return k;
}

/* A bare event that may go in a batch: an object, and neither a batch
 * (PROTOCOL.md 5: batch never nests) nor a user-count (never batched).
 * The type is the first member of every message this module encodes. */
static bool batchable(struct collab_str e)
{
	static const char nest[] = "{\"type\":\"batch\"";
	static const char count[] = "{\"type\":\"user-count\"";

	if (!is_object(e.p, e.len))
		return false;
	if (e.len >= sizeof nest - 1 && memcmp(e.p, nest, sizeof nest - 1) == 0)
		return false;
	return !(e.len >= sizeof count - 1 &&
		 memcmp(e.p, count, sizeof count - 1) == 0);
}

int collab_proto_encode_batch(const struct collab_str *ev, size_t n,
			      uint8_t *out, size_t cap, size_t *len)
{
	size_t need, o;

	if (ev == NULL || n == 0 || !args_ok(ev, out, cap, len))
		return COLLAB_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!batchable(ev[i]))
			return COLLAB_EINVAL;
	if (n == 1) {
		if (ev[0].len > cap)
			return COLLAB_ESPACE;
		memcpy(out, ev[0].p, ev[0].len);
		*len = ev[0].len;
		return 0;
	}
	need = BATCH_HEAD_LEN + BATCH_TAIL_LEN;
	for (size_t i = 0; i < n; i++) {
		size_t add = ev[i].len + (i > 0);  /* no overflow: len < SIZE_MAX */
		if (add > cap || need > cap - add)
			return COLLAB_ESPACE;
		need += add;
	}
	memcpy(out, batch_head, BATCH_HEAD_LEN);
	o = BATCH_HEAD_LEN;
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			out[o++] = ',';
		memcpy(out + o, ev[i].p, ev[i].len);
		o += ev[i].len;
	}
	out[o++] = ']';
	out[o++] = '}';
	*len = o;
	return 0;
}

/* ---- snapshot --------------------------------------------------------- */

int collab_proto_snapshot_begin(struct collab_proto_snapshot *s,
				const struct collab_proto_config *cfg,
				uint64_t seq, bool reset,
				uint8_t *out, size_t cap)
{
	struct collab_proto_config def;
	struct collab_json_writer w;
	size_t n = 0;
	int rc;

	if (s == NULL)
		return COLLAB_EINVAL;
	memset(s, 0, sizeof *s);
	if (cfg == NULL) {
		collab_proto_config_init(&def);
		cfg = &def;
	}
	if (out == NULL && cap != 0) {
		s->err = COLLAB_EINVAL;
		return s->err;
	}
	/* PROTOCOL.md 3: {"type":"snapshot","seq":..,"reset":..,"chats":[]},
	 * of which the final "]}" is kept in reserve for finish */
	collab_json_writer_init(&w, out, cap);
	put_type(&w, "snapshot");
	put_u64(&w, NAME("seq"), seq);
	put_bool(&w, NAME("reset"), reset);
	collab_json_write_key(&w, NAME("chats"));
	collab_json_write_arr_begin(&w);
	collab_json_write_arr_end(&w);
	collab_json_write_obj_end(&w);
	rc = collab_json_writer_finish(&w, &n);
	if (rc != 0) {
		s->err = rc;
		return rc;
	}
	s->out = out;
	s->cap = cap;
	s->len = n - 2;
	s->limit = cfg->max_snapshot;
	return 0;
}

/*
 * Room for the next chat (after its comma): bounded by the buffer (minus
 * the reserved "]}") and, once the message holds a chat, by the limit.
 * *by_limit says the bound is the limit's, so running out of it means
 * "message full" rather than "buffer too small".
 */
static size_t chat_room(const struct collab_proto_snapshot *s, size_t comma,
			bool *by_limit)
{
	size_t room = s->cap - s->len - 2 - comma, lim;

	*by_limit = false;
	if (s->n_chats == 0)
		return room;
	/* PROTOCOL.md 3: at most max_snapshot bytes per message, unless a
	 * chat goes alone */
	if (s->limit < s->len + 2 + comma)
		lim = 0;
	else
		lim = s->limit - s->len - 2 - comma;
	if (lim <= room) {
		*by_limit = true;
		return lim;
	}
	return room;
}

/* Makes the chat just written at len + comma part of the message. */
static void chat_commit(struct collab_proto_snapshot *s, size_t comma,
			size_t n)
{
	if (comma)
		s->out[s->len] = ',';
	s->len += comma + n;
	s->n_chats++;
}

int collab_proto_snapshot_add(struct collab_proto_snapshot *s,
			      const struct collab_proto_chat *chat)
{
	size_t comma, room, n = 0;
	bool by_limit;
	int rc;

	if (s == NULL)
		return COLLAB_EINVAL;
	if (s->err != 0)
		return s->err;
	comma = s->n_chats > 0;
	if (s->cap - s->len - 2 < comma)
		return COLLAB_ESPACE;
	room = chat_room(s, comma, &by_limit);
	rc = collab_proto_encode_chat(chat, s->out + s->len + comma, room, &n);
	if (rc == COLLAB_ESPACE && by_limit)
		return COLLAB_ELIMIT;
	if (rc != 0)
		return rc;
	chat_commit(s, comma, n);
	return 0;
}

int collab_proto_snapshot_add_raw(struct collab_proto_snapshot *s,
				  const uint8_t *p, size_t len)
{
	size_t comma, room;
	bool by_limit;

	if (s == NULL)
		return COLLAB_EINVAL;
	if (s->err != 0)
		return s->err;
	if (!is_object((const char *)p, len))
		return COLLAB_EINVAL;
	comma = s->n_chats > 0;
	if (s->cap - s->len - 2 < comma)
		return COLLAB_ESPACE;
	room = chat_room(s, comma, &by_limit);
	if (len > room)
		return by_limit ? COLLAB_ELIMIT : COLLAB_ESPACE;
	memcpy(s->out + s->len + comma, p, len);
	chat_commit(s, comma, len);
	return 0;
}

int collab_proto_snapshot_finish(struct collab_proto_snapshot *s,
				 size_t *len)
{
	if (s == NULL)
		return COLLAB_EINVAL;
	if (s->err != 0)
		return s->err;
	/* the two bytes begin reserved */
	s->out[s->len] = ']';
	s->out[s->len + 1] = '}';
	if (len != NULL)
		*len = s->len + 2;
	return 0;
}
