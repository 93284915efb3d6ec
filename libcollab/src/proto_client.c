/*
 * proto_client.c - the client side of PROTOCOL.md, outbound half: hello
 * (section 3) and the operations (section 4) encoded to their exact bytes,
 * members in the order of the examples. The parser of server messages is
 * in proto_client_parse.c.
 *
 * Everything goes through the JSON writer, the anchor with
 * collab_json_write_raw(), so the output is valid JSON as long as the
 * anchor is (proto.h makes that the caller's MUST). The checks here refuse
 * what the server would refuse as malformed whatever its configuration
 * (`invalid`: bad ids, empty text), so a client bug shows at its source
 * rather than as an error reply later; the size limits are the server's to
 * apply.
 */
#include "collab/proto.h"

#include <string.h>

#include "collab/json.h"
#include "collab/uuid.h"

#include "proto_write.h"

/* The canonical lowercase UUID text that collab_proto_parse_op() accepts
 * (proto.h, UUID SPELLING; RFC 9562 section 4). */
static bool canonical_id(struct collab_str s)
{
	struct collab_uuid u;

	if (s.p == NULL || s.len != COLLAB_UUID_STR_LEN)
		return false;
	for (size_t i = 0; i < s.len; i++)
		if (s.p[i] >= 'A' && s.p[i] <= 'F')
			return false;
	return collab_uuid_parse(s.p, s.len, &u) == 0;
}

int collab_proto_encode_hello(const struct collab_proto_hello *h,
			      uint8_t *out, size_t cap, size_t *len)
{
	struct collab_json_writer w;

	if (h == NULL || len == NULL || (out == NULL && cap != 0))
		return COLLAB_EINVAL;
	/* PROTOCOL.md 3: since is not negative, and the server reads it as a
	 * signed 64-bit integer */
	if (h->has_since && h->since > (uint64_t)INT64_MAX)
		return COLLAB_EINVAL;
	collab_json_writer_init(&w, out, cap);
	put_type(&w, "hello");
	if (h->has_token)
		put_str(&w, NAME("token"), h->token);
	/* PROTOCOL.md 3: since and epoch, both present or both absent */
	if (h->has_since) {
		collab_json_write_key(&w, NAME("since"));
		collab_json_write_u64(&w, h->since);
		put_str(&w, NAME("epoch"), h->epoch);
	}
	collab_json_write_obj_end(&w);
	return put_finish(&w, len);
}

/* The parts each (type, action) needs, as proto.h lists them: present,
 * and well-formed where PROTOCOL.md 4 makes a fault `invalid`. */
static bool op_ok(const struct collab_proto_client_op *op)
{
	bool text_ok = op->text.len > 0 && op->text.p != NULL;

	if (!canonical_id(op->broadcast_id) || !canonical_id(op->chat_id))
		return false;
	switch (op->type) {
	case COLLAB_PROTO_TYPE_NEW_TEXT_CHAT:
		return op->action == COLLAB_PROTO_ACTION_NONE &&
		       canonical_id(op->comment_id) && text_ok &&
		       op->anchor.p != NULL && op->anchor.len >= 2 &&
		       op->anchor.p[0] == '{' &&
		       op->anchor.p[op->anchor.len - 1] == '}';
	case COLLAB_PROTO_TYPE_DELETED_TEXT_CHAT:
		return op->action == COLLAB_PROTO_ACTION_NONE;
	case COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT:
		switch (op->action) {
		case COLLAB_PROTO_ACTION_ADD_COMMENT:
		case COLLAB_PROTO_ACTION_EDIT_COMMENT:
			return canonical_id(op->comment_id) && text_ok;
		case COLLAB_PROTO_ACTION_DELETE_COMMENT:
			return canonical_id(op->comment_id);
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

/* {"id":..,"text":..} of new-text-chat and add-comment. */
static void put_comment(struct collab_json_writer *w,
			const struct collab_proto_client_op *op)
{
	collab_json_write_key(w, NAME("comment"));
	collab_json_write_obj_begin(w);
	put_str(w, NAME("id"), op->comment_id);
	put_str(w, NAME("text"), op->text);
	collab_json_write_obj_end(w);
}

int collab_proto_encode_op(const struct collab_proto_client_op *op,
			   uint8_t *out, size_t cap, size_t *len)
{
	struct collab_json_writer w;
	const char *action;

	if (op == NULL || len == NULL || (out == NULL && cap != 0) ||
	    !op_ok(op))
		return COLLAB_EINVAL;
	collab_json_writer_init(&w, out, cap);
	/* PROTOCOL.md 4: type and broadcastId first, in every operation */
	put_type(&w, collab_proto_type_name(op->type));
	put_str(&w, NAME("broadcastId"), op->broadcast_id);
	if (op->type == COLLAB_PROTO_TYPE_NEW_TEXT_CHAT) {
		collab_json_write_key(&w, NAME("chat"));
		collab_json_write_obj_begin(&w);
		put_str(&w, NAME("id"), op->chat_id);
		collab_json_write_key(&w, NAME("anchor"));
		collab_json_write_raw(&w, op->anchor.p, op->anchor.len);
		put_comment(&w, op);
		collab_json_write_obj_end(&w);
		collab_json_write_obj_end(&w);
		return put_finish(&w, len);
	}
	put_str(&w, NAME("chatId"), op->chat_id);
	if (op->type == COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT) {
		action = collab_proto_action_name(op->action);
		collab_json_write_key(&w, NAME("action"));
		collab_json_write_str(&w, action, strlen(action));
		switch (op->action) {
		case COLLAB_PROTO_ACTION_ADD_COMMENT:
			put_comment(&w, op);
			break;
		case COLLAB_PROTO_ACTION_EDIT_COMMENT:
			put_str(&w, NAME("commentId"), op->comment_id);
			put_str(&w, NAME("text"), op->text);
			break;
		case COLLAB_PROTO_ACTION_DELETE_COMMENT:
			put_str(&w, NAME("commentId"), op->comment_id);
			break;
		case COLLAB_PROTO_ACTION_RESOLVE:
		case COLLAB_PROTO_ACTION_NONE:
			collab_json_write_key(&w, NAME("resolved"));
			collab_json_write_bool(&w, op->resolved);
			break;
		}
	}
	collab_json_write_obj_end(&w);
	return put_finish(&w, len);
}
