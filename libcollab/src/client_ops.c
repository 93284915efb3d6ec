/*
 * client_ops.c - the client's operations (PROTOCOL.md 4): building and
 * queueing them, sending them in order when the connection is live and
 * the pacing allows, the ring of answered own broadcastIds.
 *
 * The queue holds every operation not yet answered, in creation order:
 * those sent on the current connection first (before c->op_unsent), then
 * those waiting. An operation leaves it when answered (echo or error), so
 * after a reconnect everything still in it - sent but unanswered, or made
 * meanwhile - is sent again, in order, with the bytes (and broadcastId) it
 * had (PROTOCOL.md 4 Retries). Untracked raw messages leave it once sent.
 */
#include "client_int.h"

#include <string.h>

#include "collab/json.h"
#include "collab/utf8.h"

/* Members, ids and punctuation of the longest operation message besides
 * its text and anchor (updated-text-chat/edit-comment is about 200). */
#define OP_SLACK 512u
/* A JSON string escape is at most 6 bytes per input byte (\u00XX). */
#define JSON_ESC_MAX 6u
/* An anchor sits at depth 3 of new-text-chat (message, chat, anchor), and
 * the server reads messages with the JSON reader's default depth: deeper
 * anchors would be refused as `invalid`. */
#define ANCHOR_MAX_DEPTH (COLLAB_JSON_DEFAULT_MAX_DEPTH - 2)
/* Whitespace aside, an anchor's input cannot be much longer than its
 * compact form: inputs past this many times max_anchor are refused before
 * any node array is allocated for them. */
#define ANCHOR_INPUT_FACTOR 16u
/* Token bucket arithmetic in thousandths of a token. */
#define MILLI 1000u

/* ---- answered own broadcastIds ---------------------------------------------- */

static void own_add(struct collab_client *c, const char *bid)
{
	size_t n = c->cfg.max_own_ids;

	if (c->own_ids == NULL) {
		/* Allocated with the first answer: most clients of a big
		 * bench never send anything. */
		c->own_hash = cl_alloc(c, n * sizeof(*c->own_hash));
		c->own_ids = cl_alloc(c, n * sizeof(*c->own_ids));
		if (c->own_hash == NULL || c->own_ids == NULL) {
			cl_free(c, c->own_hash, n * sizeof(*c->own_hash));
			cl_free(c, c->own_ids, n * sizeof(*c->own_ids));
			c->own_hash = NULL;
			c->own_ids = NULL;
			return; /* then only the unanswered ones are known */
		}
	}
	c->own_hash[c->own_pos] = cl_hash(bid, COLLAB_UUID_STR_LEN);
	memcpy(c->own_ids[c->own_pos], bid, COLLAB_UUID_STR_LEN);
	c->own_pos = (c->own_pos + 1) % n;
	if (c->own_len < n)
		c->own_len++;
}

bool cl_own_has(const struct collab_client *c, const char *bid, size_t len)
{
	uint64_t h;
	size_t i;

	if (len != COLLAB_UUID_STR_LEN || c->own_ids == NULL)
		return false;
	h = cl_hash(bid, len);
	for (i = 0; i < c->own_len; i++)
		if (c->own_hash[i] == h &&
		    memcmp(c->own_ids[i], bid, COLLAB_UUID_STR_LEN) == 0)
			return true;
	return false;
}

/* ---- the queue ---------------------------------------------------------------- */

static void op_unlink(struct collab_client *c, struct collab_client_op *op)
{
	if (c->op_unsent == op)
		c->op_unsent = op->next;
	if (op->prev)
		op->prev->next = op->next;
	else
		c->op_head = op->next;
	if (op->next)
		op->next->prev = op->prev;
	else
		c->op_tail = op->prev;
	c->n_ops--;
}

static void op_link(struct collab_client *c, struct collab_client_op *op)
{
	op->id = c->next_op_id++;
	op->prev = c->op_tail;
	op->next = NULL;
	if (c->op_tail)
		c->op_tail->next = op;
	else
		c->op_head = op;
	c->op_tail = op;
	if (c->op_unsent == NULL)
		c->op_unsent = op;
	c->n_ops++;
}

struct collab_client_op *cl_ops_find(struct collab_client *c, const char *bid,
				     size_t len)
{
	struct collab_client_op *op;
	uint64_t h;

	if (len != COLLAB_UUID_STR_LEN || c->op_head == NULL)
		return NULL;
	h = cl_hash(bid, len);
	for (op = c->op_head; op; op = op->next)
		if (op->tracked && op->bid_hash == h &&
		    memcmp(op->bid, bid, COLLAB_UUID_STR_LEN) == 0)
			return op;
	return NULL;
}

void cl_ops_remove(struct collab_client *c, struct collab_client_op *op)
{
	op_unlink(c, op);
	if (op->tracked)
		own_add(c, op->bid);
	cl_free(c, op, op->size);
}

void cl_ops_free_all(struct collab_client *c)
{
	while (c->op_head) {
		struct collab_client_op *op = c->op_head;

		op_unlink(c, op);
		cl_free(c, op, op->size);
	}
	c->op_unsent = NULL;
}

void cl_ops_restart(struct collab_client *c)
{
	c->op_unsent = c->op_head;
	c->pace_milli = (uint64_t)c->cfg.ops_burst * MILLI;
	c->pace_at = collab_loop_now(c->loop);
}

/* Takes a token from the bucket; false (and the pace timer armed) when
 * none is there yet. */
static bool pace_take(struct collab_client *c)
{
	uint64_t rate = c->cfg.ops_per_second; /* milli-tokens per ms */
	uint64_t full = (uint64_t)c->cfg.ops_burst * MILLI;
	uint64_t now, el;

	if (rate == 0)
		return true;
	/* Operations are often made outside the loop's turns, when its
	 * cached clock is old: read it afresh. */
	now = collab_loop_update_now(c->loop);
	el = now > c->pace_at ? now - c->pace_at : 0;
	if (c->pace_milli >= full || el >= (full - c->pace_milli) / rate + 1)
		c->pace_milli = full;
	else
		c->pace_milli += el * rate;
	c->pace_at = now;
	if (c->pace_milli >= MILLI) {
		c->pace_milli -= MILLI;
		return true;
	}
	if (!collab_loop_timer_armed(&c->pace_timer))
		(void)collab_loop_timer_arm(c->loop, &c->pace_timer,
					    (MILLI - c->pace_milli + rate - 1) / rate);
	return false;
}

void cl_ops_flush(struct collab_client *c)
{
	struct collab_client_op *op;
	int rc;

	if (c->state != COLLAB_CLIENT_LIVE || c->conn.gen == 0 || c->stopping)
		return;
	while ((op = c->op_unsent) != NULL) {
		if (!pace_take(c))
			return;
		rc = collab_wsconn_send(c->ws, c->conn, COLLAB_WS_OP_TEXT,
					op->msg, op->msg_len);
		if (rc != 0) {
			if (c->cfg.ops_per_second)
				c->pace_milli += MILLI; /* not spent */
			/* EQUEUE: on_drain resumes; ECLOSED: on_close
			 * follows and the next connection resends. */
			if (rc != COLLAB_EQUEUE && rc != COLLAB_ECLOSED)
				cl_fail(c, COLLAB_WS_CLOSE_INTERNAL_ERROR, rc,
					"cannot send");
			return;
		}
		c->op_unsent = op->next;
		if (!op->tracked) {
			op_unlink(c, op);
			cl_free(c, op, op->size);
		}
	}
}

void cl_ops_on_pace(struct collab_loop *loop, struct collab_timer *t)
{
	(void)loop;
	cl_ops_flush(t->ctx);
}

/* ---- building operations ------------------------------------------------------- */

static int may_queue(const struct collab_client *c)
{
	if (c->loop == NULL)
		return COLLAB_EINVAL;
	if (c->state == COLLAB_CLIENT_CLOSED || c->stopping)
		return COLLAB_ESTATE;
	if (c->n_ops >= c->cfg.max_pending)
		return COLLAB_EQUEUE;
	return 0;
}

/* A canonical lowercase UUID (proto.h, UUID SPELLING). */
static bool id_ok(struct collab_str s)
{
	struct collab_uuid u;
	size_t i;

	if (s.len != COLLAB_UUID_STR_LEN || s.p == NULL ||
	    collab_uuid_parse(s.p, s.len, &u) != 0)
		return false;
	for (i = 0; i < s.len; i++)
		if (s.p[i] >= 'A' && s.p[i] <= 'F')
			return false;
	return true;
}

static int text_ok(const struct collab_client *c, const char *t, size_t len)
{
	if (len == 0 || t == NULL)
		return COLLAB_EINVAL; /* PROTOCOL.md 4: empty text is invalid */
	if (len > c->cfg.max_text)
		return COLLAB_ELIMIT;
	return collab_utf8_check((const uint8_t *)t, len);
}

static int new_id(struct collab_client *c, char out[COLLAB_UUID_STR_LEN + 1])
{
	struct collab_uuid u;
	int rc = collab_uuid_v4(c->rng, &u);

	if (rc == 0)
		rc = collab_uuid_format(&u, out, COLLAB_UUID_STR_LEN + 1);
	return rc;
}

/*
 * The anchor re-encoded compactly (collab_json_write_node), as the server
 * stores and relays it, into out[0..max_anchor). PROTOCOL.md 4: an opaque
 * JSON object of at most 2 KiB as the server re-encodes it.
 */
static int canon_anchor(struct collab_client *c, const char *p, size_t len,
			uint8_t *out, size_t *out_len)
{
	struct collab_json_config jc;
	struct collab_json_writer w;
	struct collab_json_doc doc;
	struct collab_json_node *nodes;
	size_t nn;
	int rc;

	if (p == NULL && len)
		return COLLAB_EINVAL;
	if (len == 0)
		return COLLAB_ESYNTAX;
	if (len / ANCHOR_INPUT_FACTOR > c->cfg.max_anchor ||
	    len > COLLAB_JSON_MAX_INPUT_CAP)
		return COLLAB_ELIMIT;
	collab_json_config_init(&jc);
	jc.max_input = len;
	jc.max_depth = ANCHOR_MAX_DEPTH;
	nn = COLLAB_JSON_NODES_FOR(len);
	nodes = cl_alloc(c, nn * sizeof(*nodes));
	if (nodes == NULL)
		return COLLAB_ENOMEM;
	rc = collab_json_parse(&jc, (const uint8_t *)p, len, nodes, nn, &doc);
	if (rc == 0 && collab_json_type(&doc, collab_json_root(&doc)) !=
		       COLLAB_JSON_OBJECT)
		rc = COLLAB_EINVAL;
	if (rc == 0) {
		collab_json_writer_init(&w, out, c->cfg.max_anchor);
		w.max_depth = COLLAB_JSON_WRITER_STACK;
		(void)collab_json_write_node(&w, &doc, collab_json_root(&doc));
		rc = collab_json_writer_finish(&w, out_len);
		if (rc == COLLAB_ESPACE)
			rc = COLLAB_ELIMIT;
	}
	cl_free(c, nodes, nn * sizeof(*nodes));
	return rc;
}

/* Encodes o, queues it as a tracked op, shows it on the local copy, sends
 * it when it can. */
static int queue_op(struct collab_client *c, const struct collab_proto_client_op *o,
		    struct collab_client_ids *ids)
{
	struct collab_client_op *op;
	uint8_t *tmp, *q;
	size_t cap, len, size;
	int rc;

	if (o->text.len > (SIZE_MAX - OP_SLACK - o->anchor.len) / JSON_ESC_MAX)
		return COLLAB_ELIMIT;
	cap = OP_SLACK + JSON_ESC_MAX * o->text.len + o->anchor.len;
	tmp = cl_alloc(c, cap);
	if (tmp == NULL)
		return COLLAB_ENOMEM;
	rc = collab_proto_encode_op(o, tmp, cap, &len);
	if (rc != 0) {
		cl_free(c, tmp, cap);
		return rc;
	}
	size = sizeof(*op) + len + o->text.len + o->anchor.len;
	op = cl_alloc(c, size);
	if (op == NULL) {
		cl_free(c, tmp, cap);
		return COLLAB_ENOMEM;
	}
	memset(op, 0, sizeof(*op));
	op->size = size;
	op->tracked = true;
	op->type = o->type;
	op->action = o->action;
	op->resolved = o->resolved;
	memcpy(op->bid, o->broadcast_id.p, COLLAB_UUID_STR_LEN);
	op->bid_hash = cl_hash(op->bid, COLLAB_UUID_STR_LEN);
	if (o->chat_id.len)
		memcpy(op->chat_id, o->chat_id.p, COLLAB_UUID_STR_LEN);
	if (o->comment_id.len)
		memcpy(op->comment_id, o->comment_id.p, COLLAB_UUID_STR_LEN);
	q = (uint8_t *)(op + 1);
	memcpy(q, tmp, len);
	op->msg = q;
	op->msg_len = len;
	q += len;
	if (o->text.len)
		memcpy(q, o->text.p, o->text.len);
	op->text = (const char *)q;
	op->text_len = o->text.len;
	q += o->text.len;
	if (o->anchor.len)
		memcpy(q, o->anchor.p, o->anchor.len);
	op->anchor = (const char *)q;
	op->anchor_len = o->anchor.len;
	cl_free(c, tmp, cap);
	op_link(c, op);
	if (c->cfg.keep_room && !c->room_err) {
		rc = cl_room_overlay(c, &c->room, op);
		if (rc != 0)
			cl_room_fail(c, rc);
	}
	if (ids) {
		memset(ids, 0, sizeof(*ids));
		memcpy(ids->broadcast_id, op->bid, COLLAB_UUID_STR_LEN);
		if (o->chat_id.len)
			memcpy(ids->chat_id, op->chat_id, COLLAB_UUID_STR_LEN);
		if (o->comment_id.len)
			memcpy(ids->comment_id, op->comment_id, COLLAB_UUID_STR_LEN);
	}
	cl_ops_flush(c);
	return 0;
}

/* The common start of every operation: state, queue room, broadcastId. */
static int op_begin(struct collab_client *c, struct collab_proto_client_op *o,
		    char bid[COLLAB_UUID_STR_LEN + 1], enum collab_proto_type t,
		    enum collab_proto_action a)
{
	int rc = may_queue(c);

	if (rc != 0)
		return rc;
	memset(o, 0, sizeof(*o));
	o->type = t;
	o->action = a;
	rc = new_id(c, bid);
	o->broadcast_id.p = bid;
	o->broadcast_id.len = COLLAB_UUID_STR_LEN;
	return rc;
}

int collab_client_create_chat(struct collab_client *c,
			      const char *anchor, size_t anchor_len,
			      const char *text, size_t text_len,
			      struct collab_client_ids *ids)
{
	char bid[COLLAB_UUID_STR_LEN + 1], chat[COLLAB_UUID_STR_LEN + 1];
	char cm[COLLAB_UUID_STR_LEN + 1];
	struct collab_proto_client_op o;
	uint8_t *canon;
	size_t clen = 0;
	int rc = op_begin(c, &o, bid, COLLAB_PROTO_TYPE_NEW_TEXT_CHAT,
			  COLLAB_PROTO_ACTION_NONE);

	if (rc == 0)
		rc = text_ok(c, text, text_len);
	if (rc == 0)
		rc = new_id(c, chat);
	if (rc == 0)
		rc = new_id(c, cm);
	if (rc != 0)
		return rc;
	canon = cl_alloc(c, c->cfg.max_anchor);
	if (canon == NULL)
		return COLLAB_ENOMEM;
	rc = canon_anchor(c, anchor, anchor_len, canon, &clen);
	if (rc == 0) {
		o.chat_id = (struct collab_str){ chat, COLLAB_UUID_STR_LEN };
		o.comment_id = (struct collab_str){ cm, COLLAB_UUID_STR_LEN };
		o.text = (struct collab_str){ text, text_len };
		o.anchor = (struct collab_str){ (const char *)canon, clen };
		rc = queue_op(c, &o, ids);
	}
	cl_free(c, canon, c->cfg.max_anchor);
	return rc;
}

int collab_client_add_comment(struct collab_client *c, struct collab_str chat_id,
			      const char *text, size_t text_len,
			      struct collab_client_ids *ids)
{
	char bid[COLLAB_UUID_STR_LEN + 1], cm[COLLAB_UUID_STR_LEN + 1];
	struct collab_proto_client_op o;
	int rc = op_begin(c, &o, bid, COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT,
			  COLLAB_PROTO_ACTION_ADD_COMMENT);

	if (rc == 0 && !id_ok(chat_id))
		rc = COLLAB_EINVAL;
	if (rc == 0)
		rc = text_ok(c, text, text_len);
	if (rc == 0)
		rc = new_id(c, cm);
	if (rc != 0)
		return rc;
	o.chat_id = chat_id;
	o.comment_id = (struct collab_str){ cm, COLLAB_UUID_STR_LEN };
	o.text = (struct collab_str){ text, text_len };
	return queue_op(c, &o, ids);
}

int collab_client_edit_comment(struct collab_client *c, struct collab_str chat_id,
			       struct collab_str comment_id,
			       const char *text, size_t text_len,
			       struct collab_client_ids *ids)
{
	char bid[COLLAB_UUID_STR_LEN + 1];
	struct collab_proto_client_op o;
	int rc = op_begin(c, &o, bid, COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT,
			  COLLAB_PROTO_ACTION_EDIT_COMMENT);

	if (rc == 0 && (!id_ok(chat_id) || !id_ok(comment_id)))
		rc = COLLAB_EINVAL;
	if (rc == 0)
		rc = text_ok(c, text, text_len);
	if (rc != 0)
		return rc;
	o.chat_id = chat_id;
	o.comment_id = comment_id;
	o.text = (struct collab_str){ text, text_len };
	return queue_op(c, &o, ids);
}

int collab_client_delete_comment(struct collab_client *c,
				 struct collab_str chat_id,
				 struct collab_str comment_id,
				 struct collab_client_ids *ids)
{
	char bid[COLLAB_UUID_STR_LEN + 1];
	struct collab_proto_client_op o;
	int rc = op_begin(c, &o, bid, COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT,
			  COLLAB_PROTO_ACTION_DELETE_COMMENT);

	if (rc == 0 && (!id_ok(chat_id) || !id_ok(comment_id)))
		rc = COLLAB_EINVAL;
	if (rc != 0)
		return rc;
	o.chat_id = chat_id;
	o.comment_id = comment_id;
	return queue_op(c, &o, ids);
}

int collab_client_resolve(struct collab_client *c, struct collab_str chat_id,
			  bool resolved, struct collab_client_ids *ids)
{
	char bid[COLLAB_UUID_STR_LEN + 1];
	struct collab_proto_client_op o;
	int rc = op_begin(c, &o, bid, COLLAB_PROTO_TYPE_UPDATED_TEXT_CHAT,
			  COLLAB_PROTO_ACTION_RESOLVE);

	if (rc == 0 && !id_ok(chat_id))
		rc = COLLAB_EINVAL;
	if (rc != 0)
		return rc;
	o.chat_id = chat_id;
	o.resolved = resolved;
	return queue_op(c, &o, ids);
}

int collab_client_delete_chat(struct collab_client *c, struct collab_str chat_id,
			      struct collab_client_ids *ids)
{
	char bid[COLLAB_UUID_STR_LEN + 1];
	struct collab_proto_client_op o;
	int rc = op_begin(c, &o, bid, COLLAB_PROTO_TYPE_DELETED_TEXT_CHAT,
			  COLLAB_PROTO_ACTION_NONE);

	if (rc == 0 && !id_ok(chat_id))
		rc = COLLAB_EINVAL;
	if (rc != 0)
		return rc;
	o.chat_id = chat_id;
	return queue_op(c, &o, ids);
}

int collab_client_send_raw(struct collab_client *c, const uint8_t *p,
			   size_t len, struct collab_str broadcast_id)
{
	struct collab_client_op *op;
	size_t size;
	int rc = may_queue(c);

	if (rc != 0)
		return rc;
	if ((p == NULL && len) ||
	    (broadcast_id.len && (broadcast_id.len != COLLAB_UUID_STR_LEN ||
				  broadcast_id.p == NULL)))
		return COLLAB_EINVAL;
	if (collab_utf8_check(p, len) != 0)
		return COLLAB_EUTF8;
	if (len > SIZE_MAX - sizeof(*op))
		return COLLAB_ENOMEM;
	size = sizeof(*op) + len;
	op = cl_alloc(c, size);
	if (op == NULL)
		return COLLAB_ENOMEM;
	memset(op, 0, sizeof(*op));
	op->size = size;
	op->raw = true;
	if (broadcast_id.len) {
		op->tracked = true;
		memcpy(op->bid, broadcast_id.p, COLLAB_UUID_STR_LEN);
		op->bid_hash = cl_hash(op->bid, COLLAB_UUID_STR_LEN);
	}
	if (len)
		memcpy(op + 1, p, len);
	op->msg = (const uint8_t *)(op + 1);
	op->msg_len = len;
	op->text = "";
	op->anchor = "";
	op_link(c, op);
	cl_ops_flush(c);
	return 0;
}
